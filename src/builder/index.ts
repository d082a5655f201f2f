// The build half: requirements in, a verified, reproducible layer zip out. pip resolves and
// downloads wheels for the Lambda target; the layer zip is assembled from the wheels' own
// compressed entries, pruned, stripped and verified on the way, and once the zip is final,
// import-checked. Nothing here talks to AWS or writes outputs.
import * as core from '@actions/core'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import type { Architecture, Target } from '../facts.js'
import type { ActionInputs } from '../inputs.js'
import { layerFileStem } from '../names.js'
import { workspacePath } from '../sources/common.js'
import { hashMismatchMessage, type DependencySource } from '../sources/index.js'
import { pipIndexes } from '../sources/indexes.js'
import { settleAll } from '../concurrency.js'
import { FailureAt } from '../errors.js'
import { annotate, annotateFindings, originOf, type Origin } from './annotations.js'
import { describeHeldBack, type HeldBack } from './candidates.js'
import { layerLibraries, type ExtraFile } from './extra-files.js'
import { buildLocalProjects } from './local.js'
import { prepareImportCheck, runImportCheck, type ImportCheckOutcome } from './import-check.js'
import {
  extractLayer,
  installOrder,
  layerTree,
  mergeLayouts,
  verifiableFile,
  withRecords,
  writeAssembledZip,
  type ChosenWheel,
  type DistributionLayout
} from './assemble.js'
import { layoutWheel, readWheelDistribution, type LayerFile } from './layout.js'
import {
  HashCheckFailed,
  installRequirements,
  UnresolvableRequirement,
  type InstalledDistribution
} from './pip.js'
import { halfSetWarnings, pruneLayouts, type Exclusion } from './prune.js'
import { lexicalSitePath, type LayerPackage } from './site.js'
import { checkSize } from './size.js'
import type { BuildPreflight } from './preflight.js'
import { stripLayerFiles } from './strip.js'
import { summarizeFindings, verifyExtraFiles, verifyLayerFiles, type Finding } from './verify.js'
import { readWheel } from './wheels.js'
import type { LayerZip } from './zip/index.js'

/** What the build made, for the outputs, the job summary and the AWS half. */
export interface BuildReport {
  target: Target
  source: { kind: string; file: string; chosenFrom?: string }
  packages: LayerPackage[]
  excluded: Exclusion[]
  builtFromSdist: string[]
  /** Packages built from projects in the workspace. */
  local?: string[]
  /** Files the `files` input added, at their layer paths. */
  extraFiles?: ExtraFile[]
  /** Packages the runtime's glibc held back to an older version than the newest on the index. */
  heldBack: HeldBack[]
  slimmed: { files: number; bytes: number }
  findings: Finding[]
  verify: 'error' | 'warn' | 'off'
  importCheck: ImportCheckOutcome
  zip: LayerZip
}

/**
 * pip download → wheels read in place → prune and slim as filters over their entries → strip
 * → verify in memory, with the zip assembled from the wheels' compressed bytes beside it →
 * import check (from a tree written beside the zip, only when the check runs).
 */
