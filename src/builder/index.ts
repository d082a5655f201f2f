// The build half: requirements in, a verified, reproducible layer zip out. pip resolves and
// installs for the Lambda target, then the tree is pruned, stripped, normalised, verified,
// zipped and, once the zip is final, import-checked. Nothing here talks to AWS or writes outputs.
import * as core from '@actions/core'
import path from 'node:path'
import type { Architecture, Target } from '../facts.js'
import type { ActionInputs } from '../inputs.js'
import { layerFileStem } from '../names.js'
import { workspacePath } from '../sources/common.js'
import { hashMismatchMessage, type DependencySource } from '../sources/index.js'
import { pipIndexes } from '../sources/indexes.js'
import { FailureAt } from '../errors.js'
import { annotate, annotateFindings, originOf, type Origin } from './annotations.js'
import { describeHeldBack, type HeldBack } from './candidates.js'
import {
  prepareImportCheck,
  runImportCheck,
  type ImportCheckInterpreter,
  type ImportCheckOutcome
} from './import-check.js'
import { layerLibraries, type ExtraFile } from './extra-files.js'
import { buildLocalProjects, forgetLocalWheelPaths } from './local.js'
import { HashCheckFailed, installRequirements, UnresolvableRequirement } from './pip.js'
import { prune, type Exclusion } from './prune.js'
import { normalizeRecords, readLayerPackages, type LayerPackage } from './site.js'
import { checkSize } from './size.js'
import { stripSharedObjects } from './strip.js'
import { summarizeFindings, verifyExtraFiles, verifyLayer, type Finding } from './verify.js'
import { writeLayerZip, type LayerZip } from './zip/index.js'

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

/** pip → prune → strip → normalise → verify → zip → import check. */
export async function buildLayer(
  inputs: ActionInputs,
  source: DependencySource,
  workDir: string,
  checkInterpreter: ImportCheckInterpreter,
  extraFiles: ExtraFile[] = []
): Promise<BuildReport> {
  const siteDir = path.join(workDir, 'python')
  const indexes = pipIndexes(inputs, source.indexes)
  for (const line of indexes.log) core.info(line)
  const pip = {
    python: inputs.python,
    target: inputs.target,
    requirementsFile: source.requirementsFile,
    siteDir,
    workDir,
    indexUrl: indexes.indexUrl,
    extraIndexUrls: indexes.extraIndexUrls,
    namedIndexes: indexes.named,
    pipArgs: [...indexes.trustedHosts.flatMap(host => ['--trusted-host', host]), ...inputs.pipArgs],
    // a lock already lists every package, evaluated for Lambda: pip must not re-resolve
    noDeps: source.kind !== 'requirements' && source.kind !== 'pyproject',
    requireHashes: source.hashed,
    locked: source.locked
  }
  const local = await buildLocalProjects(pip, source.localProjects ?? [], source.hashed)
  const installed = await installRequirements({
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
  await forgetLocalWheelPaths(siteDir, local.wheels)
  if (installed.heldBack.length > 0) {
    core.notice(heldBackNotice(installed.heldBack, inputs.target))
  }
  // pip counts every pin of a lock as requested; the lock knows what the project asked for
  const distributions = pip.noDeps
    ? installed.installed.map(d => ({ ...d, requested: source.directNames.includes(d.name) }))
    : installed.installed
  const pruned = await prune(
    siteDir,
    await readLayerPackages(siteDir, distributions),
    distributions,
    {
      exclude: inputs.exclude,
      slim: inputs.slim
    }
  )
  for (const warning of pruned.warnings) core.warning(warning)
  for (const notice of pruned.notices) core.notice(notice)
  const packages = inputs.strip
    ? await stripLayer(siteDir, pruned.packages, inputs.target.architecture)
    : pruned.packages

  await normalizeRecords(siteDir)
  const findings =
    inputs.verify === 'off'
      ? []
      : [
          ...(await verifyLayer(siteDir, packages, inputs.target, {
            libraryFiles: layerLibraries(extraFiles),
            onWarning: (message, name) =>
              annotate('warning', message, name ? originOf(name, source, distributions) : undefined)
          })),
          ...(await verifyExtraFiles(extraFiles, inputs.target))
        ]
  annotateFindings(findings, inputs.verify, source, distributions)

  const { runtime, architecture } = inputs.target
  const zipName = `${layerFileStem(inputs.layerName, runtime.name, architecture)}.zip`
  // Importing runs package code, which may write into its own folder: the check starts only
  // once the zip is written and hashed, so what ships is what was verified. Only its side
  // install of the runtime SDK, outside the layer, overlaps the zip.
  const [zip, preparedCheck] = await Promise.all([
    writeLayerZip(siteDir, path.join(workDir, zipName), {
      onWarning: message => core.warning(message),
      extraFiles
    }),
    prepareImportCheck(inputs, checkInterpreter, pruned.excluded, workDir)
  ])
  core.info(`layer zip: ${zip.zipPath} (${zip.zipSize} bytes, CodeSha256 ${zip.codeSha256})`)
  const importCheck = await runImportCheck(inputs, preparedCheck, siteDir, packages)
  return {
    target: inputs.target,
    source: { kind: source.kind, file: source.file, chosenFrom: source.chosenFrom },
    packages,
    excluded: pruned.excluded,
    builtFromSdist: installed.builtFromSdist,
    local: local.wheels.map(w => w.name),
    extraFiles,
    heldBack: installed.heldBack,
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

async function stripLayer(
  siteDir: string,
  packages: LayerPackage[],
  architecture: Architecture
): Promise<LayerPackage[]> {
  const result = await stripSharedObjects(siteDir, packages, architecture)
  if (result.warning) core.warning(result.warning)
  else core.info(`strip: ${result.stripped} shared objects, ${result.savedBytes} bytes saved`)
  return result.packages
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
