// The link check: does every library a shared object names (DT_NEEDED) exist where Lambda's
// loader will look, and does the runtime's libstdc++/libgcc_s define every version a C++ object
// needs? It works on parsed ELF facts and the layer's file list alone, so it needs neither an
// interpreter nor the target machine: arm64 layers built on x86_64 are checked the same way.
import { posix } from 'node:path'
import {
  BASE_IMAGES,
  MISSING_LIBRARY_HINTS,
  RUNTIMES,
  WHEEL_MACHINE,
  type RuntimeFacts,
  type Target
} from '../facts.js'
import { compareGlibcVersions, type ElfInfo } from './elf.js'

/** Where Lambda extracts a layer: python/ → /opt/python, lib/ → /opt/lib (on LD_LIBRARY_PATH). */
const SITE_ROOT = '/opt/python'
const LIBRARY_ROOT = '/opt/lib'

/** An ELF file of the layer's python/ folder, by its path relative to that folder. */
export interface LinkedObject {
  file: string
  elf: ElfInfo
}

export interface LayerFiles {
  /** Every file under python/, relative and "/"-separated. */
  siteFiles: Iterable<string>
  /** Every file under lib/ (/opt/lib at run time), relative and "/"-separated. */
  libraryFiles: Iterable<string>
}

export interface LinkProblem {
  file: string
  /**
   * `library`: a library the base image is known not to have, and the layer does not hold;
   * `c++-runtime`: a GLIBCXX_/CXXABI_/GCC_ need newer than the image's libstdc++/libgcc_s;
   * `unknown-library`: not in the layer and not in the fact table either way (a warning).
   */
  kind: 'library' | 'c++-runtime' | 'unknown-library'
  library: string
  /** A clause that follows the file name: "needs libpq.so.5, which …". */
  problem: string
}

type Resolution = 'layer' | 'base image' | undefined

/** Longest library name shown whole: a file name has at most 255 bytes (NAME_MAX). */
const SHOWN_NAME_MAX = 255

/**
 * A library name as messages show it: its bytes come from the wheel, so control characters
 * become "?" and an absurdly long one is cut.
 */
export function shownName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const printable = name.replace(/[\u0000-\u001f\u007f]/g, '?')
  return printable.length > SHOWN_NAME_MAX ? `${printable.slice(0, SHOWN_NAME_MAX)}…` : printable
}

/** The link problems of every object built for the target, in the order given. */
export function checkLinks(
  objects: readonly LinkedObject[],
  layer: LayerFiles,
  target: Target
): LinkProblem[] {
  const paths = new Set<string>()
  for (const file of layer.siteFiles) paths.add(posix.join(SITE_ROOT, file))
  for (const file of layer.libraryFiles) paths.add(posix.join(LIBRARY_ROOT, file))
  // Once one object has loaded a library, a later one needing that SONAME gets the loaded copy;
  // auditwheel's <dist>.libs/ files are found that way too when a sibling's RUNPATH led there.
  const layerNames = new Set<string>()
  for (const { file, elf } of objects) {
    layerNames.add(posix.basename(file))
    if (elf.soname) layerNames.add(elf.soname)
  }
  const machine = WHEEL_MACHINE[target.architecture]
  return objects
    .filter(({ elf }) => !elf.unreadable && elf.machine === machine && elf.bits === 64)
    .flatMap(object => {
      const resolve = (library: string) =>
        resolveLibrary(library, object, paths, layerNames, target)
      return [...missingLibraries(object, resolve, target), ...cxxRuntime(object, resolve, target)]
    })
}

/**
 * Where the loader finds `library` for `object`, in its order on Lambda: DT_RPATH (only when
 * there is no DT_RUNPATH), LD_LIBRARY_PATH (the image's /lib64 and /usr/lib64, then /opt/lib),
 * DT_RUNPATH; then a copy another object of the layer already loaded.
 */
function resolveLibrary(
  library: string,
  object: LinkedObject,
  paths: ReadonlySet<string>,
  layerNames: ReadonlySet<string>,
  target: Target
): Resolution {
  const image = BASE_IMAGES[target.runtime.os]
  const origin = posix.dirname(posix.join(SITE_ROOT, object.file))
  const foundIn = (dirs: readonly string[]) =>
    dirs.some(dir => {
      const expanded = expandOrigin(dir, origin)
      // a relative entry is taken from the working directory, unknown here: never the layer
      return expanded.startsWith('/') && paths.has(posix.join(expanded, library))
    })
  // a name with a slash is a path, used as it is: absolute, or relative to the working directory
  if (library.includes('/')) {
    return library.startsWith('/') && paths.has(posix.normalize(library)) ? 'layer' : undefined
  }
  const { rpath, runpath } = object.elf
  if (runpath.length === 0 && foundIn(rpath)) return 'layer'
  if (image.libraries.includes(library)) return 'base image'
  if (paths.has(posix.join(LIBRARY_ROOT, library))) return 'layer'
  if (foundIn(runpath)) return 'layer'
  if (layerNames.has(library)) return 'layer'
  return undefined
}

