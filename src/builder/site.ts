import * as core from '@actions/core'
import { createHash } from 'node:crypto'
import fsSync from 'node:fs'
import { lstat, readFile, readdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { canonicalName, requirementName } from '../sources/pep508.js'
import type { InstalledDistribution } from './pip.js'

/** One distribution installed into the layer, as pip's report and its RECORD describe it. */
export interface LayerPackage {
  /** Canonical (PEP 503 normalised) name: lower case, runs of -_. become "-". */
  name: string
  version: string
  /** Named in the requirements file (true) or pulled in transitively (false). */
  requested: boolean
  /** Paths relative to the site directory (the folder that becomes `python/`), "/"-separated. */
  files: string[]
  /** Sum of the sizes of `files` on disk. */
  bytes: number
}

/**
 * What each installed distribution put in the site directory, from its `*.dist-info/RECORD`.
 * The sizes are what the files take on disk, so they add up to the unzipped layer. A RECORD
 * line naming a file outside the site directory is left out, with a warning.
 */
export async function readLayerPackages(
  siteDir: string,
  installed: InstalledDistribution[],
  onWarning: (message: string) => void = message => core.warning(message)
): Promise<LayerPackage[]> {
  const requested = new Map(installed.map(dist => [dist.name, dist.requested]))
  const locate = siteLocator(siteDir)
  const distInfos = (await readdir(siteDir)).filter(entry => entry.endsWith('.dist-info')).sort()
  const read = await Promise.all(
    distInfos.map(async distInfo => {
      // through the locator like RECORD: a dist-info folder may link out; none, the folder's name
      const metadataFile = locate(`${distInfo}/METADATA`)
      const metadata = metadataFile
        ? await readFile(path.join(siteDir, metadataFile), 'utf8').catch(() => '')
        : ''
      const name = canonicalName(header(metadata, 'Name') ?? distInfo.split('-')[0])
      const version = header(metadata, 'Version') ?? ''
      const entries = await locateRecord(siteDir, distInfo)
      const outside = entries.filter(entry => entry.file === undefined)
      const files = [...new Set(entries.flatMap(entry => entry.file ?? []))]
      const sized = await Promise.all(
        files.map(async file => [file, await sizeOf(siteDir, file)] as const)
      )
      const present = sized.filter(([, size]) => size !== undefined)
      const pkg: LayerPackage = {
        name,
        version,
        requested: requested.get(name) ?? false,
        files: present.map(([file]) => file).sort(),
        bytes: present.reduce((sum, [, size]) => sum + (size ?? 0), 0)
      }
      const warnings = outside.map(
        ({ listed }) => `${name} ${version}: RECORD names ${listed}, outside the layer; ignored`
      )
      return { pkg, warnings }
    })
  )
  // warnings after all reads, in dist-info order, so the log reads the same on every run
  for (const { warnings } of read) warnings.forEach(warning => onWarning(warning))
  return read.map(({ pkg }) => pkg).sort((a, b) => a.name.localeCompare(b.name))
}

function header(metadata: string, field: string): string | undefined {
  return new RegExp(`^${field}:\\s*(.+)$`, 'mi').exec(metadata)?.[1].trim()
}

/** One line of a `*.dist-info/RECORD`: `path,sha256=…,size`. */
interface RecordLine {
  line: string
  /** The path as RECORD lists it. */
  listed: string
  size: string
}

/** A RECORD line with where it is in the site directory; undefined when that is outside. */
interface LocatedLine extends RecordLine {
  file: string | undefined
}

function parseRecord(record: string): RecordLine[] {
  return record
    .split('\n')
    .filter(line => line.trim() !== '')
    .map(line => {
      const quoted = line.startsWith('"')
      const end = quoted ? line.indexOf('",') : line.indexOf(',')
      const listed = quoted
        ? (end === -1 ? line.slice(1, -1) : line.slice(1, end)).replace(/""/g, '"')
        : (end === -1 ? line : line.slice(0, end)).trim()
      const size = end === -1 ? '' : (line.slice(end + (quoted ? 2 : 1)).split(',')[1] ?? '')
      return { line, listed, size }
    })
    .filter(entry => entry.listed !== '')
}

/** The lines of a distribution's RECORD (none when it has none), each located in the site. */
async function locateRecord(siteDir: string, distInfo: string): Promise<LocatedLine[]> {
  const locate = siteLocator(siteDir)
  const recordFile = `${distInfo}/RECORD`
  // a dist-info folder that is a link out of the layer has no RECORD we may read
  if (locate(recordFile) === undefined) return []
  const record = await readFile(path.join(siteDir, recordFile), 'utf8').catch(() => '')
  return parseRecord(record).map(entry => ({ ...entry, file: locate(entry.listed) }))
}

/**
 * pip --target installs into a staging home whose `lib/python` is what RECORD paths are
 * relative to, then moves its `bin/`, `share/`, `include/` into the target: it records them
 * as `../../bin/x`, which is `bin/x` in the site directory.
 */
const PIP_TARGET_STAGING = '../../'

/**
 * Where a path a RECORD lists lies in the site directory ("/"-separated, normalised), or
 * undefined when it lies outside: RECORD is data written by whoever built the wheel, and
 * nothing outside the layer may be removed, stripped, read or hashed because it names it.
 * Only pip's own `../../` prefix maps into the site directory; a path that still climbs out
 * after that (`pkg/../../x`, `../../../x`), an absolute one, or one whose real location
 * (through symlinks) is outside the site directory is outside. A path that does not exist
 * is judged by its nearest existing folder: there is nothing there to touch.
 */
export function siteRelativePath(siteDir: string, listed: string): string | undefined {
  return siteLocator(siteDir)(listed)
}

/**
 * siteRelativePath for many paths of one site directory, each folder resolved once.
 * Synchronous on purpose: a thread-pool round trip per lstat costs several times the syscall
 * on layers of tens of thousands of files.
 */
export function siteLocator(siteDir: string): (listed: string) => string | undefined {
  const root = fsSync.realpathSync(siteDir)
  const realFolders = new Map<string, string | undefined>([[root, root]])
  const realFolder = (folder: string): string | undefined => {
    if (!realFolders.has(folder)) realFolders.set(folder, realLocation(folder, realFolder))
    return realFolders.get(folder)
  }
  return listed => {
    const relative = lexicalSitePath(listed)
    if (relative === undefined) return undefined
    const real = realLocation(path.join(root, relative), realFolder)
    return real && (real === root || real.startsWith(root + path.sep)) ? relative : undefined
  }
}

/** Where a RECORD path lies in the site directory by its text alone; undefined when outside. */
export function lexicalSitePath(listed: string): string | undefined {
  const slashed = listed.replace(/\\/g, '/')
  const unstaged = slashed.startsWith(PIP_TARGET_STAGING)
    ? slashed.slice(PIP_TARGET_STAGING.length)
    : slashed
  if (unstaged.startsWith('/') || unstaged.includes('\0')) return undefined
  const normal = path.posix.normalize(unstaged).replace(/\/$/, '')
  if (normal === '.' || normal === '..' || normal.startsWith('../')) return undefined
  return normal
}

/**
 * Where `full` really is: its folder's real location plus its name, or a symlink's target.
 * A missing path is where it would be; a dangling or looping symlink is nowhere.
 */
function realLocation(
  full: string,
  realFolder: (folder: string) => string | undefined
): string | undefined {
  let stats: fsSync.Stats | undefined
  try {
    stats = fsSync.lstatSync(full)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return undefined
  }
  if (stats?.isSymbolicLink()) {
    try {
      return fsSync.realpathSync(full)
    } catch {
      return undefined
    }
  }
  const folder = realFolder(path.dirname(full))
  return folder === undefined ? undefined : path.join(folder, path.basename(full))
}

async function sizeOf(siteDir: string, file: string): Promise<number | undefined> {
  try {
    const stat = await lstat(path.join(siteDir, file))
    return stat.isFile() || stat.isSymbolicLink() ? stat.size : undefined
  } catch {
    return undefined
  }
}

/**
 * The names a distribution requires, from its metadata. Requirements behind an extra count
 * only with `withExtras`: pip's report does not say which extras were asked for.
 */
export function requiredNames(
  dist: InstalledDistribution,
  { withExtras }: { withExtras: boolean }
): string[] {
  return dist.requiresDist
    .filter(requirement => withExtras || !/extra\s*==/.test(requirement))
    .map(requirementName)
    .filter((name): name is string => name !== undefined)
}

/** The largest packages first, for size reports. */
export function largestFirst(packages: LayerPackage[]): LayerPackage[] {
  return [...packages].sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name))
}

