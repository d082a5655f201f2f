// The job summary: what the build made and checked, then what publishing did in each region.
import * as core from '@actions/core'
import type { AttachResult } from '../aws/attach.js'
import type { DeployResult } from '../aws/deploy.js'
import type { BuildReport } from '../builder/index.js'
import { largestFirst } from '../builder/site.js'
import { formatBytes } from '../builder/size.js'
import { summarizeFindings } from '../builder/verify.js'
import { LIMITS, platformTags, type Target } from '../facts.js'
import {
  glibcFloor,
  type ChangesReport,
  type LayerChanges,
  type NativeChange,
  type PackageChange,
  type RegionChanges
} from '../changes.js'
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
      ...(report.builtFromSdist.includes(pkg.name) ? ['built from sdist'] : []),
      ...(report.local?.includes(pkg.name) ? ['local'] : [])
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
      'files added from the workspace',
      (report.extraFiles ?? []).map(f => `\`${f.layerPath}\``),
      ['Added from the workspace (files):', '']
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
  const parameters = result.regions.flatMap(r =>
    r.parameter ? [{ region: r.region, ...r.parameter }] : []
  )
  if (parameters.length > 0) {
    lines.push('', '### SSM parameters', '', '| region | parameter | |', '|---|---|---|')
    for (const parameter of parameters) {
      const what = parameter.error ? `failed: ${parameter.error}` : `version ${parameter.version}`
      lines.push(`| ${parameter.region} | \`${parameter.name}\` | ${what} |`)
    }
  }
  lines.push(...functionsSection(result.regions.flatMap(r => r.functions)))
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

/**
 * Per function: its layers before → after, the version published, whether the alias moved,
 * and the smoke test's outcome with its duration.
 */
export function functionsSection(functions: readonly AttachResult[]): string[] {
  if (functions.length === 0) return []
  const releases = functions.some(fn => fn.release)
  const lines = [
    '',
    '### Functions',
    '',
    releases
      ? '| function | region | status | layers before → after | version | alias | smoke test |'
      : '| function | region | status | layers before → after |',
    releases ? '|---|---|---|---|---|---|---|' : '|---|---|---|---|'
  ]
  for (const fn of functions) {
    const status =
      fn.status === 'failed'
        ? `failed: ${fn.error ?? ''}`
        : fn.status === 'skipped'
          ? `left alone: ${fn.error ?? ''}`
          : fn.status
    const name = fn.discovered ? `${fn.function} (found)` : fn.function
    const cells = [name, fn.region, cell(status), layerChange(fn)]
    if (releases) {
      const release = fn.release
      cells.push(release?.version ?? '', aliasCell(fn), smokeCell(fn))
    }
    lines.push(`| ${cells.join(' | ')} |`)
  }
  return lines
}

/** Packages named in a chart; the rest are summed as "other", well inside Mermaid's limits. */
const CHART_PACKAGES = 12

/** A Mermaid pie of the layer's unzipped size by package: the biggest ones, then "other". */
export function packageSizeChart(packages: ReadonlyArray<{ name: string; bytes: number }>): string {
  if (packages.length === 0) return ''
  const largest = [...packages].sort((a, b) => b.bytes - a.bytes).map(p => p.name)
  const slices = topAndOther(new Map(packages.map(p => [p.name, p.bytes])), largest)
  // a blank line first: right after an HTML block (`</details>`) a fence would be part of it
  return [
    '',
    '```mermaid',
    'pie showData title Unzipped size by package (KiB)',
    ...slices.map(([name, bytes]) => `  "${name}" : ${kib(bytes)}`),
    '```',
    ''
  ].join('\n')
}

/** The heading of the comparison: a plan's, or a real publish's "what this version changes". */
export function changesSummary(report: ChangesReport): string {
  const lines = [
    '',
    report.mode === 'plan'
      ? `### Plan: what publishing ${report.layerName} would change`
      : '### What this version changes',
    ''
  ]
  if (report.mode === 'plan') lines.push('Nothing was published: a plan makes no write call.', '')
  if (report.unavailable) {
    lines.push(`**Not compared:** ${escapeHtml(report.unavailable)}`, '')
    lines.push(packageSizeChart(report.after.packages))
    return lines.join('\n')
  }
  for (const region of report.regions) lines.push(...regionChanges(region, report))
  return lines.join('\n')
}