/** `$ORIGIN` and `${ORIGIN}` are the object's own folder at run time. */
function expandOrigin(dir: string, origin: string): string {
  return posix.normalize(dir.replace(/\$\{ORIGIN\}|\$ORIGIN(?![A-Za-z0-9_])/g, origin))
}

function missingLibraries(
  object: LinkedObject,
  resolve: (library: string) => Resolution,
  { runtime }: Target
): LinkProblem[] {
  const image = BASE_IMAGES[runtime.os]
  const on = `${runtime.name} (${runtime.os})`
  return object.elf.needed
    .filter(library => resolve(library) === undefined)
    .map(needed => {
      const library = shownName(needed)
      if (!image.absent.includes(needed)) {
        return {
          file: object.file,
          kind: 'unknown-library' as const,
          library,
          problem: `needs ${library}, which the layer does not hold and ${on} is not known to provide`
        }
      }
      const hint = MISSING_LIBRARY_HINTS[needed]
      return {
        file: object.file,
        kind: 'library' as const,
        library,
        problem: `needs ${library}, which is neither in the layer nor on ${on}${hint ? `; ${hint}` : ''}`
      }
    })
}

/** GLIBCXX_3.4.30 → ['GLIBCXX', [3, 4, 30]]; CXXABI_TM_1 and other unnumbered names: undefined. */
function cxxVersion(name: string): ['GLIBCXX' | 'CXXABI' | 'GCC', number[]] | undefined {
  const match = /^(GLIBCXX|CXXABI|GCC)_(\d+(?:\.\d+)*)$/.exec(name)
  return match
    ? [match[1] as 'GLIBCXX' | 'CXXABI' | 'GCC', match[2].split('.').map(Number)]
    : undefined
}

/**
 * Versions needed from the image's own libstdc++.so.6 or libgcc_s.so.1 (a copy in the layer
 * is never reached first: LD_LIBRARY_PATH lists /lib64 before /opt/lib and RUNPATH), the
 * newest of each kind above the image's, as one problem per object.
 */
function cxxRuntime(
  object: LinkedObject,
  resolve: (library: string) => Resolution,
  { runtime }: Target
): LinkProblem[] {
  const image = BASE_IMAGES[runtime.os]
  const worst = new Map<string, { library: string; name: string; version: number[] }>()
  for (const [library, names] of Object.entries(object.elf.versionNeeds)) {
    if (library !== 'libstdc++.so.6' && library !== 'libgcc_s.so.1') continue
    if (resolve(library) !== 'base image') continue
    for (const name of names) {
      const parsed = cxxVersion(name)
      if (!parsed) continue
      const [kind, version] = parsed
      if (compareGlibcVersions(version, image.symbolCeilings[kind]) <= 0) continue
      const known = worst.get(kind)
      if (!known || compareGlibcVersions(version, known.version) > 0) {
        worst.set(kind, { library, name, version })
      }
    }
  }
  if (worst.size === 0) return []
  const needs = [...worst.values()].map(n => `${n.name} (${n.library})`).join(', ')
  const has = (['GLIBCXX', 'CXXABI', 'GCC'] as const)
    .filter(kind => worst.has(kind))
    .map(kind => `${kind}_${image.symbolCeilings[kind].join('.')}`)
    .join(', ')
  const library = [...new Set([...worst.values()].map(n => n.library))].join(', ')
  return [
    {
      file: object.file,
      kind: 'c++-runtime',
      library,
      problem: `needs ${needs}; ${runtime.name} (${runtime.os}) has ${image.gcc}'s, up to ${has}: ${cxxAdvice(runtime)}`
    }
  ]
}

/** manylinux build images link newer C++ symbols statically, so a wheel built to the policy fits. */
function cxxAdvice(runtime: RuntimeFacts): string {
  const advice =
    'it was built with a newer compiler than manylinux wheels use; use a manylinux wheel'
  const newer = RUNTIMES.filter(
    r => r.os !== runtime.os && r.glibcCeiling[1] > runtime.glibcCeiling[1]
  ).at(-1)
  return newer ? `${advice}, or ${newer.name}+ (${newer.os}, ${BASE_IMAGES[newer.os].gcc})` : advice
}
