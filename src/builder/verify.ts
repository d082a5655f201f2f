// Checks every file of the layer against what the Lambda runtime can load, so a
// wrong-architecture wheel, a too-new glibc or libstdc++, or a library the runtime lacks fails
// the build instead of the first invocation (`invalid ELF header`, `GLIBC_2.28 not found`,
// `libpq.so.5: cannot open shared object file`). Files are read here; links.ts judges.
import { mapLimit } from '../concurrency.js'
import { open } from 'node:fs/promises'
import { posix } from 'node:path'
import { ARCHITECTURES, WHEEL_MACHINE, type Target } from '../facts.js'
import { maxGlibc, compareGlibcVersions, parseElf, readElfFile, type ElfInfo } from './elf.js'
import { checkLinks, type LinkProblem } from './links.js'
import { IN_MEMORY_LIMIT } from './assemble.js'
import type { ExtraFile } from './extra-files.js'
import type { LayerPackage } from './site.js'

/** A problem found by verification, tied to the package and file that carries it. */
export interface Finding {
  package: string
  version: string
  /** Relative to the site directory. */
  file: string
  kind:
    'architecture' | 'glibc' | 'python-abi' | 'not-elf' | 'unreadable' | 'library' | 'c++-runtime'
  message: string
  /** The newest glibc the file needs, for a `glibc` finding: the worst of a group is shown. */
  glibcNeeded?: [number, number]
}

/** The findings of one package and kind, with the file that needs the most as the example. */
export interface FindingGroup {
  package: string
  kind: Finding['kind']
  example: Finding
  files: number
}

const OPEN_FILES = 16

const UNKNOWN_PACKAGE: Pick<LayerPackage, 'name' | 'version'> = { name: '(unknown)', version: '' }

/** libfoo.so, libfoo.so.1.2 */
const SHARED_OBJECT_NAME = /\.so(\.\d+)*$/
/** _ext.cpython-312-x86_64-linux-gnu.so → 3, 12, '', 'x86_64-linux-gnu' */
const CPYTHON_EXTENSION_NAME = /\.cpython-(\d)(\d+)([a-z]*)-([^./]+)\.so$/

export interface VerifyOptions {
  /**
   * Files the layer ships under lib/ (the files input), relative to lib/: /opt/lib at run time,
   * on Lambda's LD_LIBRARY_PATH, so a library placed there counts as in the layer.
   */
  libraryFiles?: string[]
  /**
   * Told, once per package (named, so the warning can point at its requirement), of libraries
   * neither in the layer nor in the base-image fact table: they may come from the function or
   * another layer, so they never fail the build.
   */
  onWarning?: (message: string, packageName?: string) => void
}

/** Warnings about unknown libraries name this many packages, then count the rest. */
const WARNED_PACKAGES = 5

/** A file of the layer whose bytes are read in memory (inflated from its wheel). */
export interface LayerFileBytes {
  /** Relative to the site directory. */
  path: string
  content: () => Promise<Buffer>
  /** Its size; above `inMemoryLimit`, a file with `onDisk` is read from disk instead. */
  size?: number
  /** Puts the file on disk a chunk at a time (CRC checked); `release` once it is read. */
  onDisk?: () => Promise<{ path: string; release: () => Promise<void> }>
}

export interface VerifyFilesOptions extends VerifyOptions {
  /** Files above this many bytes are read from disk, only their headers; default IN_MEMORY_LIMIT. */
  inMemoryLimit?: number
}

/** Bytes of files verified at once: each is inflated whole, so few at a time. */
const INFLATED_AT_ONCE = 2

/**
 * Every file of a layer assembled from wheels, held in memory: each file is inflated (its CRC
 * checked) and its ELF headers parsed from the bytes; nothing on disk.
 */