function regionChanges(region: RegionChanges, report: ChangesReport): string[] {
  const lines: string[] = []
  if (!region.previous) {
    lines.push(`#### ${region.region}: nothing to compare with`, '')
    lines.push(
      region.error
        ? `Could not read the published versions: ${escapeHtml(region.error)}`
        : `No version of ${report.layerName} for this runtime and architecture is published yet: this is its first, with ${report.after.packages.length} packages (${formatBytes(report.after.unzippedSize)} unzipped).`,
      ''
    )
    if (!region.error) lines.push(packageSizeChart(report.after.packages))
  } else {
    lines.push(
      `#### ${region.region}: against version ${region.previous.version} (\`${region.previous.layerVersionArn}\`)`,
      ''
    )
    if (region.changes) lines.push(...changeTable(region.changes, region.previous.version))
    if (region.error) lines.push(`Could not compare: ${escapeHtml(region.error)}`, '')
    if (region.changes) {
      lines.push(
        `Read ${formatBytes(region.bytesRead)} of the published zip's ${formatBytes(region.changes.zipBefore)} (central directory and dist-info METADATA/WHEEL entries, by HTTP range requests).`,
        ''
      )
    }
  }
  if (region.functions.length > 0) {
    lines.push('| function | uses now |', '|---|---|')
    for (const fn of region.functions) {
      const now = fn.error
        ? `could not be read: ${escapeHtml(fn.error.split('\n')[0] ?? '')}`
        : fn.layerVersionArn
          ? `\`${fn.layerVersionArn}\``
          : `no version of ${report.layerName}`
      lines.push(`| ${fn.function} | ${now} |`)
    }
    lines.push('')
  }
  return lines
}

function layerChange(fn: AttachResult): string {
  if (fn.layersUnknown) return 'unknown'
  const show = (arns: readonly string[]) =>
    arns.length ? arns.map(arn => `\`${arn}\``).join('<br>') : 'none'
  if (fn.before.join() === fn.after.join()) return `${show(fn.after)} (unchanged)`
  return `${show(fn.before)}<br>→<br>${show(fn.after)}`
}

function aliasCell(fn: AttachResult): string {
  const alias = fn.release?.alias
  if (!alias) return ''
  if (alias.moved) {
    return alias.from
      ? `${alias.name}: ${alias.from} → ${alias.to ?? ''}`
      : `${alias.name}: created on ${alias.to ?? ''}`
  }
  return alias.to && alias.to === alias.from
    ? `${alias.name}: already on ${alias.to}`
    : `${alias.name}: not moved`
}

function smokeCell(fn: AttachResult): string {
  const smoke = fn.release?.smoke
  if (!smoke) return fn.release ? 'none' : ''
  const seconds = `${(smoke.durationMs / 1000).toFixed(2)} s`
  if (smoke.passed) return `passed on ${smoke.qualifier} (${seconds})`
  const restored = fn.release?.rolledBack ? '; previous layers restored' : ''
  return cell(
    `failed on ${smoke.qualifier} (${seconds}): ${smoke.errorType ?? ''}: ${smoke.errorMessage ?? ''}${restored}`
  )
}

/** Text safe inside a Markdown table cell. */
function cell(text: string): string {
  return escapeHtml(text).replace(/\|/g, '\\|').replace(/\n/g, '<br>')
}

