// Functions: created in-process by tests and the demo, read and updated over the API
// (GetFunction, GetFunctionConfiguration, UpdateFunctionConfiguration).
import { createHash, randomUUID } from 'node:crypto'
import { LIMITS, type Architecture } from '../src/facts.js'
import {
  invalidParameter,
  preconditionFailed,
  resourceConflict,
  resourceNotFound,
  updateInProgress,
  validationError,
  violation
} from './errors.js'
import { lambdaTimestamp, type Reply } from './http.js'
import { findVersion, KNOWN_RUNTIMES } from './layers.js'
import {
  enumValue,
  integerField,
  jsonBody,
  lengthAndPattern,
  maxLength,
  modelPattern,
  stringField,
  stringListField,
  type JsonObject,
  type LambdaRequest
} from './request.js'
import type { EmulatorState, FunctionState } from './state.js'

export interface NewFunction {
  name: string
  /** Default us-east-1. */
  region?: string
  runtime: string
  architecture?: Architecture
  /** Layer version ARNs in merge order. */
  layers?: string[]
  /** The function's own code size, counted unzipped against the 250 MB limit. Default 1 KiB. */
  codeSize?: number
  /** State reads Pending for this long after creation, as for a function still being created. */
  pendingMs?: number
}

const FUNCTION_NAME = /^[a-zA-Z0-9-_]{1,64}$/
const FUNCTION_ARN =
  /^arn:[a-zA-Z0-9-]+:lambda:([a-zA-Z0-9-]+):(\d{12}):function:([^:]+)(?::(.+))?$/
const PARTIAL_ARN = /^(\d{12}):function:([^:]+)(?::(.+))?$/
const FUNCTION_NAME_PARAM = modelPattern(
  '(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:)?' +
    '(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?'
)
// Lambda's current model pattern for an entry of `Layers`.
const LAYER_VERSION_ARN = modelPattern(
  '(arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:layer:' +
    '[a-zA-Z0-9-_]+:[0-9]+)|(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+)'
)
const FAILED_UPDATE_REASON =
  'The function could not be updated (a failure the emulator was told to play).'
const LAYER_ARN_PARTS = /^arn:[a-zA-Z0-9-]+:lambda:([a-zA-Z0-9-]*):(\d{12})?:(?:layer|awslayer):/

export function createFunctionState(state: EmulatorState, fn: NewFunction): FunctionState {
  const region = fn.region ?? 'us-east-1'
  if (!FUNCTION_NAME.test(fn.name)) {
    throw new Error(`Function name "${fn.name}" must be 1-64 characters of a-z, A-Z, 0-9, - and _`)
  }
  const functions = state.region(region).functions
  if (functions.has(fn.name)) throw new Error(`Function ${fn.name} already exists in ${region}`)
  const created: FunctionState = {
    name: fn.name,
    region,
    arn: state.functionArn(region, fn.name),
    runtime: fn.runtime,
    architecture: fn.architecture ?? 'x86_64',
    layers: [...(fn.layers ?? [])],
    codeSize: fn.codeSize ?? 1024,
    revisionId: randomUUID(),
    lastModified: lambdaTimestamp(),
    role: `arn:aws:iam::${state.accountId}:role/${fn.name}-role`,
    handler: 'app.handler',
    description: '',
    timeout: 3,
    memorySize: 128,
    updateInProgressUntil: 0,
    pendingUntil: Date.now() + (fn.pendingMs ?? 0),
    get state() {
      return Date.now() < this.pendingUntil ? 'Pending' : 'Active'
    },
    get lastUpdateStatus() {
      if (Date.now() < this.updateInProgressUntil) return 'InProgress'
      return this.updateFailure === undefined ? 'Successful' : 'Failed'
    }
  }
  functions.set(fn.name, created)
  return created
}

/** The bare function name in a FunctionName path label (name, partial or full ARN). */
export function functionNameOf(raw: string): string {
  return FUNCTION_ARN.exec(raw)?.[3] ?? PARTIAL_ARN.exec(raw)?.[2] ?? raw.split(':')[0] ?? raw
}

export function getFunction(req: LambdaRequest): Reply {
  const fn = targetFunction(req)
  return {
    status: 200,
    json: {
      Configuration: functionConfiguration(req, fn),
      Code: {
        RepositoryType: 'S3',
        Location: `https://awslambda-${fn.region}-tasks.s3.${fn.region}.amazonaws.com/snapshots/${req.state.accountId}/${fn.name}-${fn.revisionId}`
      }
    }
  }
}

