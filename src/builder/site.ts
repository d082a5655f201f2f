import path from 'node:path'
import { requirementName } from '../sources/pep508.js'
import type { InstalledDistribution } from './pip.js'

/** One distribution in the layer, as its wheel's metadata and the layer's files describe it. */
export interface LayerPackage {
  /** Canonical (PEP 503 normalised) name: lower case, runs of -_. become "-". */
  name: string
  version: string
  /** Named in the requirements file (true) or pulled in transitively (false). */
  requested: boolean
  /** Paths relative to the site directory (the folder that becomes `python/`), "/"-separated. */
  files: string[]
  /** Sum of the unpacked sizes of `files`. */
  bytes: number
}

/**
 * pip --target installs into a staging home whose `lib/python` is what RECORD paths are
 * relative to, then moves its `bin/`, `share/`, `include/` into the target: it records them
 * as `../../bin/x`, which is `bin/x` in the site directory.
 */
const PIP_TARGET_STAGING = '../../'

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