function changeTable(changes: LayerChanges, previousVersion: number): string[] {
  const lines: string[] = []
  const count = (kind: string) => changes.packages.filter(p => p.kind === kind).length
  const delta = changes.unzippedAfter - changes.unzippedBefore
  if (changes.identical) {
    lines.push(`Same packages and sizes as version ${previousVersion}.`, '')
  } else {
    lines.push(
      `${count('added')} added, ${count('removed')} removed, ${count('upgraded')} upgraded, ${count('downgraded')} downgraded, ${count('rebuilt')} rebuilt; ` +
        `unzipped ${formatBytes(changes.unzippedBefore)} → ${formatBytes(changes.unzippedAfter)} (${signedBytes(delta)}), ` +
        `zipped ${formatBytes(changes.zipBefore)} → ${formatBytes(changes.zipAfter)}.`,
      ''
    )
  }
  const changed = changes.packages.filter(p => p.kind !== 'unchanged' || p.bytesDelta !== 0)
  lines.push(
    ...folded(
      'changed packages',
      ['| package | change | before | after | size change |', '|---|---|---|---|---:|'],
      changed.map(
        p =>
          `| ${p.name} | ${p.kind} | ${p.before?.version ?? ''} | ${p.after?.version ?? ''} | ${signedBytes(p.bytesDelta)} |`
      )
    )
  )
  const unchanged = changes.packages.length - changed.length
  if (unchanged > 0 && changed.length > 0) lines.push(`${unchanged} packages unchanged.`, '')
  if (changes.native.length > 0) {
    lines.push('**Native code that changed:**', '')
    for (const change of changes.native) lines.push(`- ${nativeLine(change)}`)
    lines.push('')
  }
  lines.push(
    '<sub>glibc needs of the published version are read from its wheel tags: its shared objects are deflated, and the GLIBC versions sit at the end of each ELF file, so reading them means downloading each one whole.</sub>',
    ''
  )
  lines.push(beforeAfterChart(changes, previousVersion))
  return lines
}

function nativeLine(change: NativeChange): string {
  const parts: string[] = []
  if (change.tagsBefore.length || change.tagsAfter.length) {
    const before = glibcFloor(change.tagsBefore)
    const after = glibcFloor(change.tagsAfter)
    const glibc = before !== after ? ` (glibc ${before ?? 'any'} → ${after ?? 'any'})` : ''
    parts.push(
      `wheel tags ${change.tagsBefore.join(', ') || 'none'} → ${change.tagsAfter.join(', ') || 'none'}${glibc}`
    )
  }
  if (change.sharedObjectsAdded.length) parts.push(`new ${change.sharedObjectsAdded.join(', ')}`)
  if (change.sharedObjectsRemoved.length) {
    parts.push(`gone ${change.sharedObjectsRemoved.join(', ')}`)
  }
  if (change.sharedObjectsChanged.length) {
    parts.push(`changed ${change.sharedObjectsChanged.join(', ')}`)
  }
  return `${change.name}: ${parts.join('; ')}`
}

/** Bars for this build, a line for the published version, by package (largest now first). */
function beforeAfterChart(changes: LayerChanges, previousVersion: number): string {
  const after = new Map(changes.packages.map(p => [p.name, p.after?.bytes ?? 0]))
  const before = new Map(changes.packages.map(p => [p.name, p.before?.bytes ?? 0]))
  const largest = (p: PackageChange) => Math.max(p.after?.bytes ?? 0, p.before?.bytes ?? 0)
  const order = [...changes.packages].sort((a, b) => largest(b) - largest(a)).map(p => p.name)
  if (order.length === 0) return ''
  const afterBars = topAndOther(after, order)
  const beforeLine = topAndOther(before, order)
  return [
    '```mermaid',
    'xychart-beta',
    `  title "Unzipped KiB by package: this build (bars) against version ${previousVersion} (line)"`,
    `  x-axis [${afterBars.map(([name]) => `"${name}"`).join(', ')}]`,
    '  y-axis "KiB"',
    `  bar [${afterBars.map(([, bytes]) => kib(bytes)).join(', ')}]`,
    `  line [${beforeLine.map(([, bytes]) => kib(bytes)).join(', ')}]`,
    '```',
    ''
  ].join('\n')
}

/** The first CHART_PACKAGES names with their sizes, then everything else as "other". */
function topAndOther(
  sizes: ReadonlyMap<string, number>,
  names: readonly string[]
): Array<[string, number]> {
  const shown = names
    .slice(0, CHART_PACKAGES)
    .map(name => [name, sizes.get(name) ?? 0] as [string, number])
  if (names.length <= CHART_PACKAGES) return shown
  const rest = names.slice(CHART_PACKAGES).reduce((sum, name) => sum + (sizes.get(name) ?? 0), 0)
  return [...shown, ['other', rest]]
}

function kib(bytes: number): number {
  return Math.round((bytes / 1024) * 10) / 10
}

function signedBytes(bytes: number): string {
  if (bytes === 0) return '0 B'
  return `${bytes > 0 ? '+' : '−'}${formatBytes(Math.abs(bytes))}`
}