/**
 * What pip writes at the top of console scripts: the runner's interpreter path, or for a path
 * too long for a shebang line, a /bin/sh trampoline that names it.
 */
const RUNNER_SHEBANG = /^(#![^\n]*python[^\n]*\n|#!\/bin\/sh\n'''exec' [^\n]*\n' '''\n)/

/**
 * Makes the installed tree independent of the runner: console scripts get a fixed shebang
 * (pip writes the runner's interpreter path into them, and their hashes into RECORD, so the
 * zip's bytes would change with every setup-python patch release), and RECORD keeps only the
 * files still in the layer, with sizes and hashes of what is there now (slim, strip).
 */
export async function normalizeRecords(siteDir: string): Promise<void> {
  for (const script of await readdir(path.join(siteDir, 'bin')).catch(() => [] as string[])) {
    // a bin folder or script that links out of the layer is not the layer's to rewrite
    const relative = siteRelativePath(siteDir, `bin/${script}`)
    if (relative === undefined) continue
    const file = path.join(siteDir, relative)
    const text = await readFile(file, 'latin1').catch(() => undefined)
    if (text && RUNNER_SHEBANG.test(text)) {
      await writeFile(file, text.replace(RUNNER_SHEBANG, '#!/usr/bin/env python3\n'), 'latin1')
    }
  }
  for (const distInfo of (await readdir(siteDir)).filter(entry => entry.endsWith('.dist-info'))) {
    const recordFile = `${distInfo}/RECORD`
    const entries = await locateRecord(siteDir, distInfo)
    if (entries.length === 0) continue
    const lines: string[] = []
    // lines naming files outside the layer are left out (readLayerPackages warned about them)
    for (const { line, listed, file, size } of entries) {
      if (file === undefined) continue
      if (file === recordFile) {
        lines.push(line)
        continue
      }
      const stat = await lstat(path.join(siteDir, file)).catch(() => undefined)
      if (!stat?.isFile()) continue
      if (String(stat.size) === size && !file.startsWith('bin/')) {
        lines.push(line)
        continue
      }
      const digest = createHash('sha256')
        .update(await readFile(path.join(siteDir, file)))
        .digest('base64url')
      lines.push(`${csvField(listed)},sha256=${digest},${stat.size}`)
    }
    await writeFile(path.join(siteDir, recordFile), lines.join('\n') + '\n')
  }
}

function csvField(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value
}
