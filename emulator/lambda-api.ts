// A local AWS Lambda API (layers, function configuration), the slice of S3 that large
// layer zips travel through and the SSM parameters that advertise the newest ARN (ssm.ts),
// speaking the real wire protocols so the unmodified AWS SDK can be pointed at it with
// AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_SSM. It also plays the
// failures a real account produces (throttling, 5xx, dropped connections, concurrent
// updates, missing permissions) on request, for tests and the demo.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import { LIMITS } from '../src/facts.js'
import {
  accessDenied,
  ApiError,
  missingAuthentication,
  requestTooLarge,
  s3Error,
  unknownOperation
} from './errors.js'
import { applyFunctionFault, faultError, Faults, type Fault } from './faults.js'
import {
  createFunctionState,
  functionNameOf,
  getFunction,
  getFunctionConfiguration,
  updateFunctionConfiguration,
  type NewFunction
} from './functions.js'
import {
  createAlias,
  getAlias,
  invoke,
  listFunctions,
  publishVersion,
  updateAlias
} from './functions.js'
import {
  credentialScope,
  drain,
  lambdaErrorReply,
  readBody,
  s3ErrorReply,
  send,
  sleep,
  type CredentialScope,
  type Reply
} from './http.js'
import {
  addLayerVersionPermission,
  deleteLayerVersion,
  getLayerVersion,
  getLayerVersionByArn,
  getLayerVersionPolicy,
  listLayers,
  listLayerVersions,
  publishLayerVersion,
  removeLayerVersionPermission
} from './layers.js'
import type { LambdaRequest } from './request.js'
import { handleS3, rangeReply, S3_IAM_ACTIONS, s3Target, type S3Target } from './s3.js'
import {
  handleSsm,
  SSM_REQUEST_BYTES,
  SsmParameters,
  ssmErrorReply,
  ssmFaultError,
  ssmOperation,
  type ParameterState
} from './ssm.js'
import { EmulatorState, type FunctionState, type LayerVersionState } from './state.js'

export type { Fault, FaultKind } from './faults.js'
export type { NewFunction } from './functions.js'
export type { FunctionState, LayerVersionState, PolicyStatement } from './state.js'
export type { ParameterState } from './ssm.js'

export interface EmulatorOptions {
  /** Default 0: the OS picks a free port. */
  port?: number
  /** Added before every response. */
  latencyMs?: number
  /** Default '123456789012'. */
  accountId?: string
  /** The server stops itself after this long without a request. Default 15 minutes. */
  idleTimeoutMs?: number
  /** How long a function update stays InProgress. Default 0. */
  updateDurationMs?: number
  /** Called after every request (the CLI logs with it). */
  onCall?: (call: Call) => void
}

export interface Call {
  /** From the request's SigV4 scope; '' when it had none. */
  region: string
  /** The SDK's operation name ('PublishLayerVersion', 'PutObject'), or 'Unknown'. */
  operation: string
  /** 0 when the connection was dropped. */
  status: number
  /** Body bytes sent, for layer content downloads (what a plan's range reads cost). */
  bytes?: number
}

export interface Emulator {
  /** http://127.0.0.1:PORT */
  endpoint: string
  close(): Promise<void>
  /** Settles when the server has stopped, by close() or the idle timeout. */
  closed: Promise<void>
  createFunction(fn: NewFunction): FunctionState
  getFunction(name: string, region?: string): FunctionState | undefined
  /** Live (undeleted) versions, oldest first. */
  layerVersions(layerName: string, region?: string): LayerVersionState[]
  /** "bucket/key" → bytes. */
  s3Objects(region?: string): Map<string, Buffer>
  /** An SSM parameter as Parameter Store holds it. */
  ssmParameter(name: string, region?: string): ParameterState | undefined
  calls: Call[]
  inject(fault: Fault): void
  /** Answer AccessDenied to an IAM action, e.g. 'lambda:PublishLayerVersion' or 's3:PutObject'. */
  deny(action: string): void
  allow(action: string): void
}

const DEFAULT_REGION = 'us-east-1'
const DEFAULT_IDLE_TIMEOUT_MS = 15 * 60_000

interface LambdaRoute {
  method: string
  segments: string[]
  operation: string
  handler: (req: LambdaRequest) => Reply | Promise<Reply>
  /** A query parameter that must be present with this value (GetLayerVersionByArn). */
  query?: [string, string]
}

