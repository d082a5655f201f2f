// The AWS half of the action: in every region at once, publish (or reuse) the layer version,
// share it, move the named functions onto it, then prune old versions. A failure in one
// region or function is recorded and the rest carry on; the caller fails the step at the end.
import * as core from '@actions/core'
import { defaultClients, type AwsClients } from './clients.js'
import type { LambdaClient } from '@aws-sdk/client-lambda'
import { placeFunctions, readLayerArns, type AttachResult, type WaiterTiming } from './attach.js'
import { cleanupLayerVersions, type CleanupResult, type VersionUse } from './cleanup.js'
import { mapLimit } from '../concurrency.js'
import {
  EVERY_USER_OF_THE_LAYER,
  layerArnOf,
  layerVersionOf,
  parseFunctionRef,
  type ShareGrant
} from '../names.js'
import { discoverLayerUsers, type Discovered } from './discover.js'
import { releaseFunction } from './release.js'
import { isAccessDenied } from './errors.js'
import { errorMessage } from '../errors.js'
import { publishLayer, type LayerRequest, type PublishResult } from './publish.js'
import { parseShareWith, revokeStaleGrants, shareLayerVersion } from './share.js'
import { writeLayerParameter, type ParameterWrite } from './ssm.js'

export interface DeployPlan extends LayerRequest {
  regions: string[]
  /** Names or ARNs (optionally `:alias`), as given in the `functions` input; `*` discovers. */
  functions: string[]
  /** JSON sent to each updated function as a smoke test; undefined: none. */
  smokePayload?: string
  shareWith: string[]
  /** Keep the newest N versions; undefined or 0 deletes nothing. */
  keepVersions?: number
  /** SSM parameter (with placeholders) that receives the layer version ARN in each region. */
  ssmParameter?: string
}

export interface DeployOptions {
  clients?: AwsClients
  waiter?: WaiterTiming
  /** Functions updated at once within a region. */
  functionConcurrency?: number
}

export interface RegionResult {
  region: string
  layer?: PublishResult
  /** Statement ids granted on the version. */
  shared: string[]
  /** Statement ids of earlier runs' grants removed from a reused version. */
  revoked?: string[]
  functions: AttachResult[]
  cleanup?: CleanupResult
  /** The SSM parameter written with the layer version ARN (ssm-parameter). */
  parameter?: ParameterWrite
  /** Why publishing, sharing or cleanup failed in this region. */
  errors: string[]
}

export interface DeployResult {
  /** In the order of the plan's regions (the first is the outputs' region), then regions of
   * functions that could not be placed. */
  regions: RegionResult[]
  /** One line per failed region step or function, naming it; empty when all went well. */
  failures: string[]
}

export async function deployLayer(
  plan: DeployPlan,
  options: DeployOptions = {}
): Promise<DeployResult> {
  const clients = options.clients ?? defaultClients()
  const grants = parseShareWith(plan.shareWith)
  // A region given twice would publish twice and update its functions concurrently.
  const regionList = [...new Set(plan.regions)]
  const placement = placeFunctions(plan.functions, regionList)

  const settled = await Promise.allSettled(
    regionList.map(region =>
      deployRegion(region, placement.byRegion.get(region) ?? [], {
        plan,
        options,
        clients,
        grants
      })
    )
  )
  const regions = settled.map((outcome, i) =>
    outcome.status === 'fulfilled'
      ? outcome.value
      : {
          region: regionList[i],
          shared: [],
          functions: [],
          errors: [errorMessage(outcome.reason)]
        }
  )
  if (placement.unplaced.length) {
    regions.push(...groupUnplaced(placement.unplaced))
  }
  return { regions, failures: failuresOf(regions) }
}

interface RegionContext {
  plan: DeployPlan
  options: DeployOptions
  clients: AwsClients
  grants: ShareGrant[]
}

