// The job summary: what the build made and checked, then what publishing did in each region.
import * as core from '@actions/core'
import type { DeployResult } from '../aws/deploy.js'
import type { BuildReport } from '../builder/index.js'
import { largestFirst } from '../builder/site.js'
import { formatBytes } from '../builder/size.js'
import { summarizeFindings } from '../builder/verify.js'
import { LIMITS, platformTags } from '../facts.js'
import { workspacePath } from '../sources/common.js'

/** The job summary; outside GitHub Actions (no GITHUB_STEP_SUMMARY) it goes to the log instead. */
export async function writeSummary(markdown: string): Promise<void> {
  if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(markdown).write()
  else core.info(markdown)
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

function verificationLine(report: BuildReport): string {
  if (report.verify === 'off') return 'off'
  if (report.findings.length === 0) {
    const [major, minor] = report.target.runtime.glibcCeiling
    return `passed: every shared object is ${report.target.architecture}, needs glibc ≤ ${major}.${minor} and fits CPython ${report.target.runtime.pythonVersion}`
  }
  return `${report.findings.length} problem(s)\n\n${summarizeFindings(report.findings)
    .map(line => `- ${line}`)
    .join('\n')}`
}

/** The job summary's Markdown for publishing and attaching. */
export function deploySummary(result: DeployResult): string {
  const lines = ['', '### Published', '', '| region | layer version | |', '|---|---|---|']
  for (const region of result.regions) {
    const layer = region.layer
    const what = layer
      ? layer.published
        ? 'new version'
        : 'unchanged, reused'
      : `failed: ${region.errors.join('; ')}`
    lines.push(`| ${region.region} | ${layer ? `\`${layer.layerVersionArn}\`` : ''} | ${what} |`)
  }
  const functions = result.regions.flatMap(r => r.functions)
  if (functions.length > 0) {
    lines.push(
      '',
      '### Functions',
      '',
      '| function | region | status | layers after |',
      '|---|---|---|---|'
    )
    for (const fn of functions) {
      const status = fn.status === 'failed' ? `failed: ${fn.error ?? ''}` : fn.status
      lines.push(
        `| ${fn.function} | ${fn.region} | ${status} | ${fn.after.map(arn => `\`${arn}\``).join('<br>')} |`
      )
    }
  }
  const cleanups = result.regions.filter(r => r.cleanup)
  if (cleanups.length > 0) {
    lines.push('', '### Old versions', '')
    for (const region of cleanups) {
      const cleanup = region.cleanup!
      lines.push(
        `- ${region.region}: deleted ${cleanup.deleted.length ? cleanup.deleted.join(', ') : 'none'}`
      )
      for (const kept of cleanup.kept) lines.push(`  - kept ${kept.version}: ${kept.reason}`)
    }
  }
  return lines.join('\n') + '\n'
}
