// Production moves only after the new layer proved itself: $LATEST takes the layer (attach.ts),
// a function version freezes exactly that, a smoke test invokes it, and only then does the
// alias move. A failed smoke test puts $LATEST's previous layer list back and leaves the alias.
import {
  CreateAliasCommand,
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionConfigurationCommand,
  type AliasConfiguration,
  type LambdaClient
} from '@aws-sdk/client-lambda'
import * as core from '@actions/core'
import { errorMessage } from '../errors.js'
import type { FunctionRef } from '../names.js'
import {
  attachToFunction,
  DEFAULT_WAITER,
  layerArns,
  readSettled,
  sameList,
  waitForUpdate,
  type AttachResult,
  type LayerFit,
  type WaiterTiming
} from './attach.js'
import { AwsCallError, awsCall, awsErrorName, describeAwsError } from './errors.js'

export interface SmokeResult {
  passed: boolean
  /** What was invoked: a version number, or $LATEST. */
  qualifier: string
  durationMs: number
  /** Lambda's errorType (Runtime.ImportModuleError, Sandbox.Timedout, the exception's class). */
  errorType?: string
  errorMessage?: string
}

export interface ReleaseResult {
  /** The function version published from $LATEST with the new layers. */
  version?: string
  alias?: {
    name: string
    /** The version it pointed at before; undefined when this run created it. */
    from?: string
    /** The version it points at now. */
    to?: string
    moved: boolean
  }
  smoke?: SmokeResult
  /** $LATEST's previous layer list was put back after a failed smoke test. */
  rolledBack?: boolean
}

export interface ReleaseOptions {
  region: string
  waiter?: WaiterTiming
  /** JSON text sent to the function; undefined: no smoke test. */
  smokePayload?: string
}

// Lambda gives init 10 s of its own; the rest covers the network. Past this the smoke test
// counts as timed out even when Lambda never answers.
const INVOKE_GRACE_SECONDS = 40

/**
 * The function's layers updated as attachToFunction does; then, with an alias, a version
 * published and checked to hold the layers asked for; a smoke test on it (or on $LATEST);
 * then the alias moved. Any failure after the update leaves the alias where it was.
 */
export async function releaseFunction(
  client: LambdaClient,
  ref: FunctionRef,
  layerVersionArn: string,
  fit: LayerFit,
  options: ReleaseOptions
): Promise<AttachResult> {
  const attached = await attachToFunction(client, ref.unqualified, layerVersionArn, fit, options)
  const result: AttachResult = { ...attached, function: ref.name }
  if (attached.status === 'failed' || (!ref.alias && options.smokePayload === undefined)) {
    return result
  }
  const release: ReleaseResult = {}
  result.release = release
  const fail = (error: string): AttachResult => ({ ...result, status: 'failed', error })
  try {
    let qualifier = '$LATEST'
    if (ref.alias) {
      release.alias = { name: ref.alias, moved: false }
      release.version = await publishVersion(client, ref.unqualified, attached.after, options)
      qualifier = release.version
    }
    if (options.smokePayload !== undefined) {
      const smoke = await smokeTest(client, ref.unqualified, qualifier, options)
      release.smoke = smoke
      if (!smoke.passed) {
        const why = `smoke test failed: ${smoke.errorType}: ${smoke.errorMessage}`
        if (attached.status === 'updated') {
          try {
            await restoreLayers(client, ref.unqualified, attached.before, attached.after, options)
          } catch (error) {
            return fail(
              `${why}. ${errorMessage(error)}` +
                (ref.alias ? ` Alias ${ref.alias} was not moved.` : '')
            )
          }
          release.rolledBack = true
          result.after = attached.before
          return fail(
            `${why}. Its previous layers are back` +
              (ref.alias ? `; alias ${ref.alias} was not moved.` : '.')
          )
        }
        return fail(
          `${why}. It already had these layers, so there was nothing to restore` +
            (ref.alias ? `; alias ${ref.alias} was not moved.` : '.')
        )
      }
    }
    if (ref.alias && release.version && release.alias) {
      Object.assign(
        release.alias,
        await pointAlias(client, ref.unqualified, ref.alias, release.version, options.region)
      )
    }
    return result
  } catch (error) {
    return fail(errorMessage(error))
  }
}

