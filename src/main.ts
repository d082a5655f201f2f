import * as core from '@actions/core'
import { mkdtemp } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { buildLayer, buildProblems, type BuildReport } from './builder/index.js'
import { preflightBuild } from './builder/preflight.js'
import { errorMessage, FailureAt } from './errors.js'
import { readInputs, type ActionInputs } from './inputs.js'
import { layerFileStem } from './names.js'
import { maskSecrets } from './secrets.js'
import { uploadLayerArtifact } from './report/artifact.js'
import { setArtifactOutputs, setBuildOutputs, setDeployOutputs } from './report/outputs.js'
import { buildSummary, deploySummary, failureSummary, writeSummary } from './report/summary.js'
import { readDependencySource } from './sources/index.js'

/**
 * inputs → source → preflight (build, then AWS) → build → outputs and summary → artifact →
 * gate → publish and attach (per region) → outputs and summary. The one place that fails the step.
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
    const source = await readDependencySource(inputs.requirements, {
      target: inputs.target,
      extras: inputs.extras,
      groups: inputs.groups,
      workDir,
      allowOutsideWorkspace: inputs.allowOutsideWorkspace
    })
    secrets.push(...(source.secrets ?? []))
    for (const secret of source.secrets ?? []) core.setSecret(secret)
    const checkInterpreter = await preflightBuild(inputs)
    // the AWS SDK is loaded only when publishing: a build-only run never needs it
    const aws = inputs.publish ? await import('./aws/index.js') : undefined
    const regions = aws ? await aws.preflight(inputs) : []

    const report = await buildLayer(inputs, source, workDir, checkInterpreter)
    setBuildOutputs(report)
    await writeSummary(buildSummary(report))
    if (inputs.uploadArtifact) await uploadArtifact(inputs, report)
    const problems = buildProblems(inputs, report)
    if (problems) throw new Error(problems)

    if (!aws) {
      core.info('publish is false: built and verified only; no AWS call made')
      return
    }
    const deployment = await aws.publishAndAttach(inputs, regions, report, source)
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

/** The zip itself as a workflow artifact, also when verification failed: it helps to look inside. */
async function uploadArtifact(inputs: ActionInputs, report: BuildReport): Promise<void> {
  const { runtime, architecture } = inputs.target
  const name = inputs.artifactName ?? layerFileStem(inputs.layerName, runtime.name, architecture)
  const upload = await uploadLayerArtifact(report.zip.zipPath, name, inputs.artifactRetentionDays)
  if (upload.warning) core.warning(upload.warning)
  setArtifactOutputs(upload)
}