export async function buildLayer(
  inputs: ActionInputs,
  source: DependencySource,
  workDir: string,
  { python, checkInterpreter }: BuildPreflight,
  extraFiles: ExtraFile[] = []
): Promise<BuildReport> {
  const siteDir = path.join(workDir, 'python')
  const indexes = pipIndexes(inputs, source.indexes)
  for (const line of indexes.log) core.info(line)
  // a lock already lists every package, evaluated for Lambda: pip must not re-resolve
  const noDeps = source.kind !== 'requirements' && source.kind !== 'pyproject'
  const pip = {
    // the interpreter the preflight found, by its own path (past a shim)
    python,
    target: inputs.target,
    requirementsFile: source.requirementsFile,
    siteDir,
    workDir,
    wheelDir: path.join(workDir, 'wheels'),
    indexUrl: indexes.indexUrl,
    extraIndexUrls: indexes.extraIndexUrls,
    namedIndexes: indexes.named,
    pipArgs: [...indexes.trustedHosts.flatMap(host => ['--trusted-host', host]), ...inputs.pipArgs],
    noDeps,
    requireHashes: source.hashed,
    locked: source.locked
  }
  const local = await buildLocalProjects(pip, source.localProjects ?? [], source.hashed)
  const downloaded = await installRequirements({
    ...pip,
    localRequirements: local.requirementsFile
  }).catch(error => {
    // the step fails once, with its error at the requirement's line when there is one
    if (error instanceof UnresolvableRequirement) {
      const parent = error.requiredBy ? source.origin(error.requiredBy) : undefined
      throw failureAt(error.message, source.origin(error.packageName) ?? parent)
    }
    if (error instanceof HashCheckFailed) {
      const message = hashMismatchMessage(source, error.mismatch)
      throw failureAt(message, source.origin(error.mismatch.name))
    }
    throw error
  })
  if (downloaded.heldBack.length > 0) {
    core.notice(heldBackNotice(downloaded.heldBack, inputs.target))
  }
  const chosen = await readChosenWheels(downloaded.wheels)
  // a RECORD is data whoever built the wheel wrote: the layer never reads what it names, but
  // a line pointing outside the layer is worth a warning, as it was when pip installed
  for (const { dist } of [...chosen].sort((a, b) =>
    compareText(a.dist.distInfo, b.dist.distInfo)
  )) {
    for (const listed of dist.recordPaths.filter(line => lexicalSitePath(line) === undefined)) {
      core.warning(
        `${dist.name} ${dist.version}: RECORD names ${listed}, outside the layer; ignored`
      )
    }
  }
  // what the project asked for; pip itself counts every line of the file it read (every pin
  // of a lock) as requested, and writes REQUESTED for those. A local project of a requirements
  // file is a line of it, whose name only its built wheel tells.
  const localLines = new Set(noDeps ? [] : local.wheels.map(built => built.name))
  const distributions: InstalledDistribution[] = chosen.map(({ wheel, dist }) => ({
    name: dist.name,
    version: dist.version,
    requested: source.directNames.includes(dist.name) || localLines.has(dist.name),
    requiresDist: dist.requiresDist,
    url: wheel.filename
  }))
  const layouts = await Promise.all(
    installOrder(chosen).map(async ({ wheel, dist }) => ({
      dist,
      files: await layoutWheel(wheel, dist, {
        pipRequested: noDeps || source.directNames.includes(dist.name),
        scripts: true
      })
    }))
  )
  const pruned = await pruneLayouts(layouts, distributions, {
    exclude: inputs.exclude,
    slim: inputs.slim
  })
  const merged = await mergeLayouts(pruned.layouts, message => core.warning(message))
  const stripped = inputs.strip
    ? await stripLayer(merged, inputs.target.architecture, path.join(workDir, 'strip'))
    : merged
  const files = await withRecords(
    stripped,
    pruned.layouts.map(layout => layout.dist)
  )
  const packages = layerPackages(files, pruned.layouts, distributions)
  core.info(`layer: ${files.length} files from ${chosen.length} wheels, assembled in place`)
  for (const warning of halfSetWarnings(packages)) core.warning(warning)
  for (const notice of pruned.notices) core.notice(notice)

  // the import check imports from a tree beside the zip; verification inflates every file
  // anyway, so it writes the tree as it goes. Without a check to run, no tree is written.
  const checkRuns = Boolean(checkInterpreter?.interpreter)
  const tree = layerTree(siteDir)
  if (checkRuns) await mkdir(siteDir, { recursive: true })
  const { runtime, architecture } = inputs.target
  const zipName = `${layerFileStem(inputs.layerName, runtime.name, architecture)}.zip`
  const verifies = inputs.verify !== 'off'
  // The zip is written while verification reads every file: the writer copies the wheels'
  // compressed bytes, verification inflates them and checks each CRC, and a wrong one fails
  // the build before the zip goes anywhere. Importing runs package code, which may write into
  // its own folder: it imports from a tree extracted beside the zip, never from the zip's
  // sources, and only once the zip is hashed.
  const [verified, zip, preparedCheck] = await settleAll([
    verifies
      ? verifyLayerFiles(
          files.map(file =>
            verifiableFile(file, {
              tree: checkRuns ? tree : undefined,
              spillDir: path.join(workDir, 'verify')
            })
          ),
          packages,
          inputs.target,
          {
            libraryFiles: layerLibraries(extraFiles),
            onWarning: (message, name) =>
              annotate('warning', message, name ? originOf(name, source, distributions) : undefined)
          }
        ).then(async findings => [
          ...findings,
          ...(await verifyExtraFiles(extraFiles, inputs.target))
        ])
      : Promise.resolve([]),
    writeAssembledZip(files, path.join(workDir, zipName), { extraFiles, checkedBeside: verifies }),
    prepareImportCheck(inputs, checkInterpreter, pruned.excluded, workDir)
  ])
  const findings: Finding[] = verified
  if (verifies)
    core.info(`verify: ${files.length} files read in memory, ${findings.length} findings`)
  annotateFindings(findings, inputs.verify, source, distributions)
  await (checkRuns && !verifies ? extractLayer(files, siteDir) : tree.written())
  core.info(`layer zip: ${zip.zipPath} (${zip.zipSize} bytes, CodeSha256 ${zip.codeSha256})`)
  const importCheck = await runImportCheck(inputs, preparedCheck, siteDir, packages)
  return {
    target: inputs.target,
    source: { kind: source.kind, file: source.file, chosenFrom: source.chosenFrom },
    packages,
    excluded: pruned.excluded,
    builtFromSdist: downloaded.builtFromSdist,
    local: local.wheels.map(w => w.name),
    extraFiles,
    heldBack: downloaded.heldBack,
    slimmed: pruned.slimmed,
    findings,
    verify: inputs.verify,
    importCheck,
    zip
  }
}