/**
 * PublishVersion guarded by the RevisionId and CodeSha256 of the $LATEST just checked to hold
 * `layers`; the version Lambda answers with is checked too, so an alias never moves to a
 * version with other layers (someone else's update between our read and the publish).
 */
async function publishVersion(
  client: LambdaClient,
  functionName: string,
  layers: readonly string[],
  options: ReleaseOptions
): Promise<string> {
  const { region } = options
  const config = await readSettled(client, functionName, region, options.waiter ?? DEFAULT_WAITER)
  if (!sameList(layerArns(config), layers)) {
    throw new Error(
      `its layers changed after the update (now ${listOf(layerArns(config))}), so no version was published and the alias was not moved.`
    )
  }
  const published = await awsCall(
    { action: 'lambda:PublishVersion', resource: `function ${functionName}`, region },
    () =>
      client.send(
        new PublishVersionCommand({
          FunctionName: functionName,
          RevisionId: config.RevisionId,
          CodeSha256: config.CodeSha256
        })
      )
  )
  const version = published.Version ?? ''
  const held = layerArns(published)
  if (!sameList(held, layers)) {
    throw new Error(
      `version ${version} holds ${listOf(held)}, not the layers asked for (${listOf(layers)}); the alias was not moved.`
    )
  }
  core.info(`${region}: ${functionName} version ${version} published`)
  return version
}

/** One RequestResponse invocation; a function error, an init error or no answer in time fails it. */
export async function smokeTest(
  client: LambdaClient,
  functionName: string,
  qualifier: string,
  options: ReleaseOptions
): Promise<SmokeResult> {
  const config = await awsCall(
    {
      action: 'lambda:GetFunctionConfiguration',
      resource: `function ${functionName}:${qualifier}`,
      region: options.region
    },
    () =>
      client.send(
        new GetFunctionConfigurationCommand({ FunctionName: functionName, Qualifier: qualifier })
      )
  )
  const limit = (config.Timeout ?? 900) + INVOKE_GRACE_SECONDS
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(), limit * 1000)
  const started = Date.now()
  const done = (passed: boolean, errorType?: string, message?: string): SmokeResult => ({
    passed,
    qualifier,
    durationMs: Date.now() - started,
    ...(errorType === undefined ? {} : { errorType, errorMessage: message ?? '' })
  })
  try {
    const out = await client.send(
      new InvokeCommand({
        FunctionName: functionName,
        Qualifier: qualifier,
        InvocationType: 'RequestResponse',
        Payload: Buffer.from(options.smokePayload ?? '{}')
      }),
      { abortSignal: abort.signal }
    )
    if (!out.FunctionError) return done(true)
    const document = parseErrorDocument(out.Payload)
    return done(false, document.errorType ?? out.FunctionError, document.errorMessage)
  } catch (error) {
    if (abort.signal.aborted) {
      return done(false, 'Timeout', `no answer within ${limit} s`)
    }
    throw new AwsCallError(
      describeAwsError(error, {
        action: 'lambda:InvokeFunction',
        resource: `function ${functionName}:${qualifier}`,
        region: options.region
      }),
      error
    )
  } finally {
    clearTimeout(timer)
  }
}

function parseErrorDocument(payload: Uint8Array | undefined): {
  errorType?: string
  errorMessage?: string
} {
  try {
    const parsed = JSON.parse(Buffer.from(payload ?? []).toString('utf8')) as unknown
    if (typeof parsed === 'object' && parsed !== null) {
      const { errorType, errorMessage } = parsed as Record<string, unknown>
      return {
        ...(typeof errorType === 'string' ? { errorType } : {}),
        ...(typeof errorMessage === 'string' ? { errorMessage } : {})
      }
    }
  } catch {
    // Not JSON: the type alone says enough.
  }
  return {}
}

