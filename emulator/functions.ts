// Functions: created in-process by tests and the demo, read, updated, listed, published as
// versions, aliased and invoked over the API (GetFunction, GetFunctionConfiguration,
// UpdateFunctionConfiguration, ListFunctions, PublishVersion, Create/Get/UpdateAlias, Invoke).
import { createHash, randomUUID } from 'node:crypto'
import { LIMITS, type Architecture } from '../src/facts.js'
import {
  invalidParameter,
  invalidRequestContent,
  preconditionFailed,
  resourceConflict,
  resourceNotFound,
  updateInProgress,
  validationError,
  violation
} from './errors.js'
import { lambdaTimestamp, type Reply } from './http.js'
import { invokeHandler } from './invoke.js'
import { findVersion, KNOWN_RUNTIMES } from './layers.js'
import {
  enumValue,
  integerField,
  integerRange,
  jsonBody,
  lengthAndPattern,
  maxLength,
  modelPattern,
  stringField,
  stringListField,
  type JsonObject,
  type LambdaRequest
} from './request.js'
import type { AliasState, EmulatorState, FunctionState, FunctionVersionState } from './state.js'

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
  /** The function's files (path → text) that Invoke runs. Default: app.py echoing its event. */
  code?: Record<string, string>
  /** Default app.handler. */
  handler?: string
  /** Seconds an invocation may run. Default 3, as Lambda's. */
  timeout?: number
}

/** The code of a function created without any: it answers with the event it was given. */
export const ECHO_CODE: Record<string, string> = {
  'app.py': 'def handler(event, context):\n    return event\n'
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
  const code = fn.code ?? ECHO_CODE
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
    handler: fn.handler ?? 'app.handler',
    description: '',
    timeout: fn.timeout ?? 3,
    memorySize: 128,
    updateInProgressUntil: 0,
    pendingUntil: Date.now() + (fn.pendingMs ?? 0),
    code,
    codeSha256: codeSha256(code),
    versions: new Map(),
    aliases: new Map(),
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
  const { fn, version } = targetFunction(req, false)
  return {
    status: 200,
    json: {
      Configuration: functionConfiguration(req, fn, version),
      Code: {
        RepositoryType: 'S3',
        Location: `https://awslambda-${fn.region}-tasks.s3.${fn.region}.amazonaws.com/snapshots/${req.state.accountId}/${fn.name}-${fn.revisionId}`
      }
    }
  }
}

export function getFunctionConfiguration(req: LambdaRequest): Reply {
  const { fn, version } = targetFunction(req, false)
  return { status: 200, json: functionConfiguration(req, fn, version) }
}

