// Moves a function onto the new layer version without disturbing its other layers: the
// only write is one UpdateFunctionConfiguration carrying the whole planned list, guarded by
// the RevisionId just read, and it is followed by the SDK's waiter until Lambda settles.
import {
  GetFunctionConfigurationCommand,
  UpdateFunctionConfigurationCommand,
  waitForFunctionActive,
  waitForFunctionUpdated,
  type FunctionConfiguration,
  type LambdaClient
} from '@aws-sdk/client-lambda'
import * as core from '@actions/core'
import { AwsCallError, awsCall, awsErrorName, describeAwsError, isAccessDenied } from './errors.js'
import { errorMessage } from '../errors.js'
import { LIMITS } from '../facts.js'
import {
  EVERY_USER_OF_THE_LAYER,
  layerArnOf,
  parseFunctionRef,
  type FunctionRef
} from '../names.js'
import type { ReleaseResult } from './release.js'

export interface AttachResult {
  function: string
  region: string
  before: string[]
  after: string[]
  /** skipped: found by discovery but unfit for the layer (runtime or architecture), left alone. */
  status: 'updated' | 'unchanged' | 'failed' | 'skipped'
  error?: string
  /** The function's configuration could not be read, so `before` says nothing. */
  layersUnknown?: boolean
  /** Found through `functions: *` rather than named. */
  discovered?: boolean
  /** Version, alias and smoke test, when an alias or a smoke-test payload was given. */
  release?: ReleaseResult
}

/** What the layer was published for; a function outside it is refused. */
export interface LayerFit {
  runtimes: readonly string[]
  architectures: readonly string[]
}

/** Seconds, as the SDK's waiters take them. */
export interface WaiterTiming {
  maxWaitTime: number
  minDelay: number
  maxDelay: number
}

// Most updates settle in seconds; functions in a VPC can take minutes.
export const DEFAULT_WAITER: WaiterTiming = { maxWaitTime: 600, minDelay: 1, maxDelay: 15 }

export interface AttachOptions {
  region: string
  waiter?: WaiterTiming
  /** Bound on re-reading after a 409 or a stale RevisionId. */
  maxAttempts?: number
}

/**
 * The function's new layer list: the entry of the same layer (same ARN without the
 * version: a whole-name match, so `my-layer` never matches `my-layer-2`) is replaced in
 * place, keeping the order Lambda merges layers in; otherwise the layer is appended.
 */
export function planLayers(
  current: readonly string[],
  layerVersionArn: string,
  functionName = 'the function'
): string[] {
  const layer = layerArnOf(layerVersionArn)
  const index = current.findIndex(arn => layerArnOf(arn) === layer)
  const planned =
    index === -1
      ? [...current, layerVersionArn]
      : current
          .map((arn, i) => (i === index ? layerVersionArn : arn))
          .filter((arn, i) => i === index || layerArnOf(arn) !== layer)
  if (planned.length > LIMITS.layersPerFunction) {
    throw new Error(
      `${functionName} already has ${current.length} layers (${current.join(', ')}); adding ` +
        `${layer} would exceed Lambda's limit of ${LIMITS.layersPerFunction}. Remove a layer ` +
        'from the function (or merge two), then rerun.'
    )
  }
  return planned
}

export interface FunctionPlacement {
  byRegion: Map<string, string[]>
  /** ARNs whose region is not among the regions published to. */
  unplaced: AttachResult[]
}

/**
 * An ARN is attached only in its own region; a plain name in every published region. A
 * function named twice in a region (say by name and by ARN) is placed once, as first given,
 * so it is never updated twice at once.
 */
export function placeFunctions(
  functions: readonly string[],
  regions: readonly string[]
): FunctionPlacement {
  const byRegion = new Map(regions.map(region => [region, [] as string[]]))
  const placed = new Set<string>()
  const place = (region: string, ref: FunctionRef) => {
    const key = `${region}\n${ref.functionName}`
    if (placed.has(key)) return
    placed.add(key)
    byRegion.get(region)?.push(ref.name)
  }
  const unplaced: AttachResult[] = []
  for (const name of functions) {
    // discovery happens per region, once the layer's ARN is known (deploy.ts)
    if (name === EVERY_USER_OF_THE_LAYER) continue
    const ref = parseFunctionRef(name)
    if (!ref.region) {
      for (const region of byRegion.keys()) place(region, ref)
    } else if (byRegion.has(ref.region)) {
      place(ref.region, ref)
    } else {
      unplaced.push({
        function: name,
        region: ref.region,
        before: [],
        after: [],
        status: 'failed',
        error: `${name} is in ${ref.region}, which is not in regions (${regions.join(', ')}): add it there.`
      })
    }
  }
  return { byRegion, unplaced }
}

