// The AWS half's one door. main.ts imports it lazily, only when publishing, so a build-only run
// never loads the AWS SDK.
import path from 'node:path'
import type { BuildReport } from '../builder/index.js'
import { ACTION_NAME, LIMITS } from '../facts.js'
import type { ActionInputs } from '../inputs.js'
import { checkLayerRegion, layerBaseName, ssmParameterNames } from '../names.js'
import type { DependencySource } from '../sources/index.js'
import { placeFunctions } from './attach.js'
import { defaultClients, defaultRegion } from './clients.js'
import { deployLayer, logDeploy, type DeployResult } from './deploy.js'
import { describeAwsError } from './errors.js'
import { errorMessage } from '../errors.js'
import { readLayerManifest, topLevelOwners } from '../builder/manifest.js'
import { fileZipSource } from '../builder/zip/read.js'
import type { ChangesReport } from '../changes.js'
import { compareRegion } from './previous.js'

/**
 * Before the build: the regions to publish to and credentials that resolve, so a missing
 * AWS setup fails in seconds, not after pip.
 */
export async function preflight(inputs: ActionInputs): Promise<string[]> {
  const regions = inputs.regions.length > 0 ? inputs.regions : [await defaultRegion()]
  for (const region of regions) checkLayerRegion(inputs.layerName as string, region)
  const [unplaced] = placeFunctions(inputs.functions, regions).unplaced
  if (unplaced) throw new Error(`functions: ${unplaced.error}`)
  if (inputs.ssmParameter) checkParameterNames(inputs, regions)
  try {
    await defaultClients().lambda(regions[0]).config.credentials()
  } catch (error) {
    throw new Error(
      describeAwsError(error, { action: 'lambda:PublishLayerVersion', region: regions[0] })
    )
  }
  return regions
}

/** Again with the regions now known (inputs.ts checked a typical one when none was given). */
function checkParameterNames(inputs: ActionInputs, regions: string[]): void {
  const { runtime, architecture } = inputs.target
  try {
    ssmParameterNames(
      inputs.ssmParameter as string,
      { runtime: runtime.name, architecture, layer: layerBaseName(inputs.layerName as string) },
      regions
    )
  } catch (error) {
    throw new Error(`ssm-parameter: ${errorMessage(error)}`)
  }
}

export async function publishAndAttach(
  inputs: ActionInputs,
  regions: string[],
  report: BuildReport,
  source: Pick<DependencySource, 'file' | 'identity'>
): Promise<DeployResult> {
  const result = await deployLayer({
    layerName: inputs.layerName as string,
    zip: report.zip,
    description: inputs.description ?? defaultDescription(report, source),
    licenseInfo: inputs.licenseInfo,
    target: report.target,
    compatibleRuntimes: inputs.compatibleRuntimes,
    compatibleArchitectures: inputs.compatibleArchitectures,
    skipUnchanged: inputs.skipUnchanged,
    s3Bucket: inputs.s3Bucket,
    s3Prefix: inputs.s3Prefix,
    regions,
    functions: inputs.functions,
    smokePayload: inputs.smokeTestPayload,
    shareWith: inputs.shareWith,
    keepVersions: inputs.keepVersions,
    ssmParameter: inputs.ssmParameter
  })
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

/** Where a plan can compare: the regions, or why it cannot read AWS at all. */
export type PlanAccess = { regions: string[] } | { unavailable: string }

/** The IAM actions a plan needs, and nothing more. */
export const PLAN_ACTIONS = [
  'lambda:ListLayerVersions',
  'lambda:GetLayerVersion',
  'lambda:GetFunctionConfiguration'
]

/**
 * A plan's preflight never fails the step: without credentials (a pull request from a fork)
 * the build and its checks still run, and the report says the comparison needs read access.
 */
export async function planPreflight(inputs: ActionInputs): Promise<PlanAccess> {
  try {
    const regions = inputs.regions.length > 0 ? inputs.regions : [await defaultRegion()]
    for (const region of regions) checkLayerRegion(inputs.layerName as string, region)
    await defaultClients().lambda(regions[0]).config.credentials()
    return { regions }
  } catch (error) {
    return {
      unavailable: `the comparison with the published version needs read access (${PLAN_ACTIONS.join(', ')}): ${errorMessage(error).split('\n')[0]}`
    }
  }
}

/**
 * The new zip against the newest version of its lineage in each region, and which version
 * each named function holds. Read-only; a region that cannot be read says why in its entry.
 */
export async function compareWithPublished(
  inputs: ActionInputs,
  access: PlanAccess,
  report: BuildReport,
  mode: ChangesReport['mode']
): Promise<ChangesReport> {
  const owners = topLevelOwners(report.packages)
  const zip = await fileZipSource(report.zip.zipPath)
  const after = await readLayerManifest(zip, owners).finally(() => zip.close())
  const layerName = inputs.layerName as string
  if ('unavailable' in access) {
    return { mode, layerName, after, regions: [], unavailable: access.unavailable }
  }
  const placement = placeFunctions(inputs.functions, access.regions)
  const lineage = {
    target: report.target,
    compatibleRuntimes: inputs.compatibleRuntimes,
    compatibleArchitectures: inputs.compatibleArchitectures
  }
  const regions = await Promise.all(
    access.regions.map(region =>
      compareRegion(defaultClients().lambda(region), region, {
        layerName,
        lineage,
        after,
        owners,
        functions: placement.byRegion.get(region) ?? []
      })
    )
  )
  return { mode, layerName, after, regions }
}
