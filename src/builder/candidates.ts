// What pip saw on the index for each project, as the launcher recorded it: every file it
// evaluated and the version specifiers it searched with. From that alone (no second resolution,
// no extra network call) the action tells why no version fits the Lambda target, and which
// packages the runtime's glibc held back to an older version than the newest on the index.
import { readFile } from 'node:fs/promises'
import {
  WHEEL_MACHINE,
  cpythonTag,
  usableRuntimes,
  type RuntimeFacts,
  type Target
} from '../facts.js'
import {
  comparePep440Versions,
  parseVersion,
  satisfiesSpecifiers,
  type Version
} from '../sources/markers.js'
import { canonicalName } from '../sources/pep508.js'

/**
 * Added to pip's launcher after the index-page recorder (it appends to `index_pages`): wraps
 * LinkEvaluator.evaluate_link, which sees every link of a project page, fitting or not, and
 * PackageFinder.find_best_candidate, which the resolver calls with the merged specifier of a
 * project. Both exist unchanged from pip 22.2 on; a pip without them records nothing.
 */
export const CANDIDATES_RECORDER = `
index_pages["files"] = {}
index_pages["specifiers"] = {}
try:
    from pip._internal.index import package_finder
    evaluate_link = package_finder.LinkEvaluator.evaluate_link
    def recording_evaluate_link(self, link):
        try:
            files = index_pages["files"].setdefault(str(self.project_name), {})
            if link.filename not in files:
                files[link.filename] = [bool(link.is_yanked), link.requires_python or ""]
        except Exception:
            pass
        return evaluate_link(self, link)
    package_finder.LinkEvaluator.evaluate_link = recording_evaluate_link
    find_best_candidate = package_finder.PackageFinder.find_best_candidate
    def recording_find_best_candidate(self, project_name, specifier=None, hashes=None):
        index_pages["specifiers"][str(project_name)] = str(specifier or "")
        return find_best_candidate(self, project_name, specifier, hashes)
    package_finder.PackageFinder.find_best_candidate = recording_find_best_candidate
except Exception as error:
    print("warning: the files pip sees are not recorded:", error, file=sys.stderr)
`

/** One file of a project page. */
export interface IndexFile {
  filename: string
  yanked: boolean
  /** `data-requires-python`, "" when the index gives none. */
  requiresPython: string
}

/** Files and specifiers by canonical project name. */
export interface SeenOnIndex {
  files: Map<string, IndexFile[]>
  specifiers: Map<string, string>
}

interface RecordedJson {
  files?: Record<string, Record<string, [boolean, string]>>
  specifiers?: Record<string, string>
}

/** What the launcher recorded; empty when it recorded nothing (another pip, a crash). */
export async function readSeenOnIndex(file: string): Promise<SeenOnIndex> {
  const seen: SeenOnIndex = { files: new Map(), specifiers: new Map() }
  let recorded: RecordedJson
  try {
    recorded = JSON.parse(await readFile(file, 'utf8')) as RecordedJson
  } catch {
    return seen
  }
  for (const [project, files] of Object.entries(recorded.files ?? {})) {
    const name = canonicalName(project)
    const list = seen.files.get(name) ?? []
    for (const [filename, [yanked, requiresPython]] of Object.entries(files)) {
      list.push({ filename, yanked, requiresPython })
    }
    seen.files.set(name, list)
  }
  for (const [project, specifier] of Object.entries(recorded.specifiers ?? {})) {
    seen.specifiers.set(canonicalName(project), specifier)
  }
  return seen
}

/** How one file (or the best file of a version) stands against a target. */
export type Fit =
  | { kind: 'fits' }
  /** Right interpreter and machine; needs a newer glibc (the lowest it accepts). */
  | { kind: 'glibc'; glibc: [number, number]; tag: string }
  /** Linux wheels for the machine, but for other interpreters. */
  | { kind: 'interpreter'; pythons: string[] }
  /** Linux wheels for the interpreter, but for another machine. */
  | { kind: 'architecture'; machines: string[] }
  /** No manylinux wheel at all: other systems, musllinux. */
  | { kind: 'platform'; platforms: string[] }
  | { kind: 'requiresPython'; requiresPython: string }
  | { kind: 'sdist' }