/** Refuses a function whose runtime or architecture the layer was not built for. */
export function checkFit(functionName: string, config: FunctionConfiguration, fit: LayerFit): void {
  if (config.PackageType === 'Image') {
    throw new Error(`${functionName} is a container image function; those cannot use layers.`)
  }
  const runtime = config.Runtime ?? 'unknown'
  const architecture = config.Architectures?.[0] ?? 'x86_64'
  if (!fit.runtimes.includes(runtime) || !fit.architectures.includes(architecture)) {
    throw new Error(
      `${functionName} runs ${runtime} on ${architecture}, but the layer is for ` +
        `${fit.runtimes.join('/')} on ${fit.architectures.join('/')}; it was not updated. ` +
        `Build a layer for ${runtime} on ${architecture}, or leave this function out of \`functions\`.`
    )
  }
}

export async function attachToFunction(
  client: LambdaClient,
  functionName: string,
  layerVersionArn: string,
  fit: LayerFit,
  options: AttachOptions
): Promise<AttachResult> {
  const { region } = options
  const waiter = options.waiter ?? DEFAULT_WAITER
  const maxAttempts = options.maxAttempts ?? 4
  let before: string[] | undefined
  // The list our last update replaced. Once one was sent, a read showing the planned list
  // means it took effect, though its response was lost and the SDK's resend met a 409 or 412.
  let replaced: string[] | undefined
  let planned: string[] = []
  const result = (status: AttachResult['status'], after: string[], error?: string) => ({
    function: functionName,
    region,
    before: before ?? [],
    after,
    status,
    ...(error === undefined ? {} : { error }),
    ...(before === undefined ? { layersUnknown: true } : {})
  })
  try {
    for (let attempt = 1; ; attempt++) {
      const config = await readSettled(client, functionName, region, waiter)
      const current = layerArns(config)
      before = replaced ?? current
      checkFit(functionName, config, fit)
      planned = planLayers(current, layerVersionArn, functionName)
      // After a failed update the list may read as planned without being in effect: resend it.
      const lastFailed = config.LastUpdateStatus === 'Failed'
      if (sameList(current, planned) && !lastFailed) {
        return result(replaced ? 'updated' : 'unchanged', planned)
      }
      before = current
      if (lastFailed) {
        const why = config.LastUpdateStatusReason ?? 'no reason given'
        core.info(
          `${region}: ${functionName}'s last update failed; sending its layers again. ${why}`
        )
      }

      replaced = current
      try {
        await client.send(
          new UpdateFunctionConfigurationCommand({
            FunctionName: functionName,
            Layers: planned,
            RevisionId: config.RevisionId
          })
        )
      } catch (error) {
        // 409: another update started since the read; 412: the function changed since the
        // read. Either way, read again (readSettled waits out an update) and replan.
        const name = awsErrorName(error)
        const retryable =
          name === 'ResourceConflictException' || name === 'PreconditionFailedException'
        if (retryable && attempt < maxAttempts) {
          core.info(`${region}: ${functionName} changed under us (${name}); reading it again`)
          continue
        }
        throw new AwsCallError(
          describeAwsError(error, {
            action: 'lambda:UpdateFunctionConfiguration',
            resource: `function ${functionName}`,
            region
          }),
          error
        )
      }
      const settled = await waitForUpdate(client, functionName, region, waiter)
      if (settled.LastUpdateStatus === 'Failed') {
        const why = settled.LastUpdateStatusReason ?? 'no reason given'
        throw new Error(`Lambda could not apply the new layers to ${functionName}: ${why}`)
      }
      const after = layerArns(settled)
      core.info(`${region}: ${functionName} now uses ${layerVersionArn}`)
      return result('updated', settled.Layers ? after : planned)
    }
  } catch (error) {
    // An update was sent and the last try met a 409 or 412: Lambda may have applied it all the
    // same (a lost response whose resend met the new RevisionId). Say what the function holds.
    const conflict = ['ResourceConflictException', 'PreconditionFailedException']
    if (
      replaced &&
      conflict.includes(awsErrorName(error)) &&
      (await holdsSettled(client, functionName, planned))
    ) {
      before = replaced
      return result('updated', planned)
    }
    return result('failed', before ?? [], errorMessage(error))
  }
}

