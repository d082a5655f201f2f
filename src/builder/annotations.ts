import * as core from '@actions/core'
import { requiredNames } from './site.js'
import type { InstalledDistribution } from './pip.js'
import type { DependencySource } from '../sources/index.js'
import type { Finding } from './verify.js'
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

export function annotateFindings(
  findings: Finding[],
  verify: 'error' | 'warn' | 'off',
  source: Pick<DependencySource, 'origin'>,
  installed: InstalledDistribution[]
): void {
  if (verify === 'off') return
  for (const finding of findings) {
    annotate(
      verify === 'error' ? 'error' : 'warning',
      finding.message,
      originOf(finding.package, source, installed)
    )
  }
}