/** The version in a wheel or sdist file name; undefined for anything else. */
export function versionOfFile(filename: string): string | undefined {
  if (filename.endsWith('.whl')) return filename.split('-')[1]
  const base = filename.replace(/\.(tar\.gz|zip|tar\.bz2|tgz)$/, '')
  if (base === filename) return undefined
  return base.slice(base.lastIndexOf('-') + 1)
}

/** Every tag a wheel file name carries (compressed tag sets expanded). */
function wheelTags(filename: string): Array<[string, string, string]> {
  const parts = filename.slice(0, -'.whl'.length).split('-')
  if (parts.length !== 5 && parts.length !== 6) return []
  const [pythons, abis, platforms] = parts.slice(-3).map(part => part.split('.'))
  return pythons.flatMap(py =>
    abis.flatMap(abi => platforms.map(platform => [py, abi, platform] as [string, string, string]))
  )
}

/** Whether a python and abi tag load in the runtime's CPython, as pip's compatible tags say. */
function interpreterFits(python: string, abi: string, runtime: RuntimeFacts): boolean {
  const minor = Number(runtime.pythonVersion.split('.')[1])
  const cpython = /^cp3(\d+)$/.exec(python)
  if (cpython) {
    const wheelMinor = Number(cpython[1])
    if (abi === 'abi3') return wheelMinor <= minor
    return wheelMinor === minor && (abi === 'none' || abi === cpythonTag(runtime))
  }
  const generic = /^py3(\d*)$/.exec(python)
  return Boolean(generic) && abi === 'none' && (!generic![1] || Number(generic![1]) <= minor)
}

/** A manylinux platform tag as the glibc it needs and its machine; undefined for any other. */
function manylinux(platform: string): { glibc: [number, number]; machine: string } | undefined {
  const legacy: Record<string, [number, number]> = {
    manylinux1: [2, 5],
    manylinux2010: [2, 12],
    manylinux2014: [2, 17]
  }
  const pep600 = /^manylinux_(\d+)_(\d+)_(.+)$/.exec(platform)
  if (pep600) return { glibc: [Number(pep600[1]), Number(pep600[2])], machine: pep600[3] }
  const old = /^(manylinux1|manylinux2010|manylinux2014)_(.+)$/.exec(platform)
  return old ? { glibc: legacy[old[1]], machine: old[2] } : undefined
}

function glibcAbove(needed: [number, number], ceiling: [number, number]): boolean {
  return needed[0] > ceiling[0] || (needed[0] === ceiling[0] && needed[1] > ceiling[1])
}

/** How the files of one version stand against the target: the nearest miss when none fits. */
export function fitOfVersion(files: IndexFile[], target: Target): Fit {
  const { runtime } = target
  const machine = WHEEL_MACHINE[target.architecture]
  const wheels = files.filter(f => f.filename.endsWith('.whl'))
  const needsPython = files.find(
    f => f.requiresPython && !pythonAllowed(runtime.pythonVersion, f.requiresPython)
  )
  if (needsPython && files.every(f => f.requiresPython === needsPython.requiresPython)) {
    return { kind: 'requiresPython', requiresPython: needsPython.requiresPython }
  }
  let glibc: { glibc: [number, number]; tag: string } | undefined
  const pythons = new Set<string>()
  const machines = new Set<string>()
  const platforms = new Set<string>()
  for (const [python, abi, platform] of wheels.flatMap(w => wheelTags(w.filename))) {
    const forInterpreter = interpreterFits(python, abi, runtime)
    if (platform === 'any') {
      if (forInterpreter) return { kind: 'fits' }
      pythons.add(python)
      continue
    }
    const linux = manylinux(platform)
    if (!linux) {
      platforms.add(platform)
      continue
    }
    if (linux.machine !== machine) {
      if (forInterpreter) machines.add(linux.machine)
      continue
    }
    if (!forInterpreter) {
      pythons.add(python)
      continue
    }
    if (!glibcAbove(linux.glibc, runtime.glibcCeiling)) return { kind: 'fits' }
    if (!glibc || glibcAbove(glibc.glibc, linux.glibc)) {
      glibc = { glibc: linux.glibc, tag: `manylinux_${linux.glibc[0]}_${linux.glibc[1]}` }
    }
  }
  if (glibc) return { kind: 'glibc', ...glibc }
  if (pythons.size > 0) return { kind: 'interpreter', pythons: [...pythons].sort() }
  if (machines.size > 0) return { kind: 'architecture', machines: [...machines].sort() }
  if (platforms.size > 0) return { kind: 'platform', platforms: [...platforms].sort() }
  return { kind: 'sdist' }
}

