import * as core from '@actions/core'
import { mkdtemp } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { annotate, annotateFindings } from './annotations.js'
import { defaultArtifactName, uploadLayerArtifact } from './artifact.js'
import { checkSize } from './size.js'
import { importCheckPython, runImportCheck, type ImportCheckPython } from './import-step.js'
import { readInputs, type ActionInputs } from './inputs.js'
import { normalizeRecords, readLayerPackages } from './packages.js'
import { checkIndexes } from './index-check.js'
import {
  checkPip,
  checkPipArgs,
  HashCheckFailed,
  installRequirements,
  UnresolvableRequirement
} from './pip.js'
import { prune } from './prune.js'
import { buildSummary, setBuildOutputs, writeSummary, type BuildReport } from './report.js'
import {
  hashMismatchMessage,
  readDependencySource,
  type DependencySource
} from './sources/index.js'
import { verifyLayer } from './verify.js'
import { stripSharedObjects } from './strip.js'
import type { Architecture } from './facts.js'
import type { LayerPackage } from './types.js'
import { writeLayerZip } from './zip.js'
import { errorMessage } from './errors.js'
import { layerBaseName } from './layer-name.js'

/**
 * inputs → source → install (pip) → prune → verify → zip → import check → size → report
 * → publish (per region) → attach → report. The one place that fails the step.
 */
export async function run(): Promise<void> {
  try {
    const inputs = readInputs()
    for (const secret of inputs.secrets) core.setSecret(secret)
    for (const warning of inputs.warnings) core.warning(warning)
    checkPipArgs(inputs.pipArgs)
    const workDir = await mkdtemp(
      path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'lambda-layer-')
    )
    const source = await readDependencySource(inputs.requirements, {
      target: inputs.target,
      extras: inputs.extras,
      groups: inputs.groups,
      workDir
    })
    await checkIndexes(inputs)
    await checkPip(inputs.python)
    const python = await importCheckPython(inputs)
    // the AWS SDK is loaded only when publishing: a build-only run never needs it
    const ship = inputs.publish ? await import('./ship.js') : undefined
    const regions = ship ? await ship.preflight(inputs) : []

    const report = await buildLayer(inputs, source, workDir, python)
    setBuildOutputs(report)
    await writeSummary(buildSummary(report))
    if (inputs.uploadArtifact) await uploadArtifact(inputs, report)
    failOnBuildProblems(inputs, report)

    if (!ship) {
      core.info('publish is false: built and verified only; no AWS call made')
      return
    }
    const deployment = await ship.publishAndAttach(inputs, regions, report, source)
    await writeSummary(ship.deploySummary(deployment))
    if (deployment.failures.length > 0) {
      throw new Error(
        `some of the work failed:\n${deployment.failures.map(f => `  ${f}`).join('\n')}`
      )
    }
  } catch (error) {
    core.setFailed(errorMessage(error))
  }
}

async function buildLayer(
  inputs: ActionInputs,
  source: DependencySource,
  workDir: string,
  python: ImportCheckPython
): Promise<BuildReport> {
  const siteDir = path.join(workDir, 'python')
  const pip = {
    python: inputs.python,
    target: inputs.target,
    requirementsFile: source.requirementsFile,
    siteDir,
    workDir,
    indexUrl: inputs.indexUrl,
    extraIndexUrls: inputs.extraIndexUrls,
    pipArgs: inputs.pipArgs,
    // a lock already lists every package, evaluated for Lambda: pip must not re-resolve
    noDeps: source.kind !== 'requirements' && source.kind !== 'pyproject',
    requireHashes: source.hashed,
    locked: source.locked
  }
  const installed = await installRequirements(pip).catch(error => {
    if (error instanceof UnresolvableRequirement) {
      const parent = error.requiredBy ? source.origin(error.requiredBy) : undefined
      annotate('error', error.message, source.origin(error.packageName) ?? parent)
    }
    if (error instanceof HashCheckFailed) {
      const message = hashMismatchMessage(source, error.mismatch)
      annotate('error', message, source.origin(error.mismatch.name))
      throw new Error(message)
    }
    throw error
  })
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
  if (pruned.packages.length === 0) {
    core.warning(
      `requirements: ${source.file} gives no packages for ${inputs.target.runtime.name} ${inputs.target.architecture}; the layer is empty`
    )
  }
  const packages = inputs.strip
    ? await stripLayer(siteDir, pruned.packages, inputs.target.architecture)
    : pruned.packages

  await normalizeRecords(siteDir)
  const findings =
    inputs.verify === 'off' ? [] : await verifyLayer(siteDir, packages, inputs.target)
  annotateFindings(findings, inputs.verify, source, distributions)

  const zipName = `${inputs.layerName ? layerBaseName(inputs.layerName) : 'layer'}-${inputs.target.runtime.name}-${inputs.target.architecture}.zip`
  // both only read the site folder (the check runs Python with -B), so they overlap
  const [zip, importCheck] = await Promise.all([
    writeLayerZip(siteDir, path.join(workDir, zipName), {
      onWarning: message => core.warning(message)
    }),
    runImportCheck(inputs, python, siteDir, packages, pruned.excluded, workDir)
  ])
  core.info(`layer zip: ${zip.zipPath} (${zip.zipSize} bytes, CodeSha256 ${zip.codeSha256})`)
  return {
    target: inputs.target,
    source: { kind: source.kind, file: source.file, chosenFrom: source.chosenFrom },
    packages,
    excluded: pruned.excluded,
    builtFromSdist: installed.builtFromSdist,
    slimmed: pruned.slimmed,
    findings,
    verify: inputs.verify,
    importCheck,
    zip
  }
}

/** The zip itself as a workflow artifact, also when verification failed: it helps to look inside. */
async function uploadArtifact(inputs: ActionInputs, report: BuildReport): Promise<void> {
  const name =
    inputs.artifactName ??
    defaultArtifactName(
      inputs.layerName && layerBaseName(inputs.layerName),
      inputs.target.runtime.name,
      inputs.target.architecture
    )
  const upload = await uploadLayerArtifact(report.zip.zipPath, name, inputs.artifactRetentionDays)
  if (upload.warning) core.warning(upload.warning)
  if (upload.id !== undefined) core.setOutput('artifact-id', String(upload.id))
  if (upload.url) core.setOutput('artifact-url', upload.url)
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

/** Verification and size problems stop the step before anything leaves the runner. */
function failOnBuildProblems(inputs: ActionInputs, report: BuildReport): void {
  const problems: string[] = []
  if (inputs.verify === 'error' && report.findings.length > 0) {
    problems.push(
      `verification failed: the layer will not load on ${inputs.target.runtime.name} ${inputs.target.architecture}:\n` +
        report.findings.map(f => `  ${f.message}`).join('\n')
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
  if (problems.length > 0) throw new Error(problems.join('\n'))
}