export async function verifyLayerFiles(
  files: LayerFileBytes[],
  packages: LayerPackage[],
  target: Target,
  options: VerifyFilesOptions = {}
): Promise<Finding[]> {
  const owners = new Map<string, LayerPackage>()
  for (const pkg of packages) for (const file of pkg.files) owners.set(posix.normalize(file), pkg)
  const ownerOf = (file: string) => owners.get(file) ?? UNKNOWN_PACKAGE
  const limit = options.inMemoryLimit ?? IN_MEMORY_LIMIT
  const perFile = await mapLimit(files, INFLATED_AT_ONCE, async layerFile => {
    const file = layerFile.path
    const finding = findingFor(ownerOf(file), file)
    if (layerFile.onDisk && (layerFile.size ?? 0) > limit) {
      return { file, ...(await checkFileOnDisk(file, layerFile.onDisk, target, finding)) }
    }
    const bytes = await layerFile.content()
    const elf = await parseElf(bytes)
    const sniff = async () => describeFormat(bytes.subarray(0, 4))
    return { file, elf, findings: await checkFile(file, sniff, elf, target, finding) }
  })
  const paths = files.map(file => file.path)
  return withLinkFindings(perFile, paths, ownerOf, target, options)
}

/** A file too big to hold, checked from disk: only its ELF headers and tables are read. */
async function checkFileOnDisk(
  file: string,
  onDisk: NonNullable<LayerFileBytes['onDisk']>,
  target: Target,
  finding: MakeFinding
): Promise<{ elf: ElfInfo | undefined; findings: Finding[] }> {
  const written = await onDisk()
  try {
    const elf = await readElfFile(written.path)
    const sniff = () => sniffFormat(written.path)
    return { elf, findings: await checkFile(file, sniff, elf, target, finding) }
  } finally {
    await written.release()
  }
}

/**
 * Each file's own findings, then the link check over every shared object at once (a library
 * may be another file of the layer); unknown libraries are warnings, told through options.
 */
function withLinkFindings(
  perFile: Array<{ file: string; elf: ElfInfo | undefined; findings: Finding[] }>,
  siteFiles: string[],
  ownerOf: (file: string) => Pick<LayerPackage, 'name' | 'version'>,
  target: Target,
  options: VerifyOptions
): Finding[] {
  const objects = perFile.flatMap(({ file, elf }) => (elf ? [{ file, elf }] : []))
  const links = checkLinks(objects, { siteFiles, libraryFiles: options.libraryFiles ?? [] }, target)
  const unknown = links.filter(problem => problem.kind === 'unknown-library')
  for (const warning of unknownLibraryWarnings(unknown, ownerOf, target)) {
    options.onWarning?.(warning.message, warning.packageName)
  }
  const linkFindings = links.flatMap(({ file, kind, problem }) =>
    kind === 'unknown-library' ? [] : [findingFor(ownerOf(file), file)(kind, problem)]
  )
  return [...perFile.flatMap(f => f.findings), ...linkFindings].sort(byPackageThenFile)
}

/**
 * One warning per package: "greeter 1.0: libfoo.so.1 (greeter/_a.so and 2 more files) is not
 * in the layer, and python3.12 (Amazon Linux 2023) is not known to provide it: …".
 */
function unknownLibraryWarnings(
  problems: LinkProblem[],
  ownerOf: (file: string) => Pick<LayerPackage, 'name' | 'version'>,
  { runtime }: Target
): { message: string; packageName?: string }[] {
  const byPackage = new Map<string, Map<string, string[]>>()
  const owners = new Map<string, Pick<LayerPackage, 'name' | 'version'>>()
  for (const { file, library } of problems) {
    const owner = ownerOf(file)
    const key = label(owner)
    owners.set(key, owner)
    const libraries = byPackage.get(key) ?? new Map<string, string[]>()
    libraries.set(library, [...(libraries.get(library) ?? []), file])
    byPackage.set(key, libraries)
  }
  const warnings = [...byPackage].map(([key, libraries]) => {
    const list = [...libraries].map(([library, files]) => {
      const rest = files.length - 1
      return `${library} (${files[0]}${rest ? ` and ${rest} more ${rest === 1 ? 'file' : 'files'}` : ''})`
    })
    const one = list.length === 1
    const message =
      `${key}: ${list.join(', ')} ${one ? 'is' : 'are'} not in the layer, and ${runtime.name} (${runtime.os}) ` +
      `is not known to provide ${one ? 'it' : 'them'}: the import fails unless the function or another of its layers brings ${one ? 'it' : 'them'}`
    return { message, packageName: owners.get(key)?.name }
  })
  if (warnings.length <= WARNED_PACKAGES) return warnings
  const rest = warnings.length - (WARNED_PACKAGES - 1)
  const others = [...byPackage.keys()].slice(WARNED_PACKAGES - 1).join(', ')
  return [
    ...warnings.slice(0, WARNED_PACKAGES - 1),
    { message: `${rest} more packages need libraries that are not in the layer (${others})` }
  ]
}

