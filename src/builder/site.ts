import { createHash } from 'node:crypto'
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
 * The sizes are what the files take on disk, so they add up to the unzipped layer.
 */
export async function readLayerPackages(
  siteDir: string,
  installed: InstalledDistribution[]
): Promise<LayerPackage[]> {
  const requested = new Map(installed.map(dist => [dist.name, dist.requested]))
  const distInfos = (await readdir(siteDir)).filter(entry => entry.endsWith('.dist-info')).sort()
  const packages = await Promise.all(
    distInfos.map(async distInfo => {
      const metadata = await readFile(path.join(siteDir, distInfo, 'METADATA'), 'utf8')
      const name = canonicalName(header(metadata, 'Name') ?? distInfo.split('-')[0])
      const record = await readFile(path.join(siteDir, distInfo, 'RECORD'), 'utf8').catch(() => '')
      const files = [...new Set(parseRecord(record).map(entry => entry.file))]
      const sized = await Promise.all(
        files.map(async file => [file, await sizeOf(siteDir, file)] as const)
      )
      const present = sized.filter(([, size]) => size !== undefined)
      return {
        name,
        version: header(metadata, 'Version') ?? '',
        requested: requested.get(name) ?? false,
        files: present.map(([file]) => file).sort(),
        bytes: present.reduce((sum, [, size]) => sum + (size ?? 0), 0)
      }
    })
  )
  return packages.sort((a, b) => a.name.localeCompare(b.name))
}

function header(metadata: string, field: string): string | undefined {
  return new RegExp(`^${field}:\\s*(.+)$`, 'mi').exec(metadata)?.[1].trim()
}

/** One line of a `*.dist-info/RECORD`: `path,sha256=…,size`. */
interface RecordLine {
  line: string
  /** The path as RECORD lists it. */
  listed: string
  /** Where it is in the site directory, "/"-separated. */
  file: string
  size: string
}

/**
 * RECORD lists paths relative to site-packages; scripts and data files installed with
 * `--target` appear as `../../bin/x` and land in `<target>/bin/x`.
 */
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
      const file = listed.replace(/\\/g, '/').replace(/^(\.\.\/)+/, '')
      return { line, listed, file, size }
    })
    .filter(entry => entry.file !== '' && !entry.file.startsWith('/'))
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
    const file = path.join(siteDir, 'bin', script)
    const text = await readFile(file, 'latin1').catch(() => undefined)
    if (text && RUNNER_SHEBANG.test(text)) {
      await writeFile(file, text.replace(RUNNER_SHEBANG, '#!/usr/bin/env python3\n'), 'latin1')
    }
  }
  for (const distInfo of (await readdir(siteDir)).filter(entry => entry.endsWith('.dist-info'))) {
    const recordFile = path.join(siteDir, distInfo, 'RECORD')
    const record = await readFile(recordFile, 'utf8').catch(() => undefined)
    if (record === undefined) continue
    const lines: string[] = []
    for (const { line, listed, file, size } of parseRecord(record)) {
      if (file === `${distInfo}/RECORD`) {
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
    await writeFile(recordFile, lines.join('\n') + '\n')
  }
}

function csvField(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value
}
