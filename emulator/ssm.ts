// The slice of SSM Parameter Store the action writes to: PutParameter and GetParameter. SSM
// speaks JSON 1.1, not Lambda's REST-JSON: every call is `POST /` with
// `X-Amz-Target: AmazonSSM.<Operation>` and `Content-Type: application/x-amz-json-1.1`, and
// every error is a 400 (500 for the service's own) with `{"__type", "message"}`.
import { randomUUID } from 'node:crypto'
import { ApiError, violation } from './errors.js'
import type { Reply } from './http.js'
import { isObject, type JsonObject } from './request.js'
import { partition } from './state.js'

export const SSM_TARGET_PREFIX = 'AmazonSSM.'
const JSON_1_1 = 'application/x-amz-json-1.1'
/** Far above any request of these operations (a value is at most 8 KB). */
export const SSM_REQUEST_BYTES = 64 * 1024

export interface ParameterState {
  name: string
  type: 'String' | 'StringList' | 'SecureString'
  value: string
  /** 1 when created; each overwrite adds one. */
  version: number
  description?: string
  lastModified: Date
  arn: string
}

/** Parameters per region, as Parameter Store keeps them. */
export class SsmParameters {
  private readonly regions = new Map<string, Map<string, ParameterState>>()

  region(name: string): Map<string, ParameterState> {
    let parameters = this.regions.get(name)
    if (!parameters) {
      parameters = new Map()
      this.regions.set(name, parameters)
    }
    return parameters
  }
}

export interface SsmRequest {
  parameters: SsmParameters
  accountId: string
  region: string
  /** From X-Amz-Target, without its prefix: 'PutParameter'. */
  operation: string
  body: Buffer
  isDenied(action: string): boolean
}

/** The operation an `X-Amz-Target: AmazonSSM.PutParameter` header asks for, if it is SSM's. */
export function ssmOperation(target: string | string[] | undefined): string | undefined {
  const value = Array.isArray(target) ? target[0] : target
  return value?.startsWith(SSM_TARGET_PREFIX) ? value.slice(SSM_TARGET_PREFIX.length) : undefined
}

export function handleSsm(request: SsmRequest): Reply {
  const input = ssmJson(request.body)
  const name = typeof input.Name === 'string' ? input.Name : undefined
  const action = `ssm:${request.operation}`
  if (request.isDenied(action)) {
    const resource = name ? parameterArn(request.accountId, request.region, name) : '*'
    throw ssmAccessDenied(request.accountId, action, resource)
  }
  switch (request.operation) {
    case 'PutParameter':
      return putParameter(request, input)
    case 'GetParameter':
      return getParameter(request, input)
    default:
      throw ssmError(
        400,
        'UnknownOperationException',
        `The emulator does not implement ${request.operation}`
      )
  }
}

const PARAMETER_TYPES = ['String', 'StringList', 'SecureString'] as const
const STANDARD_VALUE_MAX = 4096

function putParameter(request: SsmRequest, input: JsonObject): Reply {
  const name = stringMember(input, 'Name')
  const value = stringMember(input, 'Value')
  const type = stringMember(input, 'Type')
  const description = stringMember(input, 'Description')
  const overwrite = input.Overwrite === true
  const violations = [
    ...(name === undefined ? [violation(undefined, 'name', 'Member must not be null')] : []),
    ...(value === undefined ? [violation(undefined, 'value', 'Member must not be null')] : []),
    ...(type !== undefined && !(PARAMETER_TYPES as readonly string[]).includes(type)
      ? [
          violation(
            type,
            'type',
            `Member must satisfy enum value set: [${PARAMETER_TYPES.join(', ')}]`
          )
        ]
      : [])
  ]
  if (violations.length) throw ssmValidation(validationText(violations))
  checkName(request, name as string)
  if ((value as string).length > STANDARD_VALUE_MAX) {
    throw ssmValidation(
      `Standard tier parameters support a maximum parameter value of ${STANDARD_VALUE_MAX} characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.`
    )
  }
  const parameters = request.parameters.region(request.region)
  const existing = parameters.get(name as string)
  if (existing && !overwrite) {
    throw ssmError(
      400,
      'ParameterAlreadyExists',
      'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.'
    )
  }
  if (!existing && type === undefined) {
    throw ssmValidation('A parameter type is required when you create a parameter.')
  }
  const parameter: ParameterState = {
    name: name as string,
    type: (type ?? existing?.type) as ParameterState['type'],
    value: value as string,
    version: (existing?.version ?? 0) + 1,
    description: description ?? existing?.description,
    lastModified: new Date(),
    arn: parameterArn(request.accountId, request.region, name as string)
  }
  parameters.set(parameter.name, parameter)
  return ssmReply({ Version: parameter.version, Tier: 'Standard' })
}

