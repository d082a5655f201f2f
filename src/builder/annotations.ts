import * as core from '@actions/core'
import { requiredNames } from './site.js'
import type { InstalledDistribution } from './pip.js'
import type { DependencySource } from '../sources/index.js'
import { describeFindingGroup, groupFindings, type Finding } from './verify.js'
import { workspacePath } from '../sources/common.js'

export interface Origin {
  file: string
  line: number
}

/** An error or warning annotation, pointing at a line of the user's file when known. */
export function annotate(level: 'error' | 'warning', message: string, origin?: Origin): void {
  const properties = origin ? { file: workspacePath(origin.file), startLine: origin.line } : {}
  if (level === 'error') core.error(message, properties)
  else core.warning(message, properties)
}

/**
 * The line that brought a package in: its own when requested directly, otherwise the line of
 * the direct requirement that pulled it in.
 */
export function originOf(
  name: string,
  source: Pick<DependencySource, 'origin'>,
  installed: InstalledDistribution[]
): Origin | undefined {
  const parents = new Map<string, string[]>()
  for (const dist of installed) {
    // with extras: `greeter[fast]` is what brought fastmath in
    for (const child of requiredNames(dist, { withExtras: true })) {
      parents.set(child, [...(parents.get(child) ?? []), dist.name])
    }
  }
  const seen = new Set<string>()
  const queue = [name]
  while (queue.length > 0) {
    const current = queue.shift() as string
    if (seen.has(current)) continue
    seen.add(current)
    const origin = source.origin(current)
    if (origin) return origin
    queue.push(...(parents.get(current) ?? []))
  }
  return undefined
}

/**
 * GitHub shows at most 10 error (and 10 warning) annotations per step: findings take 8 at most,
 * so the step's failure line is never the one dropped.
 */
export const FINDING_ANNOTATIONS = 8

/**
 * One annotation per package and kind of problem, at the line that brought the package in,
 * capped with a count of the rest; every file is listed in the log.
 */
export function annotateFindings(
  findings: Finding[],
  verify: 'error' | 'warn' | 'off',
  source: Pick<DependencySource, 'origin'>,
  installed: InstalledDistribution[]
): void {
  if (verify === 'off' || findings.length === 0) return
  const level = verify === 'error' ? 'error' : 'warning'
  const groups = groupFindings(findings)
  const shown =
    groups.length <= FINDING_ANNOTATIONS ? groups : groups.slice(0, FINDING_ANNOTATIONS - 1)
  for (const group of shown) {
    annotate(level, describeFindingGroup(group), originOf(group.package, source, installed))
  }
  const rest = groups.slice(shown.length)
  if (rest.length > 0) {
    const packages = new Set(rest.map(group => group.package)).size
    const files = rest.reduce((sum, group) => sum + group.files, 0)
    annotate(
      level,
      `verification: ${rest.length} more problems (${plural(packages, 'package')}, ${plural(files, 'file')}) are listed in the log and the job summary`
    )
  }
  core.startGroup(`verification: ${plural(findings.length, 'problem')}, file by file`)
  for (const finding of findings) core.info(finding.message)
  core.endGroup()
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}
