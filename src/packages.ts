import { lstat, readFile, readdir } from 'node:fs/promises'
import path from 'node:path'
import { canonicalName } from './inputs.js'
import type { InstalledDistribution } from './pip.js'
import type { LayerPackage } from './types.js'

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
      const files = [...new Set(recordPaths(record))]
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

/**
 * RECORD lists paths relative to site-packages; scripts and data files installed with
 * `--target` appear as `../../bin/x` and land in `<target>/bin/x`.
 */
export function recordPaths(record: string): string[] {
  return record
    .split('\n')
    .map(line => parseCsvFirstField(line))
    .filter(file => file !== '')
    .map(file => file.replace(/\\/g, '/').replace(/^(\.\.\/)+/, ''))
    .filter(file => !file.startsWith('/'))
}

function parseCsvFirstField(line: string): string {
  if (!line.startsWith('"')) return line.split(',')[0].trim()
  const end = line.indexOf('",')
  return (end === -1 ? line.slice(1, -1) : line.slice(1, end)).replace(/""/g, '"')
}

async function sizeOf(siteDir: string, file: string): Promise<number | undefined> {
  try {
    const stat = await lstat(path.join(siteDir, file))
    return stat.isFile() || stat.isSymbolicLink() ? stat.size : undefined
  } catch {
    return undefined
  }
}

/** The largest packages first, for size reports. */
export function largestFirst(packages: LayerPackage[]): LayerPackage[] {
  return [...packages].sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name))
}