async function deployRegion(
  region: string,
  functions: string[],
  { plan, options, clients, grants }: RegionContext
): Promise<RegionResult> {
  const result: RegionResult = { region, shared: [], functions: [], errors: [] }
  const lambda = clients.lambda(region)
  try {
    result.layer = await publishLayer(clients, region, plan)
  } catch (error) {
    result.errors.push(`publish: ${errorMessage(error)}`)
    // Without a version there is nothing to attach; say so per function rather than hide them.
    result.functions = functions.map(name => ({
      function: name,
      region,
      before: [],
      after: [],
      status: 'failed',
      error: 'not attempted: the layer was not published in this region',
      layersUnknown: true
    }))
    return result
  }
  const layer = result.layer

  if (grants.length || !layer.published) {
    try {
      // On a reused version too: a rerun with a new share-with entry must still grant it.
      if (grants.length) {
        result.shared = await shareLayerVersion(
          lambda,
          region,
          plan.layerName,
          layer.version,
          grants
        )
      }
      // A new version starts with no policy; a reused one may carry grants share-with dropped.
      if (!layer.published) {
        result.revoked = await revokeStaleGrants(
          lambda,
          region,
          plan.layerName,
          layer.version,
          grants
        )
      }
    } catch (error) {
      // Without share-with the role may lack the policy actions; that must not fail the deploy.
      if (!grants.length && isAccessDenied(error)) {
        core.warning(
          `${region}: could not check ${layer.layerVersionArn} for grants of earlier runs to ` +
            `revoke: ${errorMessage(error)}`
        )
      } else {
        result.errors.push(`share-with: ${errorMessage(error)}`)
      }
    }
  }

  // After sharing, so an account that reads the ARN may already use it.
  if (plan.ssmParameter) {
    result.parameter = await writeLayerParameter(clients, region, plan.ssmParameter, plan, layer)
    if (result.parameter.error) result.errors.push(`ssm-parameter: ${result.parameter.error}`)
  }

  const fit = { runtimes: plan.compatibleRuntimes, architectures: plan.compatibleArchitectures }
  let discovered: Discovered = { fit: [], unfit: [] }
  if (plan.functions.includes(EVERY_USER_OF_THE_LAYER)) {
    const named = new Set(functions.map(name => parseFunctionRef(name).functionName))
    try {
      discovered = await discoverLayerUsers(lambda, region, layer.layerArn, fit, named)
    } catch (error) {
      result.errors.push(`functions: ${EVERY_USER_OF_THE_LAYER}: ${errorMessage(error)}`)
    }
  }
  const release = { region, waiter: options.waiter, smokePayload: plan.smokePayload }
  const updated = await mapLimit(
    [...functions, ...discovered.fit],
    options.functionConcurrency ?? 4,
    async name => {
      const outcome = await releaseFunction(
        lambda,
        parseFunctionRef(name),
        layer.layerVersionArn,
        fit,
        release
      )
      return discovered.fit.includes(name) ? { ...outcome, discovered: true } : outcome
    }
  )
  result.functions = [...updated, ...discovered.unfit]
  // what a delete must re-read: every function this run touched, as unqualified names
  const holders = [
    ...[...functions, ...discovered.fit].map(name => parseFunctionRef(name).unqualified),
    ...discovered.unfit.map(fn => fn.function)
  ]

  if (plan.keepVersions && plan.keepVersions > 0) {
    const concurrency = options.functionConcurrency ?? 4
    try {
      result.cleanup = await cleanupLayerVersions(lambda, region, plan.layerName, {
        keep: plan.keepVersions,
        current: layer.version,
        lineage: plan,
        ...versionUse(layer.layerArn, result.functions),
        useNow: () => readVersionUse(lambda, region, layer.layerArn, holders, concurrency)
      })
      if (result.cleanup.error) result.errors.push(`keep-versions: ${result.cleanup.error}`)
    } catch (error) {
      result.errors.push(`keep-versions: ${errorMessage(error)}`)
    }
  }
  return result
}

/**
 * Which versions of this layer the named functions hold after the attach step: the list
 * after the update, or before it when the update failed. A function never read leaves its
 * use unknown.
 */
export function versionUse(layerArn: string, functions: readonly AttachResult[]): VersionUse {
  return versionsHeld(
    layerArn,
    functions.map(fn => ({
      function: fn.function,
      layers: fn.layersUnknown ? undefined : fn.status === 'failed' ? fn.before : fn.after
    })),
    'could not be read'
  )
}