const LAYER_VERSION = '/2018-10-31/layers/{LayerName}/versions/{VersionNumber}'
const FUNCTION = '/2015-03-31/functions/{FunctionName}'

// Methods, paths and operation names as @aws-sdk/client-lambda's serializers send them.
const LAMBDA_ROUTES: LambdaRoute[] = [
  route(
    'POST',
    '/2018-10-31/layers/{LayerName}/versions',
    'PublishLayerVersion',
    publishLayerVersion
  ),
  route('GET', '/2018-10-31/layers/{LayerName}/versions', 'ListLayerVersions', listLayerVersions),
  route('GET', LAYER_VERSION, 'GetLayerVersion', getLayerVersion),
  route('DELETE', LAYER_VERSION, 'DeleteLayerVersion', deleteLayerVersion),
  route('POST', `${LAYER_VERSION}/policy`, 'AddLayerVersionPermission', addLayerVersionPermission),
  route('GET', `${LAYER_VERSION}/policy`, 'GetLayerVersionPolicy', getLayerVersionPolicy),
  route(
    'DELETE',
    `${LAYER_VERSION}/policy/{StatementId}`,
    'RemoveLayerVersionPermission',
    removeLayerVersionPermission
  ),
  route('GET', '/2018-10-31/layers', 'GetLayerVersionByArn', getLayerVersionByArn, [
    'find',
    'LayerVersion'
  ]),
  route('GET', '/2018-10-31/layers', 'ListLayers', listLayers),
  route('GET', FUNCTION, 'GetFunction', getFunction),
  route('GET', `${FUNCTION}/configuration`, 'GetFunctionConfiguration', getFunctionConfiguration),
  route(
    'PUT',
    `${FUNCTION}/configuration`,
    'UpdateFunctionConfiguration',
    updateFunctionConfiguration
  ),
  // Releases: versions, aliases, invocations and the function list.
  route('GET', '/2015-03-31/functions', 'ListFunctions', listFunctions),
  route('GET', '/2015-03-31/functions/', 'ListFunctions', listFunctions),
  route('POST', `${FUNCTION}/versions`, 'PublishVersion', publishVersion),
  route('POST', `${FUNCTION}/aliases`, 'CreateAlias', createAlias),
  route('GET', `${FUNCTION}/aliases/{Name}`, 'GetAlias', getAlias),
  route('PUT', `${FUNCTION}/aliases/{Name}`, 'UpdateAlias', updateAlias),
  route('POST', `${FUNCTION}/invocations`, 'Invoke', invoke)
]

/** IAM actions that differ from `lambda:<operation>`. */
const LAMBDA_IAM_ACTIONS: Record<string, string> = {
  GetLayerVersionByArn: 'lambda:GetLayerVersion',
  Invoke: 'lambda:InvokeFunction'
}

function route(
  method: string,
  path: string,
  operation: string,
  handler: LambdaRoute['handler'],
  query?: [string, string]
): LambdaRoute {
  return { method, segments: path.split('/').slice(1), operation, handler, query }
}

/** What a request asks for; `route` / `s3` are missing when the emulator lacks the operation. */
type Target =
  | { service: 'lambda'; operation: string; route?: LambdaRoute; params: Record<string, string> }
  | { service: 's3'; operation: string; s3?: S3Target }
  | { service: 'ssm'; operation: string }
  | { service: 'layer-content'; operation: 'DownloadLayerContent'; path: string[] }

