import * as core from '@actions/core'
import { displayPath } from './sources/common.js'
import { LIMITS, platformTags } from './facts.js'
import { largestFirst } from './packages.js'
import type { Exclusion } from './prune.js'
import type { LayerPackage, Target, Finding } from './types.js'
import type { LayerZip } from './zip.js'

/** What the build made, for outputs and the job summary. */
export interface BuildReport {
  target: Target
  source: { kind: string; file: string; chosenFrom?: string }
  packages: LayerPackage[]
  excluded: Exclusion[]
  builtFromSdist: string[]
  slimmed: { files: number; bytes: number }
  findings: Finding[]
  verify: 'error' | 'warn' | 'off'
  importCheck: { summary: string; failures: string[] }
  zip: LayerZip
}

export function setBuildOutputs(report: BuildReport): void {
  core.setOutput('zip-path', report.zip.zipPath)
  core.setOutput('code-sha256', report.zip.codeSha256)
  core.setOutput('zip-size', String(report.zip.zipSize))
  core.setOutput('unzipped-size', String(report.zip.unzippedSize))
  core.setOutput(
    'packages',
    JSON.stringify(
      largestFirst(report.packages).map(p => ({ name: p.name, version: p.version, bytes: p.bytes }))
    )
  )
}

/** The job summary; outside GitHub Actions (no GITHUB_STEP_SUMMARY) it goes to the log instead. */
export async function writeSummary(markdown: string): Promise<void> {
  if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(markdown).write()
  else core.info(markdown)
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

/** A text bar for "how much of a limit is used", readable in a Markdown table. */
export function sizeBar(used: number, limit: number, width = 20): string {
  const share = Math.min(used / limit, 1)
  const filled = Math.round(share * width)
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${Math.round((used / limit) * 100)}%`
}

/** The job summary's Markdown for the build: sizes against the limits, packages, checks. */
export function buildSummary(report: BuildReport): string {
  const { target, zip } = report
  const lines: string[] = []
  lines.push(`## Lambda layer for ${target.runtime.name} on ${target.architecture}`, '')
  const from = report.source.chosenFrom
    ? `\`${workspacePath(report.source.file)}\` (found in \`${workspacePath(report.source.chosenFrom)}\`)`
    : `\`${workspacePath(report.source.file)}\``
  lines.push(
    `Built from ${from} (${report.source.kind}): ${report.packages.length} packages, ${zip.fileCount} files.`,
    ''
  )
  lines.push('| | size | Lambda limit | used |', '|---|---:|---:|---|')
  lines.push(
    `| zipped | ${formatBytes(zip.zipSize)} | ${formatBytes(LIMITS.directUploadBytes)} direct upload | ${sizeBar(zip.zipSize, LIMITS.directUploadBytes)} |`
  )
  lines.push(
    `| unzipped | ${formatBytes(zip.unzippedSize)} | ${formatBytes(LIMITS.unzippedBytes)} function + layers | ${sizeBar(zip.unzippedSize, LIMITS.unzippedBytes)} |`,
    ''
  )
  lines.push(`CodeSha256: \`${zip.codeSha256}\``, '')
  lines.push(`**Verification:** ${verificationLine(report)}`, '')
  lines.push(`**Import check:** ${report.importCheck.summary}`, '')
  for (const failure of report.importCheck.failures) lines.push(`- ${failure}`)
  if (report.importCheck.failures.length > 0) lines.push('')
  lines.push('| package | version | size | |', '|---|---|---:|---|')
  for (const pkg of largestFirst(report.packages)) {
    const notes = [
      pkg.requested ? 'requested' : 'dependency',
      ...(report.builtFromSdist.includes(pkg.name) ? ['built from sdist'] : [])
    ]
    lines.push(`| ${pkg.name} | ${pkg.version} | ${formatBytes(pkg.bytes)} | ${notes.join(', ')} |`)
  }
  lines.push('')
  if (report.excluded.length > 0) {
    lines.push('Left out:', '')
    for (const e of report.excluded) lines.push(`- ${e.name} ${e.version}: ${e.reason}`)
    lines.push('')
  }
  if (report.slimmed.files > 0) {
    lines.push(
      `Slimmed: ${report.slimmed.files} files (${formatBytes(report.slimmed.bytes)}) that never load at run time.`,
      ''
    )
  }
  lines.push(
    '<details><summary>Platform tags given to pip</summary>',
    '',
    platformTags(target.runtime, target.architecture).join(', '),
    '',
    '</details>',
    ''
  )
  return lines.join('\n')
}

/** A path as the repository knows it: relative to the workspace when inside it. */
export function workspacePath(file: string): string {
  return displayPath(file, process.env.GITHUB_WORKSPACE || process.cwd())
}

function verificationLine(report: BuildReport): string {
  if (report.verify === 'off') return 'off'
  if (report.findings.length === 0) {
    const [major, minor] = report.target.runtime.glibcCeiling
    return `passed: every shared object is ${report.target.architecture}, needs glibc ≤ ${major}.${minor} and fits CPython ${report.target.runtime.pythonVersion}`
  }
  return `${report.findings.length} problem(s)\n\n${report.findings.map(f => `- ${f.message}`).join('\n')}`
}