/** The `files` input's files, checked like a package's: machine, glibc, CPython ABI. */
export async function verifyExtraFiles(files: ExtraFile[], target: Target): Promise<Finding[]> {
  const perFile = await mapLimit(files, OPEN_FILES, async file => {
    // "files: lib/libpq.so.5 …": the input that added it stands in for a package
    const finding = findingFor({ name: 'files', version: '' }, file.layerPath)
    const sniff = () => sniffFormat(file.source)
    return checkFile(file.layerPath, sniff, await readElfFile(file.source), target, finding)
  })
  return perFile.flat().sort(byPackageThenFile)
}

/** Findings of one package and kind together, in the order verification gives them. */
export function groupFindings(findings: Finding[]): FindingGroup[] {
  const groups = new Map<string, FindingGroup>()
  for (const f of findings) {
    const key = `${f.package}\0${f.version}\0${f.kind}`
    const group = groups.get(key)
    if (!group) groups.set(key, { package: f.package, kind: f.kind, example: f, files: 1 })
    else {
      group.files++
      if (needsMore(f, group.example)) group.example = f
    }
  }
  return [...groups.values()]
}

/**
 * One line per package and kind of problem, so a layer with hundreds of wrong-architecture
 * files still reads as a short list.
 */
export function summarizeFindings(findings: Finding[]): string[] {
  return groupFindings(findings).map(describeFindingGroup)
}

/** "numpy 2.0.0: numpy/_core.so needs GLIBC_2.28; … (and 29 more files)" */
export function describeFindingGroup(group: FindingGroup): string {
  const rest = group.files - 1
  return rest === 0
    ? group.example.message
    : `${group.example.message} (and ${rest} more ${rest === 1 ? 'file' : 'files'})`
}

function needsMore(candidate: Finding, example: Finding): boolean {
  return compareGlibcVersions(candidate.glibcNeeded ?? [], example.glibcNeeded ?? []) > 0
}

/**
 * The same checks on one file's bytes, for a layer zip built elsewhere: its entries are
 * verified in memory, never unpacked.
 */
export async function verifyFileBytes(
  file: string,
  bytes: Buffer,
  target: Target,
  owner: Pick<LayerPackage, 'name' | 'version'> = UNKNOWN_PACKAGE
): Promise<Finding[]> {
  const finding = findingFor(owner, file)
  const sniff = async () => describeFormat(bytes.subarray(0, 4))
  return checkFile(file, sniff, await parseElf(bytes), target, finding)
}

type MakeFinding = (
  kind: Finding['kind'],
  problem: string,
  glibcNeeded?: [number, number]
) => Finding

function findingFor(owner: Pick<LayerPackage, 'name' | 'version'>, file: string): MakeFinding {
  return (kind, problem, glibcNeeded) => ({
    package: owner.name,
    version: owner.version,
    file,
    kind,
    message: `${label(owner)}: ${file} ${problem}`,
    ...(glibcNeeded && { glibcNeeded })
  })
}