function getParameter(request: SsmRequest, input: JsonObject): Reply {
  const name = stringMember(input, 'Name')
  if (name === undefined) {
    throw ssmValidation(validationText([violation(undefined, 'name', 'Member must not be null')]))
  }
  const parameter = request.parameters.region(request.region).get(name)
  if (!parameter) throw ssmError(400, 'ParameterNotFound', '')
  return ssmReply({
    Parameter: {
      Name: parameter.name,
      Type: parameter.type,
      Value: parameter.value,
      Version: parameter.version,
      // JSON 1.1 timestamps are epoch seconds
      LastModifiedDate: parameter.lastModified.getTime() / 1000,
      ARN: parameter.arn,
      DataType: 'text'
    }
  })
}

// PutParameter's naming constraints, worded as SSM answers them.
const NAME_CHARACTERS = /^[a-zA-Z0-9_.\-/]+$/
const RESERVED_PREFIX = /^\/?(aws|ssm)/i
const HIERARCHY_MAX = 15
const ARN_MAX = 1011
const NAME_RULE =
  'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_'

function checkName(request: SsmRequest, name: string): void {
  if (!NAME_CHARACTERS.test(name) || RESERVED_PREFIX.test(name) || /\/\/|\/$/.test(name)) {
    throw ssmValidation(NAME_RULE)
  }
  if (name.includes('/') && !name.startsWith('/')) {
    throw ssmValidation('Parameter name must be a fully qualified name.')
  }
  if (name.replace(/^\//, '').split('/').length > HIERARCHY_MAX) {
    throw ssmError(
      400,
      'HierarchyLevelLimitExceededException',
      `A hierarchy can have a maximum of ${HIERARCHY_MAX} levels.`
    )
  }
  if (parameterArn(request.accountId, request.region, name).length > ARN_MAX) {
    throw ssmValidation(
      `Parameter name is too long: with the ARN before it, it can be at most ${ARN_MAX} characters.`
    )
  }
}

function parameterArn(accountId: string, region: string, name: string): string {
  const path = name.startsWith('/') ? name : `/${name}`
  return `arn:${partition(region)}:ssm:${region}:${accountId}:parameter${path}`
}

function ssmJson(body: Buffer): JsonObject {
  let value: unknown
  try {
    value = body.length ? JSON.parse(body.toString('utf8')) : {}
  } catch {
    throw ssmError(
      400,
      'SerializationException',
      'Start of structure or map found where not expected.'
    )
  }
  if (!isObject(value)) throw ssmError(400, 'SerializationException', 'Expected a JSON object.')
  return value
}

function stringMember(input: JsonObject, key: string): string | undefined {
  const value = input[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') {
    throw ssmError(400, 'SerializationException', `${key} must be a string`)
  }
  return value
}

function validationText(violations: string[]): string {
  const noun = violations.length === 1 ? 'error' : 'errors'
  return `${violations.length} validation ${noun} detected: ${violations.join('; ')}`
}

export function ssmError(status: number, type: string, message: string): ApiError {
  return new ApiError(status, type, message)
}

function ssmValidation(message: string): ApiError {
  return ssmError(400, 'ValidationException', message)
}

export function ssmAccessDenied(accountId: string, action: string, resource: string): ApiError {
  return ssmError(
    400,
    'AccessDeniedException',
    `User: arn:aws:sts::${accountId}:assumed-role/emulator/session is not authorized to perform: ` +
      `${action} on resource: ${resource} because no identity-based policy allows the ${action} action`
  )
}

/** The service's answers to the throttle, server-error and unavailable faults. */
export function ssmFaultError(kind: string): ApiError | undefined {
  if (kind === 'throttle') return ssmError(400, 'ThrottlingException', 'Rate exceeded')
  if (kind === 'server-error') return ssmError(500, 'InternalServerError', 'Internal Server Error')
  if (kind === 'unavailable') return ssmError(503, 'ServiceUnavailable', 'Service Unavailable')
  return undefined
}

function ssmReply(json: unknown): Reply {
  return {
    status: 200,
    headers: { 'Content-Type': JSON_1_1, 'x-amzn-RequestId': randomUUID() },
    body: Buffer.from(JSON.stringify(json))
  }
}

export function ssmErrorReply(error: ApiError): Reply {
  return {
    status: error.status,
    headers: { ...error.headers, 'Content-Type': JSON_1_1, 'x-amzn-RequestId': randomUUID() },
    body: Buffer.from(JSON.stringify({ __type: error.type, message: error.message }))
  }
}