/** The named functions' use read again from Lambda, for the moment right before a delete. */
async function readVersionUse(
  lambda: LambdaClient,
  region: string,
  layerArn: string,
  functions: readonly string[],
  concurrency: number
): Promise<VersionUse> {
  const holders = await mapLimit(functions, concurrency, async name => {
    try {
      return { function: name, layers: await readLayerArns(lambda, name, region) }
    } catch (error) {
      core.info(`${region}: could not read ${name} again before deleting: ${errorMessage(error)}`)
      return { function: name }
    }
  })
  return versionsHeld(layerArn, holders, 'could not be read again before deleting')
}

/** Version → holders; `layers` undefined means that function's layers are unknown. */
function versionsHeld(
  layerArn: string,
  holders: ReadonlyArray<{ function: string; layers?: readonly string[] }>,
  unreadable: string
): VersionUse {
  const inUse = new Map<number, string[]>()
  const unknown = holders.filter(holder => !holder.layers).map(holder => holder.function)
  for (const holder of holders) {
    for (const arn of holder.layers ?? []) {
      const version = layerVersionOf(arn)
      if (layerArnOf(arn) !== layerArn || version === undefined) continue
      inUse.set(version, [...(inUse.get(version) ?? []), holder.function])
    }
  }
  if (!unknown.length) return { inUse }
  return {
    inUse,
    unknownUse: `not deleted: the layers of ${unknown.join(', ')} ${unreadable}, so this version may be in use`
  }
}

function groupUnplaced(unplaced: AttachResult[]): RegionResult[] {
  const byRegion = new Map<string, AttachResult[]>()
  for (const fn of unplaced) byRegion.set(fn.region, [...(byRegion.get(fn.region) ?? []), fn])
  return [...byRegion].map(([region, functions]) => ({ region, shared: [], functions, errors: [] }))
}

export function failuresOf(regions: readonly RegionResult[]): string[] {
  return regions.flatMap(region => [
    ...region.errors.map(error => `${region.region}: ${error}`),
    // When publishing failed, the region's error already explains every skipped function.
    ...region.functions
      .filter(fn => fn.status === 'failed' && (region.layer || !region.errors.length))
      .map(fn => `${fn.function} (${fn.region}): ${fn.error ?? 'failed'}`)
  ])
}

/** The version, alias and smoke test of one function, for the log line. */
function releaseNote(fn: AttachResult): string {
  const release = fn.release
  if (!release) return ''
  const notes = [
    ...(release.version ? [`version ${release.version}`] : []),
    ...(release.alias
      ? [
          `alias ${release.alias.name} ${release.alias.moved ? `now on ${release.alias.to ?? ''}` : 'not moved'}`
        ]
      : []),
    ...(release.smoke
      ? [
          `smoke test ${release.smoke.passed ? 'passed' : 'failed'} in ${release.smoke.durationMs} ms`
        ]
      : []),
    ...(release.rolledBack ? ['previous layers restored'] : [])
  ]
  return notes.length ? ` (${notes.join(', ')})` : ''
}

/** Logs the per-region outcome; main.ts writes the job summary from the same result. */
export function logDeploy(result: DeployResult): void {
  for (const region of result.regions) {
    const layer = region.layer
    if (layer) {
      core.info(
        `${region.region}: ${layer.layerVersionArn} (${layer.published ? 'published' : 'unchanged, reused'})`
      )
    }
    if (region.parameter?.version !== undefined) {
      core.info(
        `${region.region}: SSM parameter ${region.parameter.name} is version ${region.parameter.version}`
      )
    }
    for (const fn of region.functions) {
      if (fn.status === 'skipped') {
        core.warning(
          `${region.region}: ${fn.function} uses this layer but was left alone: ${fn.error ?? ''}`
        )
        continue
      }
      core.info(`${region.region}: ${fn.function} ${fn.status}${releaseNote(fn)}`)
    }
    if (region.cleanup?.deleted.length) {
      core.info(`${region.region}: deleted versions ${region.cleanup.deleted.join(', ')}`)
    }
  }
}
