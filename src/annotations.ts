import * as core from '@actions/core'
import path from 'node:path'
import { canonicalName } from './inputs.js'
import type { InstalledDistribution } from './pip.js'
import type { DependencySource } from './sources/index.js'
import type { Finding } from './types.js'

export interface Origin {
  file: string
  line: number
}

/** An error or warning annotation, pointing at a line of the user's file when known. */
export function annotate(level: 'error' | 'warning', message: string, origin?: Origin): void {
  const properties = origin
    ? {
        file: path.relative(process.env.GITHUB_WORKSPACE || process.cwd(), origin.file),
        startLine: origin.line
      }
    : {}
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
    for (const requirement of dist.requiresDist) {
      const child = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(requirement)?.[1]
      if (child)
        parents.set(canonicalName(child), [...(parents.get(canonicalName(child)) ?? []), dist.name])
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