/** pip skips a file whose requires-python it cannot read, so it is taken as no obstacle here. */
function pythonAllowed(pythonVersion: string, requiresPython: string): boolean {
  try {
    return satisfiesSpecifiers(pythonVersion, requiresPython)
  } catch {
    return true
  }
}

/** A project's files by version, newest first; yanked files and unparseable names left out. */
function releases(files: IndexFile[]): Array<{ version: string; files: IndexFile[] }> {
  const byVersion = new Map<string, { parsed: Version; files: IndexFile[] }>()
  for (const file of files) {
    if (file.yanked) continue
    const version = versionOfFile(file.filename)
    const parsed = version && parseVersion(version)
    if (!version || !parsed) continue
    const entry = byVersion.get(version) ?? { parsed, files: [] }
    entry.files.push(file)
    byVersion.set(version, entry)
  }
  return [...byVersion]
    .sort(([, a], [, b]) => comparePep440Versions(b.parsed, a.parsed))
    .map(([version, { files }]) => ({ version, files }))
}

function isPrerelease(version: string): boolean {
  const parsed = parseVersion(version)
  return parsed?.pre !== undefined || parsed?.dev !== undefined
}

/** Versions a specifier admits, newest first; pre-releases only when no final one is admitted. */
function wanted(
  files: IndexFile[],
  specifier: string
): Array<{ version: string; files: IndexFile[] }> {
  const admitted = releases(files).filter(r => {
    try {
      return satisfiesSpecifiers(r.version, specifier)
    } catch {
      return true
    }
  })
  const finals = admitted.filter(r => !isPrerelease(r.version))
  return finals.length > 0 ? finals : admitted
}

/** The runtimes on the target's architecture that would take these files, oldest first. */
function runtimesTaking(files: IndexFile[], target: Target): RuntimeFacts[] {
  return usableRuntimes(new Date())
    .filter(runtime => fitOfVersion(files, { ...target, runtime }).kind === 'fits')
    .reverse()
}

/** "python3.12+" when every newer runtime takes it too, else "python3.12 or python3.13". */
export function runtimesPhrase(runtimes: RuntimeFacts[]): string {
  if (runtimes.length === 0) return ''
  const oldestFirst = usableRuntimes(new Date()).reverse()
  const fromOldest = oldestFirst.slice(oldestFirst.indexOf(runtimes[0]))
  const everyNewer = fromOldest.every(r => runtimes.includes(r))
  if (everyNewer && runtimes.length > 1) return `${runtimes[0].name}+`
  return runtimes.map(r => r.name).join(' or ')
}

function runtimeWithGlibc(runtime: RuntimeFacts): string {
  const [major, minor] = runtime.glibcCeiling
  return `${runtime.name} (${runtime.os}) has glibc ${major}.${minor}`
}

/**
 * Why no version of a project fits the target, from the files pip saw: the newest version the
 * specifier admits, what its wheels need instead, the newest version that fits, and the
 * runtimes that would take the asked one. Undefined when pip saw nothing telling (no files,
 * only an sdist, or a version that fits and failed for another reason).
 */
export function unavailableReason(
  seen: SeenOnIndex,
  name: string,
  requirementSpecifier: string,
  target: Target,
  requiredBy?: string
): string | undefined {
  try {
    return reasonFromFiles(seen, name, requirementSpecifier, target, requiredBy)
  } catch {
    // an index listing nothing here expects (odd names, odd versions) keeps the usual message
    return undefined
  }
}