async function checkFile(
  file: string,
  sniff: () => Promise<string>,
  elf: ElfInfo | undefined,
  target: Target,
  finding: MakeFinding
): Promise<Finding[]> {
  const { runtime, architecture } = target
  const wanted = WHEEL_MACHINE[architecture]
  const findings: Finding[] = []
  const targets = `the layer targets ${architecture} (${machineHint()})`

  if (elf?.unreadable) {
    // what was read is incomplete, so no other byte-level check can pass it
    findings.push(finding('unreadable', `cannot be read whole: ${elf.unreadable}`))
  } else if (elf) {
    // Both Lambda machines are 64-bit; an x86_64 ELF32 file (the x32 ABI) cannot load either.
    if (elf.machine !== wanted || elf.bits !== 64) {
      const found = elf.machine === wanted ? `${elf.machine} (32-bit)` : elf.machine
      findings.push(finding('architecture', `is built for ${found}; ${targets}`))
    }
    const needed = maxGlibc(elf.glibcNeeds)
    if (needed && compareGlibcVersions(needed, runtime.glibcCeiling) > 0) {
      const [major, minor] = runtime.glibcCeiling
      findings.push(
        finding(
          'glibc',
          `needs GLIBC_${needed.join('.')}; ${runtime.name} (${runtime.os}) has ${major}.${minor}`,
          needed
        )
      )
    }
  } else if (SHARED_OBJECT_NAME.test(file)) {
    // Lambda's loader says "invalid ELF header"; say what the file is instead.
    findings.push(
      finding('not-elf', `is not an ELF shared object (${await sniff()}); Lambda runs Linux`)
    )
  }

  const extension = CPYTHON_EXTENSION_NAME.exec(file)
  if (extension) {
    const [, major, minor, flags, platform] = extension
    const built = `${major}.${minor}${flags}`
    if (built !== runtime.pythonVersion) {
      findings.push(
        finding(
          'python-abi',
          `is built for CPython ${built}; ${runtime.name} runs CPython ${runtime.pythonVersion}`
        )
      )
    }
    // CPython imports only its own suffix (….cpython-312-x86_64-linux-gnu.so), so a name for
    // another platform (a musllinux build, say) is "No module named …" even if the ELF is fine.
    if (
      elf &&
      !elf.unreadable &&
      platform !== `${wanted}-linux-gnu` &&
      findings.every(f => f.kind !== 'architecture')
    ) {
      findings.push(
        finding('architecture', `is built for ${platform.replace(/-linux-gnu$/, '')}; ${targets}`)
      )
    }
  }
  return findings
}

/** "Lambda arm64 needs aarch64, x86_64 needs x86_64": the naming trap behind most mismatches. */
function machineHint(): string {
  const pairs = [...ARCHITECTURES].sort().map(a => `${a} needs ${WHEEL_MACHINE[a]}`)
  return `Lambda ${pairs.join(', ')}`
}

function label(pkg: Pick<LayerPackage, 'name' | 'version'>): string {
  return pkg.version ? `${pkg.name} ${pkg.version}` : pkg.name
}

/** What a non-ELF "shared object" most likely is, from its first bytes. */
async function sniffFormat(path: string): Promise<string> {
  const file = await open(path, 'r')
  try {
    const head = Buffer.alloc(4)
    const { bytesRead } = await file.read(head, 0, 4, 0)
    return describeFormat(head.subarray(0, bytesRead))
  } finally {
    await file.close()
  }
}

function describeFormat(head: Buffer): string {
  if (head.length < 4) return 'too short to be a binary'
  const magic = head.readUInt32BE(0)
  if ([0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(magic)) {
    return 'a macOS Mach-O binary'
  }
  if (head.toString('latin1', 0, 2) === 'MZ') return 'a Windows PE binary'
  return 'unrecognised format'
}

function byPackageThenFile(a: Finding, b: Finding): number {
  return (
    compareStrings(a.package, b.package) ||
    compareStrings(a.file, b.file) ||
    compareStrings(a.kind, b.kind)
  )
}

/** Code-unit order, not locale order, so the output is the same on every machine. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