function failureAt(message: string, origin: Origin | undefined): Error {
  return origin
    ? new FailureAt(message, workspacePath(origin.file), origin.line)
    : new Error(message)
}

/** Held-back packages fit one notice (GitHub shows ten per step); the summary lists them all. */
const HELD_BACK_IN_NOTICE = 5

function heldBackNotice(heldBack: HeldBack[], target: Target): string {
  const more = heldBack.length - HELD_BACK_IN_NOTICE
  return [
    `the glibc of ${target.runtime.name} held back ${heldBack.length === 1 ? 'a package' : `${heldBack.length} packages`} to an older version than the newest on the index:`,
    ...heldBack.slice(0, HELD_BACK_IN_NOTICE).map(h => `  ${describeHeldBack(h, target)}`),
    ...(more > 0 ? [`  … and ${more} more in the job summary`] : [])
  ].join('\n')
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

async function readChosenWheels(wheelFiles: string[]): Promise<ChosenWheel[]> {
  return Promise.all(
    wheelFiles.map(async file => {
      const wheel = readWheel(file)
      return { wheel, dist: await readWheelDistribution(wheel) }
    })
  )
}

/** Each kept distribution with the files it has in the layer and their unpacked size. */
function layerPackages(
  files: LayerFile[],
  layouts: DistributionLayout[],
  distributions: InstalledDistribution[]
): LayerPackage[] {
  const requested = new Map(distributions.map(dist => [dist.name, dist.requested]))
  return layouts
    .map(({ dist }) => {
      const own = files.filter(file => file.owner === dist.name)
      return {
        name: dist.name,
        version: dist.version,
        requested: requested.get(dist.name) ?? false,
        files: own.map(file => file.path).sort(),
        bytes: own.reduce((sum, file) => sum + file.size, 0)
      }
    })
    .sort((a, b) => a.name.localeCompare(b.name))
}

async function stripLayer(
  files: LayerFile[],
  architecture: Architecture,
  scratchDir: string
): Promise<LayerFile[]> {
  const result = await stripLayerFiles(files, architecture, scratchDir)
  if (result.warning) core.warning(result.warning)
  else core.info(`strip: ${result.stripped} shared objects, ${result.savedBytes} bytes saved`)
  return result.files
}

/**
 * The gate: an empty layer, verification, import and size problems stop the step before
 * anything leaves the runner. Returns the message to fail with, or undefined when the layer
 * may ship.
 */
export function buildProblems(inputs: ActionInputs, report: BuildReport): string | undefined {
  const problems: string[] = []
  const empty = emptyLayer(report)
  if (empty && inputs.allowEmpty) core.warning(`${empty}; the layer is empty (allow-empty: true)`)
  else if (empty) {
    problems.push(
      `${empty}; the layer would be empty and functions moved onto it would lose their ` +
        'dependencies. Fix the requirements, or set allow-empty: true'
    )
  }
  if (inputs.verify === 'error' && report.findings.length > 0) {
    problems.push(
      `verification failed: the layer will not load on ${inputs.target.runtime.name} ${inputs.target.architecture}:\n` +
        summarizeFindings(report.findings)
          .map(line => `  ${line}`)
          .join('\n')
    )
  }
  if (inputs.verify === 'error' && report.importCheck.failures.length > 0) {
    problems.push(
      `import check failed:\n${report.importCheck.failures.map(f => `  ${f}`).join('\n')}`
    )
  }
  const size = checkSize(report.zip, report.packages, inputs)
  for (const notice of size.notices) core.notice(notice)
  problems.push(...size.errors)
  return problems.length > 0 ? problems.join('\n') : undefined
}

/** What gave a layer with no packages, named from what pip installed and what was left out. */
function emptyLayer(report: BuildReport): string | undefined {
  if (report.packages.length > 0) return undefined
  const { runtime, architecture } = report.target
  return `requirements: ${workspacePath(report.source.file)} gives no packages for ${runtime.name} ${architecture} (${emptyCause(report.excluded)})`
}

function emptyCause(excluded: readonly Exclusion[]): string {
  const byExclude = excluded.filter(e => !e.providedByRuntime).map(e => e.name)
  const byRuntime = excluded.filter(e => e.providedByRuntime).map(e => e.name)
  if (!excluded.length) return 'it lists no requirement, or every one is excluded by its marker'
  if (!byRuntime.length) return `exclude left out everything: ${byExclude.join(', ')}`
  if (!byExclude.length) return `the runtime ships all of it: ${byRuntime.join(', ')}`
  return `exclude left out ${byExclude.join(', ')} and the runtime ships the rest: ${byRuntime.join(', ')}`
}