function reasonFromFiles(
  seen: SeenOnIndex,
  name: string,
  requirementSpecifier: string,
  target: Target,
  requiredBy?: string
): string | undefined {
  const project = canonicalName(name)
  const files = seen.files.get(project) ?? []
  const specifier = seen.specifiers.get(project) ?? requirementSpecifier
  const asked = wanted(files, specifier)[0]
  if (!asked) return undefined
  const fit = fitOfVersion(asked.files, target)
  const what = `${project} ${asked.version}${requiredBy ? ` (required by ${requiredBy})` : ''}`
  const { runtime, architecture } = target
  const because = whyNot(fit, target)
  if (!because) return undefined
  const fitting = releases(files).find(
    r => !isPrerelease(r.version) && fitOfVersion(r.files, target).kind === 'fits'
  )
  const fixes: string[] = []
  if (fitting) fixes.push(`pin ${project}<=${fitting.version} (the newest that fits)`)
  const others = runtimesTaking(asked.files, target)
  if (others.length > 0) fixes.push(`use ${runtimesPhrase(others)}`)
  else if (fit.kind === 'architecture') {
    const other = architecture === 'x86_64' ? 'arm64' : 'x86_64'
    fixes.push(`build for architecture ${other}`)
  }
  if (fixes.length === 0) fixes.push(`no version on the index fits ${runtime.name} ${architecture}`)
  return `${what} ${because}: ${fixes.join(', or ')}`
}

/** The part of the reason that says what the files need instead of the target. */
function whyNot(fit: Fit, target: Target): string | undefined {
  const { runtime, architecture } = target
  const machine = WHEEL_MACHINE[architecture]
  switch (fit.kind) {
    case 'glibc':
      return `has only ${fit.tag} wheels for ${cpythonTag(runtime)} ${machine}; ${runtimeWithGlibc(runtime)}`
    case 'interpreter':
      return `has Linux wheels for ${machine} only for ${fit.pythons.join(', ')}; ${runtime.name} needs ${cpythonTag(runtime)} or abi3`
    case 'architecture':
      return `has Linux wheels for ${cpythonTag(runtime)} only for ${fit.machines.join(', ')}; ${architecture} needs ${machine}`
    case 'platform':
      return `has no manylinux wheel (only ${fit.platforms.slice(0, 3).join(', ')}${fit.platforms.length > 3 ? ', …' : ''}) and no sdist of pure Python`
    case 'requiresPython':
      return `requires Python ${fit.requiresPython}; ${runtime.name} is Python ${runtime.pythonVersion}`
    default:
      return undefined
  }
}

/** A package the runtime's glibc held back: pip took an older version than the newest. */
export interface HeldBack {
  name: string
  installed: string
  newest: string
  /** The manylinux tag the newest version's wheels need, `manylinux_2_28`. */
  needs: string
  /** Runtimes on the same architecture that would take the newest, "python3.12+"; "" if none. */
  takenBy: string
}

/**
 * Installed packages whose newest version on the index (that the specifiers pip searched with
 * admit) has wheels for the target's interpreter and machine, but only for a newer glibc.
 */
export function heldBackByGlibc(
  seen: SeenOnIndex,
  installed: Array<{ name: string; version: string }>,
  target: Target
): HeldBack[] {
  try {
    return findHeldBack(seen, installed, target)
  } catch {
    // a report, never a reason to fail a build that worked
    return []
  }
}

function findHeldBack(
  seen: SeenOnIndex,
  installed: Array<{ name: string; version: string }>,
  target: Target
): HeldBack[] {
  const held: HeldBack[] = []
  for (const dist of installed) {
    const project = canonicalName(dist.name)
    const files = seen.files.get(project)
    const current = parseVersion(dist.version)
    if (!files || !current) continue
    const newest = wanted(files, seen.specifiers.get(project) ?? '').find(
      r => !isPrerelease(r.version) || isPrerelease(dist.version)
    )
    if (!newest || comparePep440Versions(parseVersion(newest.version)!, current) <= 0) continue
    const fit = fitOfVersion(newest.files, target)
    if (fit.kind !== 'glibc') continue
    held.push({
      name: project,
      installed: dist.version,
      newest: newest.version,
      needs: fit.tag,
      takenBy: runtimesPhrase(runtimesTaking(newest.files, target))
    })
  }
  return held.sort((a, b) => (a.name < b.name ? -1 : 1))
}

/** One line per held-back package, for the log and the summary. */
export function describeHeldBack(held: HeldBack, target: Target): string {
  const taken = held.takenBy ? `; ${held.takenBy} would take it` : ''
  return `${held.name} ${held.installed}, not ${held.newest} (the newest on the index): ${held.newest} has only ${held.needs} wheels and ${runtimeWithGlibc(target.runtime)}${taken}`
}