export function getFunctionConfiguration(req: LambdaRequest): Reply {
  return { status: 200, json: functionConfiguration(req, targetFunction(req)) }
}

export function updateFunctionConfiguration(req: LambdaRequest): Reply {
  const fn = targetFunction(req)
  const input = jsonBody(req.body)
  const revisionId = stringField(input, 'RevisionId')
  const layers = stringListField(input, 'Layers')
  const runtime = stringField(input, 'Runtime')
  const description = stringField(input, 'Description')
  const handler = stringField(input, 'Handler')
  const timeout = integerField(input, 'Timeout')
  const memorySize = integerField(input, 'MemorySize')
  const violations = [
    ...layerListViolations(layers),
    ...enumValue(runtime, 'runtime', KNOWN_RUNTIMES),
    ...maxLength(description, 'description', 256),
    ...maxLength(handler, 'handler', 128),
    ...rangeViolations(timeout, 'timeout', 1, 900),
    ...rangeViolations(memorySize, 'memorySize', 128, 10_240)
  ]
  if (violations.length > 0) throw validationError(violations)
  if (fn.state === 'Pending') {
    throw resourceConflict(
      'The operation cannot be performed at this time. The function is currently in the following state: Pending'
    )
  }
  if (fn.lastUpdateStatus === 'InProgress') throw updateInProgress(fn.arn)
  if (revisionId !== undefined && revisionId !== fn.revisionId) throw preconditionFailed()
  if (layers !== undefined) checkLayers(req, fn, layers)

  if (layers !== undefined) fn.layers = [...layers]
  if (runtime !== undefined) fn.runtime = runtime
  if (description !== undefined) fn.description = description
  if (handler !== undefined) fn.handler = handler
  if (timeout !== undefined) fn.timeout = timeout
  if (memorySize !== undefined) fn.memorySize = memorySize
  fn.revisionId = randomUUID()
  fn.lastModified = lambdaTimestamp()
  fn.updateInProgressUntil = Date.now() + req.state.updateDurationMs
  fn.updateFailure = req.state.failingUpdates.delete(fn) ? FAILED_UPDATE_REASON : undefined
  return { status: 200, json: functionConfiguration(req, fn) }
}

/**
 * The rules Lambda applies to a new layer list: at most 5, one version per layer, each one
 * existing in the function's region, and the function plus its layers within 250 MB unzipped.
 * A layer of another account cannot be looked up here, so it passes only if the function
 * already uses it.
 */
function checkLayers(req: LambdaRequest, fn: FunctionState, layers: string[]): void {
  if (layers.length > LIMITS.layersPerFunction) {
    throw invalidParameter(`Cannot reference more than ${LIMITS.layersPerFunction} layers.`)
  }
  const seen = new Map<string, string>()
  for (const arn of layers) {
    const layerArn = arn.slice(0, arn.lastIndexOf(':'))
    const earlier = seen.get(layerArn)
    if (earlier !== undefined) {
      throw invalidParameter(
        'Two different versions of the same layer are not allowed to be referenced in the ' +
          `same function. ${earlier} and ${arn} are versions of the same layer.`
      )
    }
    seen.set(layerArn, arn)
  }
  let total = fn.codeSize
  for (const arn of layers) {
    const [, region, account] = LAYER_ARN_PARTS.exec(arn) ?? []
    const layerArn = arn.slice(0, arn.lastIndexOf(':'))
    const version = Number(arn.slice(arn.lastIndexOf(':') + 1))
    if (account === req.state.accountId && region === fn.region) {
      const found = findVersion({ state: req.state, region: fn.region }, layerArn, version)
      if (!found) throw invalidParameter(`Layer version ${arn} does not exist.`)
      total += found.unzippedSize
    } else if (account === req.state.accountId || !fn.layers.includes(arn)) {
      throw invalidParameter(`Layer version ${arn} does not exist.`)
    }
  }
  if (total > LIMITS.unzippedBytes) {
    throw invalidParameter(
      `Function code combined with layers exceeds the maximum allowed size of ${LIMITS.unzippedBytes} bytes. ` +
        `The actual size is ${total} bytes.`
    )
  }
}