export async function startLambdaEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const state = new EmulatorState(
    options.accountId ?? '123456789012',
    options.updateDurationMs ?? 0
  )
  const calls: Call[] = []
  const faults = new Faults()
  const denied = new Set<string>()
  const parameters = new SsmParameters()
  const latencyMs = options.latencyMs ?? 0
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS
  let endpoint = ''

  const server = createServer((req, res) => {
    restartIdleTimer()
    handle(req, res).catch(error => {
      // Only a broken connection gets here; the client sees the reset.
      res.destroy(error instanceof Error ? error : undefined)
    })
  })
  let idleTimer: NodeJS.Timeout | undefined
  let closing: Promise<void> | undefined
  let markClosed: () => void = () => {}
  const closed = new Promise<void>(resolve => (markClosed = resolve))

  function restartIdleTimer(): void {
    clearTimeout(idleTimer)
    idleTimer = setTimeout(() => void close(), idleTimeoutMs)
    idleTimer.unref()
  }

  function close(): Promise<void> {
    closing ??= new Promise<void>(resolve => {
      clearTimeout(idleTimer)
      server.close(() => resolve())
      server.closeAllConnections()
    }).then(markClosed)
    return closing
  }

  function record(call: Call): void {
    calls.push(call)
    options.onCall?.(call)
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator')
    const method = req.method ?? 'GET'
    const scope = credentialScope(req.headers.authorization, url.searchParams)
    const target = resolveTarget(method, url, scope, req.headers)
    const region = scope?.region ?? ''
    let reply: Reply
    let fault: Fault | undefined
    try {
      if (target.service === 'layer-content') {
        reply = layerContent(target.path, req.headers.range)
      } else {
        if (!scope) {
          throw target.service === 's3'
            ? s3Error(403, 'AccessDenied', 'Access Denied')
            : missingAuthentication()
        }
        const functionName =
          target.service === 'lambda' && target.params.FunctionName
            ? functionNameOf(target.params.FunctionName)
            : undefined
        fault = faults.take(target.operation, region, functionName)
        if (fault?.kind === 'drop') {
          req.socket.destroy()
          record({ region, operation: target.operation, status: 0 })
          return
        }
        if (fault) {
          const resource = functionName
            ? state.functionArn(region, fault.function ?? functionName)
            : resourceArn(target, region)
          const error =
            target.service === 'ssm'
              ? ssmFaultError(fault.kind)
              : faultError(fault, target.service === 's3', resource)
          if (error) throw error
          // SSM names the parameter from the body, so its handler answers this one itself
          if (fault.kind === 'access-denied' && target.service !== 'ssm') {
            throw target.service === 's3'
              ? s3Error(403, 'AccessDenied', 'Access Denied')
              : accessDenied(
                  state.accountId,
                  LAMBDA_IAM_ACTIONS[target.operation] ?? `lambda:${target.operation}`,
                  resource
                )
          }
          applyFunctionFault(fault, state, region, functionName)
        }
        reply = await dispatch(target, req, url, region, fault)
      }
    } catch (error) {
      const apiError = error instanceof ApiError ? error : internalError(error)
      reply =
        target.service === 'lambda'
          ? lambdaErrorReply(apiError)
          : target.service === 'ssm'
            ? ssmErrorReply(apiError)
            : s3ErrorReply(apiError, method === 'HEAD')
    }
    await drain(req)
    if (fault?.kind === 'drop-response') {
      req.socket.destroy()
      record({ region, operation: target.operation, status: 0 })
      return
    }
    await sleep(latencyMs)
    if (target.service === 'lambda') {
      reply.headers = { 'x-amzn-RequestId': randomUUID(), ...reply.headers }
    }
    send(res, reply)
    record({
      region,
      operation: target.operation,
      status: reply.status,
      ...(target.service === 'layer-content' ? { bytes: reply.body?.length ?? 0 } : {})
    })
  }

  function resolveTarget(
    method: string,
    url: URL,
    scope: CredentialScope | undefined,
    headers: IncomingMessage['headers']
  ): Target {
    const segments = url.pathname.split('/').slice(1)
    if (segments[0] === '_layer-content' && method === 'GET') {
      return {
        service: 'layer-content',
        operation: 'DownloadLayerContent',
        path: segments.slice(1)
      }
    }
    // SSM (JSON 1.1) names its operation in X-Amz-Target, not in the path.
    const ssm = ssmOperation(headers['x-amz-target'])
    if (scope?.service === 'ssm' || ssm) return { service: 'ssm', operation: ssm ?? 'Unknown' }
    // Both endpoints may be the same URL: the signing scope says which service is meant.
    const isS3 = scope ? scope.service === 's3' : !/^\d{4}-\d{2}-\d{2}$/.test(segments[0] ?? '')
    if (isS3) {
      const s3 = s3Target(method, url, headers.host)
      return { service: 's3', operation: s3?.operation ?? 'Unknown', s3 }
    }
    for (const candidate of LAMBDA_ROUTES) {
      const params = matchRoute(candidate, method, segments, url.searchParams)
      if (params) {
        return { service: 'lambda', operation: candidate.operation, route: candidate, params }
      }
    }
    return { service: 'lambda', operation: 'Unknown', params: {} }
  }

  /** Checks the caller may, then runs the operation. */
  async function dispatch(
    target: Exclude<Target, { service: 'layer-content' }>,
    req: IncomingMessage,
    url: URL,
    region: string,
    fault: Fault | undefined
  ): Promise<Reply> {
    if (target.service === 'ssm') {
      const { body } = await readBody(req, SSM_REQUEST_BYTES)
      if (!body) throw requestTooLarge(target.operation, SSM_REQUEST_BYTES)
      return handleSsm({
        parameters,
        accountId: state.accountId,
        region,
        operation: target.operation,
        body,
        isDenied: action => denied.has(action) || fault?.kind === 'access-denied'
      })
    }
    if (target.service === 's3') {
      if (!target.s3) {
        throw s3Error(
          501,
          'NotImplemented',
          `The emulator does not implement ${req.method} ${url.pathname}`
        )
      }
      if (denied.has(S3_IAM_ACTIONS[target.s3.operation])) {
        throw s3Error(403, 'AccessDenied', 'Access Denied')
      }
      return handleS3({ ...target.s3, state, region, req })
    }
    if (!target.route) throw unknownOperation(req.method ?? '', url.pathname)
    const action = LAMBDA_IAM_ACTIONS[target.operation] ?? `lambda:${target.operation}`
    if (denied.has(action)) {
      throw accessDenied(state.accountId, action, resourceArn(target, region))
    }
    const { body } = await readBody(req, LIMITS.requestBytes)
    if (!body) throw requestTooLarge(target.operation, LIMITS.requestBytes)
    return target.route.handler({
      state,
      region,
      params: target.params,
      query: url.searchParams,
      body,
      headers: req.headers,
      endpoint,
      isDenied: candidate => denied.has(candidate)
    })
  }

  /** The ARN an error message names: the function, layer (version) or bucket/key asked for. */
  function resourceArn(target: Target, region: string): string {
    if (target.service === 's3')
      return `arn:aws:s3:::${target.s3?.bucket ?? ''}/${target.s3?.key ?? ''}`
    if (target.service !== 'lambda') return '*'
    const { FunctionName, LayerName, VersionNumber } = target.params
    if (FunctionName) return state.functionArn(region, functionNameOf(FunctionName))
    if (!LayerName) return '*'
    const arn = state.layerArn(region, LayerName.split(':').at(-1) ?? LayerName)
    return VersionNumber ? `${arn}:${VersionNumber}` : arn
  }

  /** The presigned-style URL in GetLayerVersion's Content.Location. */
  function layerContent(path: string[], range: string | undefined): Reply {
    const [region, layerName, version] = path.map(decodeURIComponent)
    const found = state
      .region(region ?? '')
      .layers.get(layerName ?? '')
      ?.versions.get(Number(version))
    if (!found) throw s3Error(404, 'NoSuchKey', 'The specified key does not exist.')
    return rangeReply(found.content, range, 'application/zip')
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  server.unref()
  restartIdleTimer()
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    endpoint,
    close,
    closed,
    calls,
    createFunction: fn => createFunctionState(state, fn),
    getFunction: (name, region = DEFAULT_REGION) => state.region(region).functions.get(name),
    layerVersions: (layerName, region = DEFAULT_REGION) =>
      [...(state.region(region).layers.get(layerName)?.versions.values() ?? [])].sort(
        (a, b) => a.version - b.version
      ),
    s3Objects: (region = DEFAULT_REGION) => state.region(region).objects,
    ssmParameter: (name, region = DEFAULT_REGION) => parameters.region(region).get(name),
    inject: fault => faults.inject(fault),
    deny: action => void denied.add(action),
    allow: action => void denied.delete(action)
  }
}

function matchRoute(
  candidate: LambdaRoute,
  method: string,
  segments: string[],
  query: URLSearchParams
): Record<string, string> | undefined {
  if (candidate.method !== method || candidate.segments.length !== segments.length) return undefined
  if (candidate.query && query.get(candidate.query[0]) !== candidate.query[1]) return undefined
  const params: Record<string, string> = {}
  for (const [i, expected] of candidate.segments.entries()) {
    const actual = segments[i] ?? ''
    if (expected.startsWith('{')) {
      try {
        params[expected.slice(1, -1)] = decodeURIComponent(actual)
      } catch {
        return undefined
      }
    } else if (expected !== actual) {
      return undefined
    }
  }
  return params
}

/** A bug in the emulator, reported as the service's own internal error. */
function internalError(error: unknown): ApiError {
  const detail = error instanceof Error ? error.message : String(error)
  return new ApiError(
    500,
    'ServiceException',
    `Emulator failure: ${detail}`,
    {},
    { Type: 'Service' }
  )
}
