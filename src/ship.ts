import * as core from '@actions/core'
import path from 'node:path'
import { defaultClients, defaultRegion } from './aws.js'
import { deployLayer, deployOutputs, logDeploy, type DeployResult } from './deploy.js'
import { describeAwsError } from './errors.js'
import { ACTION_NAME, LIMITS } from './facts.js'
import type { ActionInputs } from './inputs.js'
import { placeFunctions } from './attach.js'
import { checkLayerRegion } from './publish.js'
import type { BuildReport } from './report.js'
import type { DependencySource } from './sources/index.js'

/**
 * Before the build: the regions to publish to and credentials that resolve, so a missing
 * AWS setup fails in seconds, not after pip.
 */
export async function preflight(inputs: ActionInputs): Promise<string[]> {
  const regions = inputs.regions.length > 0 ? inputs.regions : [await defaultRegion()]
  for (const region of regions) checkLayerRegion(inputs.layerName as string, region)
  const [unplaced] = placeFunctions(inputs.functions, regions).unplaced
  if (unplaced) throw new Error(`functions: ${unplaced.error}`)
  try {
    await defaultClients().lambda(regions[0]).config.credentials()
  } catch (error) {
    throw new Error(
      describeAwsError(error, { action: 'lambda:PublishLayerVersion', region: regions[0] })
    )
  }
  return regions
}

export async function publishAndAttach(
  inputs: ActionInputs,
  regions: string[],
  report: BuildReport,
  source: DependencySource
): Promise<DeployResult> {
  const result = await deployLayer({
    layerName: inputs.layerName as string,
    zipPath: report.zip.zipPath,
    description: inputs.description ?? defaultDescription(report, source),
    licenseInfo: inputs.licenseInfo,
    compatibleRuntimes: inputs.compatibleRuntimes,
    compatibleArchitectures: inputs.compatibleArchitectures,
    skipUnchanged: inputs.skipUnchanged,
    s3Bucket: inputs.s3Bucket,
    s3Prefix: inputs.s3Prefix,
    regions,
    functions: inputs.functions,
    shareWith: inputs.shareWith,
    keepVersions: inputs.keepVersions
  })
  for (const [name, value] of Object.entries(deployOutputs(result))) core.setOutput(name, value)
  logDeploy(result)
  return result
}

/** What the version was built from, so the console says where a layer came from. */
export function defaultDescription(
  report: BuildReport,
  source: Pick<DependencySource, 'file' | 'identity'>
): string {
  const text = `${path.basename(source.file)} (deps ${source.identity.slice(0, 12)}), ${report.packages.length} packages, ${report.target.runtime.name} ${report.target.architecture}, by ${ACTION_NAME}`
  return text.slice(0, LIMITS.descriptionMax)
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