function layerListViolations(layers: string[] | undefined): string[] {
  if (layers === undefined) return []
  const broken = layers.some(
    arn => lengthAndPattern(arn, 'layers.member', 1, 2048, LAYER_VERSION_ARN).length > 0
  )
  if (!broken) return []
  return [
    violation(
      layers,
      'layers',
      'Member must satisfy constraint: [Member must have length less than or equal to 2048, ' +
        'Member must have length greater than or equal to 1, ' +
        `Member must satisfy regular expression pattern: ${LAYER_VERSION_ARN.text}, ` +
        'Member must not be null]'
    )
  ]
}

function rangeViolations(value: number | undefined, member: string, min: number, max: number) {
  if (value === undefined) return []
  if (value < min) {
    return [violation(value, member, `Member must have value greater than or equal to ${min}`)]
  }
  if (value > max) {
    return [violation(value, member, `Member must have value less than or equal to ${max}`)]
  }
  return []
}

/** The function a FunctionName path label (plus an optional Qualifier) points at. */
function targetFunction(req: LambdaRequest): FunctionState {
  const raw = req.params.FunctionName ?? ''
  const violations = lengthAndPattern(raw, 'functionName', 1, 170, FUNCTION_NAME_PARAM)
  if (violations.length > 0) throw validationError(violations)
  const arn = FUNCTION_ARN.exec(raw)
  const partial = PARTIAL_ARN.exec(raw)
  const [name, qualifier] = arn
    ? [arn[3], arn[4]]
    : partial
      ? [partial[2], partial[3]]
      : raw.split(':')
  const qualified = qualifier ?? req.query.get('Qualifier') ?? undefined
  const notFound = () =>
    resourceNotFound(
      `Function not found: ${req.state.functionArn(req.region, name ?? raw)}` +
        (qualified ? `:${qualified}` : '')
    )
  if (arn && (arn[1] !== req.region || arn[2] !== req.state.accountId)) throw notFound()
  if (partial && partial[1] !== req.state.accountId) throw notFound()
  // Only $LATEST exists: the emulator does not publish function versions.
  if (qualified !== undefined && qualified !== '$LATEST') throw notFound()
  const fn = req.state.region(req.region).functions.get(name ?? '')
  if (!fn) throw notFound()
  return fn
}

function functionConfiguration(req: LambdaRequest, fn: FunctionState): JsonObject {
  const status = fn.lastUpdateStatus
  return {
    FunctionName: fn.name,
    FunctionArn: fn.arn,
    Runtime: fn.runtime,
    Role: fn.role,
    Handler: fn.handler,
    CodeSize: fn.codeSize,
    Description: fn.description,
    Timeout: fn.timeout,
    MemorySize: fn.memorySize,
    LastModified: fn.lastModified,
    CodeSha256: createHash('sha256').update(fn.arn).digest('base64'),
    Version: '$LATEST',
    TracingConfig: { Mode: 'PassThrough' },
    RevisionId: fn.revisionId,
    ...(fn.layers.length > 0
      ? {
          Layers: fn.layers.map(arn => ({
            Arn: arn,
            CodeSize: layerCodeSize(req, fn, arn)
          }))
        }
      : {}),
    State: fn.state,
    ...(fn.state === 'Pending'
      ? { StateReason: 'The function is being created.', StateReasonCode: 'Creating' }
      : {}),
    LastUpdateStatus: status,
    ...(status === 'InProgress'
      ? { LastUpdateStatusReason: 'The function is being updated.' }
      : {}),
    ...(status === 'Failed'
      ? { LastUpdateStatusReason: fn.updateFailure, LastUpdateStatusReasonCode: 'InternalError' }
      : {}),
    PackageType: 'Zip',
    Architectures: [fn.architecture],
    EphemeralStorage: { Size: 512 },
    SnapStart: { ApplyOn: 'None', OptimizationStatus: 'Off' },
    LoggingConfig: { LogFormat: 'Text', LogGroup: `/aws/lambda/${fn.name}` }
  }
}

/** A layer's zipped size, or 0 for a layer the emulator does not hold (another account's). */
function layerCodeSize(req: LambdaRequest, fn: FunctionState, arn: string): number {
  const separator = arn.lastIndexOf(':')
  const version = Number(arn.slice(separator + 1))
  const found = findVersion(
    { state: req.state, region: fn.region },
    arn.slice(0, separator),
    version
  )
  return found?.codeSize ?? 0
}