/**
 * Puts `before` back, compare-and-set: only while the function still holds what this run set
 * (`ours`), each write guarded by the RevisionId just read and followed by the waiter. A lost
 * response, whose resend meets a 412, ends in a re-read that finds `before` in place.
 */
export async function restoreLayers(
  client: LambdaClient,
  functionName: string,
  before: readonly string[],
  ours: readonly string[],
  options: ReleaseOptions & { maxAttempts?: number }
): Promise<void> {
  const { region } = options
  const waiter = options.waiter ?? DEFAULT_WAITER
  const maxAttempts = options.maxAttempts ?? 4
  let lastError: unknown
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const config = await readSettled(client, functionName, region, waiter)
    const current = layerArns(config)
    if (sameList(current, before) && config.LastUpdateStatus !== 'Failed') {
      core.info(`${region}: ${functionName} is back on ${listOf(before)}`)
      return
    }
    if (!sameList(current, ours)) {
      throw new Error(
        `Its layers were changed by someone else after the update (now ${listOf(current)}), so they were not restored to ${listOf(before)}.`
      )
    }
    try {
      await client.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: functionName,
          Layers: [...before],
          RevisionId: config.RevisionId
        })
      )
      await waitForUpdate(client, functionName, region, waiter)
    } catch (error) {
      // 409/412, or no response at all: whether it took effect is read again above.
      lastError = error
      core.info(
        `${region}: restoring ${functionName}'s layers met ${awsErrorName(error) || errorMessage(error)}; reading it again`
      )
    }
  }
  throw new Error(
    `Its previous layers (${listOf(before)}) could not be restored: ` +
      describeAwsError(lastError, {
        action: 'lambda:UpdateFunctionConfiguration',
        resource: `function ${functionName}`,
        region
      })
  )
}

/**
 * The alias moved to `version` with UpdateAlias guarded by its RevisionId (created when it
 * does not exist yet). A lost response whose resend meets a 412 is read again.
 */
async function pointAlias(
  client: LambdaClient,
  functionName: string,
  alias: string,
  version: string,
  region: string
): Promise<NonNullable<ReleaseResult['alias']>> {
  const context = (action: string) => ({
    action,
    resource: `alias ${functionName}:${alias}`,
    region
  })
  let current: AliasConfiguration | undefined
  try {
    current = await client.send(new GetAliasCommand({ FunctionName: functionName, Name: alias }))
  } catch (error) {
    if (awsErrorName(error) !== 'ResourceNotFoundException') {
      throw new AwsCallError(describeAwsError(error, context('lambda:GetAlias')), error)
    }
  }
  if (!current) {
    await awsCall(context('lambda:CreateAlias'), () =>
      client.send(
        new CreateAliasCommand({
          FunctionName: functionName,
          Name: alias,
          FunctionVersion: version
        })
      )
    )
    core.info(`${region}: alias ${functionName}:${alias} created on version ${version}`)
    return { name: alias, to: version, moved: true }
  }
  const from = current.FunctionVersion
  if (from === version) return { name: alias, from, to: version, moved: false }
  try {
    await client.send(
      new UpdateAliasCommand({
        FunctionName: functionName,
        Name: alias,
        FunctionVersion: version,
        RevisionId: current.RevisionId
      })
    )
  } catch (error) {
    const now = await client
      .send(new GetAliasCommand({ FunctionName: functionName, Name: alias }))
      .catch(() => undefined)
    if (now?.FunctionVersion !== version) {
      throw new AwsCallError(describeAwsError(error, context('lambda:UpdateAlias')), error)
    }
  }
  core.info(`${region}: alias ${functionName}:${alias} moved from version ${from} to ${version}`)
  return { name: alias, from, to: version, moved: true }
}

function listOf(layers: readonly string[]): string {
  return layers.length ? layers.join(', ') : 'no layers'
}