/** True when the function's layers are `planned` and its last update did not fail. */
async function holdsSettled(
  client: LambdaClient,
  functionName: string,
  planned: readonly string[]
): Promise<boolean> {
  const config = await client
    .send(new GetFunctionConfigurationCommand({ FunctionName: functionName }))
    .catch(() => undefined)
  return (
    config !== undefined &&
    config.LastUpdateStatus === 'Successful' &&
    sameList(layerArns(config), planned)
  )
}

/** The function's layer version ARNs as Lambda holds them now. */
export async function readLayerArns(
  client: LambdaClient,
  functionName: string,
  region: string
): Promise<string[]> {
  const config = await awsCall(
    {
      action: 'lambda:GetFunctionConfiguration',
      resource: `function ${functionName}`,
      region
    },
    () => client.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }))
  )
  return layerArns(config)
}

export function layerArns(config: FunctionConfiguration): string[] {
  return (config.Layers ?? []).flatMap(layer => (layer.Arn ? [layer.Arn] : []))
}

/** The function's configuration once no creation or update is running on it. */
export async function readSettled(
  client: LambdaClient,
  functionName: string,
  region: string,
  waiter: WaiterTiming
): Promise<FunctionConfiguration> {
  const config = await awsCall(
    {
      action: 'lambda:GetFunctionConfiguration',
      resource: `function ${functionName}`,
      region
    },
    () => client.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }))
  )
  if (config.State === 'Pending') {
    core.info(`${region}: ${functionName} is still being created; waiting`)
    return waitUntilSettled(waitForFunctionActive, client, functionName, region, waiter)
  }
  if (config.LastUpdateStatus === 'InProgress') {
    // Someone else's update: wait it out rather than fail; whether it succeeded is theirs.
    core.info(`${region}: ${functionName} has an update in progress; waiting for it`)
    return waitForUpdate(client, functionName, region, waiter)
  }
  return config
}

/**
 * Waits with the SDK's waiter until LastUpdateStatus leaves InProgress. The FunctionUpdated
 * waiter polls GetFunctionConfiguration, which this action needs anyway; the V2 waiter would
 * also need lambda:GetFunction, which hands out a download URL for the function's code.
 */
export function waitForUpdate(
  client: LambdaClient,
  functionName: string,
  region: string,
  waiter: WaiterTiming
): Promise<FunctionConfiguration> {
  return waitUntilSettled(waitForFunctionUpdated, client, functionName, region, waiter)
}

/**
 * Runs one of the SDK's function waiters. They retry every error until maxWaitTime, so a
 * function deleted, or a permission lost, while waiting would look like a function that stays
 * busy; such an error aborts the waiter through its own abortSignal and is reported as is.
 */
async function waitUntilSettled(
  wait: typeof waitForFunctionUpdated,
  client: LambdaClient,
  functionName: string,
  region: string,
  waiter: WaiterTiming
): Promise<FunctionConfiguration> {
  const abort = new AbortController()
  let fatal: unknown
  const watched = {
    config: client.config,
    send: (command: GetFunctionConfigurationCommand) =>
      client.send(command).catch((error: unknown) => {
        if (awsErrorName(error) === 'ResourceNotFoundException' || isAccessDenied(error)) {
          fatal = error
          abort.abort()
        }
        throw error
      })
  } as unknown as LambdaClient
  const outcome = await wait(
    { client: watched, abortSignal: abort.signal, ...waiter },
    { FunctionName: functionName }
  )
  if (fatal !== undefined) {
    const context = {
      action: 'lambda:GetFunctionConfiguration',
      resource: `function ${functionName}`,
      region
    }
    throw new AwsCallError(describeAwsError(fatal, context), fatal)
  }
  return settledConfiguration(outcome, functionName, waiter)
}

/** The configuration a waiter ended on (Successful or Failed); a timeout throws. */
function settledConfiguration(
  outcome: WaiterResult,
  functionName: string,
  waiter: WaiterTiming
): FunctionConfiguration {
  const reason = outcome.reason as FunctionConfiguration | undefined
  if ((outcome.state === 'SUCCESS' || outcome.state === 'FAILURE') && reason) return reason
  const seen = Object.keys(outcome.observedResponses ?? {}).join('; ')
  throw new Error(
    `${functionName} was still busy after ${waiter.maxWaitTime} s ` +
      `(lambda:GetFunctionConfiguration answered: ${seen || 'nothing'}).`
  )
}

type WaiterResult = Awaited<ReturnType<typeof waitForFunctionUpdated>>

export function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i])
}