export function updateFunctionConfiguration(req: LambdaRequest): Reply {
  const { fn } = targetFunction(req)
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

interface Target {
  fn: FunctionState
  /** The published version asked for (by number or through an alias); undefined: $LATEST. */
  version?: FunctionVersionState
}

/**
 * The function a FunctionName path label (plus an optional Qualifier) points at. Operations
 * that act on the unpublished function only (`latestOnly`) find nothing behind another
 * qualifier, as Lambda answers them.
 */
function targetFunction(req: LambdaRequest, latestOnly = true): Target {
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
  const fn = req.state.region(req.region).functions.get(name ?? '')
  if (!fn) throw notFound()
  if (qualified === undefined || qualified === '$LATEST') return { fn }
  if (latestOnly) throw notFound()
  const version = resolveQualifier(fn, qualified)
  if (version === undefined) throw notFound()
  return version === '$LATEST' ? { fn } : { fn, version }
}

/** A version number or an alias, as the version it stands for. */
function resolveQualifier(
  fn: FunctionState,
  qualifier: string
): FunctionVersionState | '$LATEST' | undefined {
  if (/^\d+$/.test(qualifier)) return fn.versions.get(Number(qualifier))
  const alias = fn.aliases.get(qualifier)
  if (!alias) return undefined
  return alias.functionVersion === '$LATEST'
    ? '$LATEST'
    : fn.versions.get(Number(alias.functionVersion))
}

function functionConfiguration(
  req: LambdaRequest,
  fn: FunctionState,
  version?: FunctionVersionState
): JsonObject {
  const status = version ? 'Successful' : fn.lastUpdateStatus
  const view = version ?? fn
  return {
    FunctionName: fn.name,
    FunctionArn: version ? `${fn.arn}:${version.version}` : fn.arn,
    Runtime: view.runtime,
    Role: fn.role,
    Handler: view.handler,
    CodeSize: fn.codeSize,
    Description: view.description,
    Timeout: view.timeout,
    MemorySize: view.memorySize,
    LastModified: view.lastModified,
    CodeSha256: view.codeSha256,
    Version: version?.version ?? '$LATEST',
    TracingConfig: { Mode: 'PassThrough' },
    RevisionId: view.revisionId,
    ...(view.layers.length > 0
      ? {
          Layers: view.layers.map(arn => ({
            Arn: arn,
            CodeSize: layerCodeSize(req, fn, arn)
          }))
        }
      : {}),
    State: version ? 'Active' : fn.state,
    ...(!version && fn.state === 'Pending'
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
    Architectures: [view.architecture],
    EphemeralStorage: { Size: 512 },
    SnapStart: { ApplyOn: 'None', OptimizationStatus: 'Off' },
    LoggingConfig: { LogFormat: 'Text', LogGroup: `/aws/lambda/${fn.name}` }
  }
}

function codeSha256(code: Record<string, string>): string {
  const hash = createHash('sha256')
  for (const [file, text] of Object.entries(code).sort(([a], [b]) => a.localeCompare(b))) {
    hash.update(`${file}\0${text}\0`)
  }
  return hash.digest('base64')
}

/** $LATEST's configuration as PublishVersion freezes it. */
function snapshot(fn: FunctionState, version: string): FunctionVersionState {
  return {
    version,
    runtime: fn.runtime,
    architecture: fn.architecture,
    layers: [...fn.layers],
    handler: fn.handler,
    description: fn.description,
    timeout: fn.timeout,
    memorySize: fn.memorySize,
    codeSha256: fn.codeSha256,
    revisionId: randomUUID(),
    lastModified: lambdaTimestamp()
  }
}

/** Same code and configuration: Lambda publishes no new version for an unchanged $LATEST. */
function sameAsLatest(fn: FunctionState, version: FunctionVersionState): boolean {
  const latest = snapshot(fn, version.version)
  return (
    latest.codeSha256 === version.codeSha256 &&
    latest.runtime === version.runtime &&
    latest.architecture === version.architecture &&
    latest.handler === version.handler &&
    latest.description === version.description &&
    latest.timeout === version.timeout &&
    latest.memorySize === version.memorySize &&
    latest.layers.join('\n') === version.layers.join('\n')
  )
}

export function publishVersion(req: LambdaRequest): Reply {
  const { fn } = targetFunction(req)
  const input = jsonBody(req.body)
  const expectedSha = stringField(input, 'CodeSha256')
  const revisionId = stringField(input, 'RevisionId')
  const description = stringField(input, 'Description')
  const violations = maxLength(description, 'description', 256)
  if (violations.length > 0) throw validationError(violations)
  if (fn.state === 'Pending' || fn.lastUpdateStatus === 'InProgress') throw updateInProgress(fn.arn)
  if (revisionId !== undefined && revisionId !== fn.revisionId) throw preconditionFailed()
  if (expectedSha !== undefined && expectedSha !== fn.codeSha256) {
    throw invalidParameter(
      `CodeSHA256 (${expectedSha}) is different from current CodeSHA256 in $LATEST (${fn.codeSha256}). Please try again with the CodeSHA256 in $LATEST.`
    )
  }
  const newest = fn.versions.get(fn.versions.size)
  if (newest && description === undefined && sameAsLatest(fn, newest)) {
    return { status: 201, json: functionConfiguration(req, fn, newest) }
  }
  const version = snapshot(fn, String(fn.versions.size + 1))
  if (description !== undefined) version.description = description
  fn.versions.set(Number(version.version), version)
  return { status: 201, json: functionConfiguration(req, fn, version) }
}

// Lambda's model: an alias name is not all digits (that would read as a version).
const ALIAS_NAME = modelPattern('(?!^[0-9]+$)([a-zA-Z0-9-_]+)')
const FUNCTION_VERSION = modelPattern('(\\$LATEST|[0-9]+)')

function aliasConfiguration(fn: FunctionState, alias: AliasState): JsonObject {
  return {
    AliasArn: `${fn.arn}:${alias.name}`,
    Name: alias.name,
    FunctionVersion: alias.functionVersion,
    Description: alias.description,
    RevisionId: alias.revisionId
  }
}

function checkFunctionVersion(req: LambdaRequest, fn: FunctionState, version: string): void {
  if (version !== '$LATEST' && !fn.versions.has(Number(version))) {
    throw resourceNotFound(
      `Function not found: ${req.state.functionArn(req.region, fn.name)}:${version}`
    )
  }
}

export function createAlias(req: LambdaRequest): Reply {
  const { fn } = targetFunction(req)
  const input = jsonBody(req.body)
  const name = stringField(input, 'Name')
  const functionVersion = stringField(input, 'FunctionVersion')
  const description = stringField(input, 'Description')
  const violations = [
    ...(name === undefined ? [violation(name, 'name', 'Member must not be null')] : []),
    ...(functionVersion === undefined
      ? [violation(functionVersion, 'functionVersion', 'Member must not be null')]
      : []),
    ...lengthAndPattern(name, 'name', 1, 128, ALIAS_NAME),
    ...lengthAndPattern(functionVersion, 'functionVersion', 1, 1024, FUNCTION_VERSION),
    ...maxLength(description, 'description', 256)
  ]
  if (violations.length > 0 || name === undefined || functionVersion === undefined) {
    throw validationError(violations)
  }
  if (fn.aliases.has(name)) throw resourceConflict(`Alias already exists: ${fn.arn}:${name}`)
  checkFunctionVersion(req, fn, functionVersion)
  const alias: AliasState = {
    name,
    functionVersion,
    description: description ?? '',
    revisionId: randomUUID()
  }
  fn.aliases.set(name, alias)
  return { status: 201, json: aliasConfiguration(fn, alias) }
}

function targetAlias(req: LambdaRequest): { fn: FunctionState; alias: AliasState } {
  const { fn } = targetFunction(req)
  const name = req.params.Name ?? ''
  const violations = lengthAndPattern(name, 'name', 1, 128, ALIAS_NAME)
  if (violations.length > 0) throw validationError(violations)
  const alias = fn.aliases.get(name)
  if (!alias) throw resourceNotFound(`Cannot find alias arn: ${fn.arn}:${name}`)
  return { fn, alias }
}

export function getAlias(req: LambdaRequest): Reply {
  const { fn, alias } = targetAlias(req)
  return { status: 200, json: aliasConfiguration(fn, alias) }
}

export function updateAlias(req: LambdaRequest): Reply {
  const { fn, alias } = targetAlias(req)
  const input = jsonBody(req.body)
  const functionVersion = stringField(input, 'FunctionVersion')
  const description = stringField(input, 'Description')
  const revisionId = stringField(input, 'RevisionId')
  const violations = [
    ...lengthAndPattern(functionVersion, 'functionVersion', 1, 1024, FUNCTION_VERSION),
    ...maxLength(description, 'description', 256)
  ]
  if (violations.length > 0) throw validationError(violations)
  if (revisionId !== undefined && revisionId !== alias.revisionId) throw preconditionFailed()
  if (functionVersion !== undefined) {
    checkFunctionVersion(req, fn, functionVersion)
    alias.functionVersion = functionVersion
  }
  if (description !== undefined) alias.description = description
  alias.revisionId = randomUUID()
  return { status: 200, json: aliasConfiguration(fn, alias) }
}

const INVOCATION_TYPES = ['RequestResponse', 'Event', 'DryRun'] as const

/**
 * Invoke: RequestResponse runs the handler (see invoke.ts) and answers 200 with its result,
 * with `X-Amz-Function-Error: Unhandled` when it failed; Event is accepted (202) without
 * running; DryRun answers 204.
 */
export async function invoke(req: LambdaRequest): Promise<Reply> {
  const { fn, version } = targetFunction(req, false)
  const invocationType = header(req, 'x-amz-invocation-type') ?? 'RequestResponse'
  const logType = header(req, 'x-amz-log-type') ?? 'None'
  const violations = [
    ...enumValue(invocationType, 'invocationType', INVOCATION_TYPES),
    ...enumValue(logType, 'logType', ['None', 'Tail'])
  ]
  if (violations.length > 0) throw validationError(violations)
  if (req.body.length > 0) {
    try {
      JSON.parse(req.body.toString('utf8'))
    } catch (error) {
      throw invalidRequestContent(`Could not parse request body into json: ${String(error)}`)
    }
  }
  const executed = version?.version ?? '$LATEST'
  if (invocationType === 'DryRun') return { status: 204 }
  if (invocationType === 'Event') return { status: 202 }
  const view = version ?? fn
  const layers = view.layers.map(arn => {
    const separator = arn.lastIndexOf(':')
    const found = findVersion(
      { state: req.state, region: fn.region },
      arn.slice(0, separator),
      Number(arn.slice(separator + 1))
    )
    // Another account's layer: the emulator holds no content for it, so it adds nothing.
    return found?.content ?? Buffer.alloc(0)
  })
  const result = await invokeHandler({
    functionName: fn.name,
    handler: view.handler,
    timeout: view.timeout,
    code: fn.code,
    layers: layers.filter(zip => zip.length > 0),
    event: req.body,
    requestId: randomUUID()
  })
  return {
    status: 200,
    headers: {
      'X-Amz-Executed-Version': executed,
      ...(result.functionError ? { 'X-Amz-Function-Error': result.functionError } : {}),
      ...(logType === 'Tail'
        ? { 'X-Amz-Log-Result': Buffer.from(result.log).toString('base64') }
        : {})
    },
    body: result.payload
  }
}

function header(req: LambdaRequest, name: string): string | undefined {
  const value = req.headers?.[name]
  return Array.isArray(value) ? value[0] : value
}

/** ListFunctions: $LATEST of every function in the region by name, paged by Marker/MaxItems. */
export function listFunctions(req: LambdaRequest): Reply {
  const { value: maxItems, violations } = integerRange(
    req.query.get('MaxItems'),
    'maxItems',
    1,
    10_000
  )
  const functionVersion = req.query.get('FunctionVersion') ?? undefined
  violations.push(...enumValue(functionVersion, 'functionVersion', ['ALL']))
  if (violations.length > 0) throw validationError(violations)
  const configurations = [...req.state.region(req.region).functions.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap(fn => [
      functionConfiguration(req, fn),
      ...(functionVersion === 'ALL'
        ? [...fn.versions.values()].map(version => functionConfiguration(req, fn, version))
        : [])
    ])
  const marker = req.query.get('Marker')
  let start = 0
  if (marker !== null) {
    start = Number(Buffer.from(marker, 'base64url').toString('utf8'))
    if (!Number.isInteger(start) || start < 0 || start > configurations.length) {
      throw invalidParameter(`Invalid marker: ${marker}`)
    }
  }
  const end = start + (maxItems ?? 50)
  return {
    status: 200,
    json: {
      Functions: configurations.slice(start, end),
      ...(end < configurations.length
        ? { NextMarker: Buffer.from(String(end)).toString('base64url') }
        : {})
    }
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
