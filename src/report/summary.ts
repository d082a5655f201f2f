// The job summary: what the build made and checked, then what publishing did in each region.
import * as core from '@actions/core'
import type { DeployResult } from '../aws/deploy.js'
import type { BuildReport } from '../builder/index.js'
import { largestFirst } from '../builder/site.js'
import { formatBytes } from '../builder/size.js'
import { summarizeFindings } from '../builder/verify.js'
import { LIMITS, platformTags, type Target } from '../facts.js'
import { redact } from '../secrets.js'
import { workspacePath } from '../sources/common.js'

/** The job summary; outside GitHub Actions (no GITHUB_STEP_SUMMARY) it goes to the log instead. */
export async function writeSummary(markdown: string): Promise<void> {
  if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(markdown).write()
  else core.info(markdown)
}

/** Items of a list shown as they are; a longer list folds into `<details>`. */
const INLINE_ITEMS = 20
/** Items of a list shown at all; the rest are counted, far below GitHub's 1 MiB summary limit. */
const LISTED_ITEMS = 100
/** Lines of an error message shown in the summary; the log has all of it. */
const MESSAGE_LINES = 40

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
  lines.push(...foldedList('import failures', report.importCheck.failures))
  lines.push(...heldBackSection(report))
  const packageRows = largestFirst(report.packages).map(pkg => {
    const notes = [
      pkg.requested ? 'requested' : 'dependency',
      ...(report.builtFromSdist.includes(pkg.name) ? ['built from sdist'] : [])
    ]
    return `| ${pkg.name} | ${pkg.version} | ${formatBytes(pkg.bytes)} | ${notes.join(', ')} |`
  })
  lines.push(
    ...folded(
      'packages, largest first',
      ['| package | version | size | |', '|---|---|---:|---|'],
      packageRows
    )
  )
  lines.push(
    ...foldedList(
      'left out',
      report.excluded.map(e => `${e.name} ${e.version}: ${e.reason}`),
      ['Left out:', '']
    )
  )
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

/**
 * Packages pip took older than the newest on the index because the runtime's glibc is too old
 * for the newest's wheels: a silent downgrade unless said, with the runtimes that would take it.
 */
function heldBackSection(report: BuildReport): string[] {
  const held = report.heldBack
  if (held.length === 0) return []
  const [major, minor] = report.target.runtime.glibcCeiling
  const rows = held.map(
    h =>
      `| ${h.name} | ${h.installed} | ${h.newest} | ${h.needs} | ${h.takenBy || 'none on this architecture'} |`
  )
  return [
    `**Held back by glibc ${major}.${minor}** (${report.target.runtime.name}, ${report.target.runtime.os}): ${held.length === 1 ? '1 package is' : `${held.length} packages are`} older than the newest on the index.`,
    '',
    ...folded(
      'packages held back',
      [
        '| package | in the layer | newest on the index | its wheels need | runtimes that take it |',
        '|---|---|---|---|---|'
      ],
      rows
    )
  ]
}

function verificationLine(report: BuildReport): string {
  if (report.verify === 'off') return 'off'
  if (report.findings.length === 0) {
    const [major, minor] = report.target.runtime.glibcCeiling
    return `passed: every shared object is ${report.target.architecture}, needs glibc ≤ ${major}.${minor} and fits CPython ${report.target.runtime.pythonVersion}`
  }
  return [
    `${report.findings.length} problem(s)`,
    '',
    ...foldedList('problems, by package', summarizeFindings(report.findings))
  ].join('\n')
}

/** A Markdown list, folded and capped like any long list of the summary. */
function foldedList(title: string, items: string[], header: string[] = []): string[] {
  return folded(
    title,
    header,
    items.map(item => `- ${item}`)
  )
}

/**
 * Lines under a header (a table's, say): as they are when few, else inside `<details>` and
 * capped, ending with how many were left out.
 */
function folded(title: string, header: string[], lines: string[]): string[] {
  if (lines.length === 0) return []
  if (lines.length <= INLINE_ITEMS) return [...header, ...lines, '']
  const more = lines.length - LISTED_ITEMS
  return [
    `<details><summary>${lines.length.toLocaleString('en-US')} ${title}</summary>`,
    '',
    ...header,
    ...lines.slice(0, LISTED_ITEMS),
    ...(more > 0 ? ['', `… and ${more.toLocaleString('en-US')} more`] : []),
    '',
    '</details>',
    ''
  ]
}

/**
 * The job summary of a failed run: what was asked and what failed; the message says what to
 * do. Written also when the build never got far enough for buildSummary.
 */
export function failureSummary(
  message: string,
  asked?: { requirements: string; target: Target }
): string {
  const lines = ['', '### Failed', '']
  if (asked) {
    const { runtime, architecture } = asked.target
    lines.push(
      `Asked for: requirements \`${asked.requirements}\`, runtime ${runtime.name}, architecture ${architecture}.`,
      ''
    )
  }
  const messageLines = redact(message).split('\n')
  const more = messageLines.length - MESSAGE_LINES
  lines.push(
    '<pre>',
    escapeHtml(messageLines.slice(0, MESSAGE_LINES).join('\n')),
    ...(more > 0 ? [`… and ${more.toLocaleString('en-US')} more lines (in the log)`] : []),
    '</pre>',
    ''
  )
  return lines.join('\n')
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
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
