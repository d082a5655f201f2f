import * as core from '@actions/core'
import { mkdtemp } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { planExtraFiles } from './builder/extra-files.js'
import { buildLayer, buildProblems, type BuildReport } from './builder/index.js'
import { checkPrebuiltZip } from './builder/prebuilt.js'
import { preflightBuild } from './builder/preflight.js'
import { errorMessage, FailureAt } from './errors.js'
import { readInputs, type ActionInputs } from './inputs.js'
import { layerFileStem } from './names.js'
import { maskSecrets } from './secrets.js'
import { uploadLayerArtifact } from './report/artifact.js'
import {
  setArtifactOutputs,
  setBuildOutputs,
  setChangesOutputs,
  setDeployOutputs
} from './report/outputs.js'
import {
  buildSummary,
  changesSummary,
  deploySummary,
  failureSummary,
  packageSizeChart,
  writeSummary
} from './report/summary.js'
import { workspaceRoot } from './sources/common.js'
import { readDependencySource } from './sources/index.js'

/**
 * inputs → source → preflight (build, then AWS) → build → outputs and summary → artifact →
 * gate → compare with the published version (a plan stops here) → publish and attach (per
 * region) → outputs and summary. With layer-zip, the zip is checked and gated instead of the
 * source and build, before any AWS call. The one place that fails the step.
 */
export async function run(): Promise<void> {
  let inputs: ActionInputs | undefined
  // the runner masks these in the log, not in the job summary: the failure summary masks them
  const secrets: string[] = []
  try {
    inputs = readInputs()
    secrets.push(...inputs.secrets)
    for (const secret of inputs.secrets) core.setSecret(secret)
    for (const warning of inputs.warnings) core.warning(warning)
    const workDir = await mkdtemp(
      path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'lambda-layer-')
    )
    // a zip built elsewhere is checked before any AWS call, and nothing of it runs here
    const prebuilt = inputs.layerZip
      ? await checkPrebuiltZip(inputs.layerZip, inputs.target, inputs.verify)
      : undefined
    if (prebuilt) await reportAndGate(inputs, prebuilt)
    const source = prebuilt
      ? undefined
      : await readDependencySource(inputs.requirements, {
          target: inputs.target,
          extras: inputs.extras,
          groups: inputs.groups,
          workDir,
          allowOutsideWorkspace: inputs.allowOutsideWorkspace
        })
    secrets.push(...(source?.secrets ?? []))
    for (const secret of source?.secrets ?? []) core.setSecret(secret)
    const extraFiles = source ? await planExtraFiles(inputs.files, workspaceRoot()) : undefined
    for (const warning of extraFiles?.warnings ?? []) core.warning(warning)
    const preflight = source ? await preflightBuild(inputs) : undefined
    // the AWS SDK is loaded only when publishing or planning: a build-only run never needs it
    const aws = inputs.publish || inputs.plan ? await import('./aws/index.js') : undefined
    const regions = aws && inputs.publish ? await aws.preflight(inputs) : []
    const planAccess = aws && inputs.plan ? await aws.planPreflight(inputs) : undefined

    const report =
      prebuilt ?? (await buildLayer(inputs, source!, workDir, preflight!, extraFiles?.files ?? []))
    if (!prebuilt) await reportAndGate(inputs, report)

    if (!aws) {
      core.info('publish is false: built and verified only; no AWS call made')
      return
    }
    // read-only, before publishing: the newest version of the lineage is the one replaced
    const changes = await aws.compareWithPublished(
      inputs,
      planAccess ?? { regions },
      report,
      inputs.plan ? 'plan' : 'publish'
    )
    const changesMarkdown = changesSummary(changes)
    setChangesOutputs(changes, changesMarkdown)
    await writeSummary(changesMarkdown)
    if (inputs.plan) {
      core.info(changes.unavailable ?? 'publish is plan: compared only; nothing was published')
      return
    }
    const deployment = await aws.publishAndAttach(
      inputs,
      regions,
      report,
      source ?? { file: report.zip.zipPath, identity: report.zip.sha256Hex }
    )
    setDeployOutputs(deployment)
    await writeSummary(deploySummary(deployment))
    if (deployment.failures.length > 0) {
      throw new Error(
        `some of the work failed:\n${deployment.failures.map(f => `  ${f}`).join('\n')}`
      )
    }
  } catch (error) {
    const message = errorMessage(error)
    await writeSummary(failureSummary(maskSecrets(message, secrets), inputs)).catch(summaryError =>
      core.warning(`could not write the job summary: ${errorMessage(summaryError)}`)
    )
    if (error instanceof FailureAt) {
      // setFailed's annotation has no line: this one is the failure, at the line it is about
      core.error(message, { file: error.file, startLine: error.line })
      process.exitCode = core.ExitCode.Failure
    } else core.setFailed(message)
  }
}

/** Outputs, summary and artifact of the zip, then the gate: a layer with problems stops here. */
async function reportAndGate(inputs: ActionInputs, report: BuildReport): Promise<void> {
  setBuildOutputs(report)
  await writeSummary(buildSummary(report) + packageSizeChart(report.packages))
  if (inputs.uploadArtifact) await uploadArtifact(inputs, report)
  const problems = buildProblems(inputs, report)
  if (problems) throw new Error(problems)
}

/** The zip itself as a workflow artifact, also when verification failed: it helps to look inside. */
async function uploadArtifact(inputs: ActionInputs, report: BuildReport): Promise<void> {
  const { runtime, architecture } = inputs.target
  const name = inputs.artifactName ?? layerFileStem(inputs.layerName, runtime.name, architecture)
  const upload = await uploadLayerArtifact(report.zip.zipPath, name, inputs.artifactRetentionDays)
  if (upload.warning) core.warning(upload.warning)
  setArtifactOutputs(upload)
}
