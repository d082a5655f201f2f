// The one place that turns AWS SDK errors into messages a user can act on. Every AWS call
// site passes the IAM action it needed, so AccessDenied can name what the role lacks.
import { errorMessage } from '../errors.js'

export interface AwsErrorContext {
  /** The IAM action the failing call needs, e.g. 'lambda:PublishLayerVersion'. */
  action: string
  /** What the call was about: a layer, a function, a bucket. */
  resource?: string
  region?: string
}

/** An AWS call that failed, with the SDK's error kept as `cause` for retry decisions. */
export class AwsCallError extends Error {
  readonly awsName: string

  constructor(message: string, cause: unknown) {
    super(message, { cause })
    this.name = 'AwsCallError'
    this.awsName = awsErrorName(cause)
  }
}

/** The SDK's error name ('AccessDeniedException'), looking through an AwsCallError. */
export function awsErrorName(error: unknown): string {
  if (error instanceof AwsCallError) return error.awsName
  if (typeof error === 'object' && error !== null) {
    const named = error as { name?: unknown; Code?: unknown; code?: unknown }
    for (const key of [named.name, named.Code, named.code]) {
      if (typeof key === 'string' && key !== 'Error') return key
    }
  }
  return ''
}

/** Runs one AWS call and rethrows its failure as an actionable AwsCallError. */
export async function awsCall<T>(context: AwsErrorContext, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    if (error instanceof AwsCallError) throw error
    throw new AwsCallError(describeAwsError(error, context), error)
  }
}

const THROTTLING = new Set([
  'TooManyRequestsException',
  'ThrottlingException',
  'Throttling',
  'SlowDown',
  'RequestLimitExceeded'
])
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'TimeoutError'
])

export function describeAwsError(error: unknown, context: AwsErrorContext): string {
  if (error instanceof AwsCallError) return error.message
  const name = awsErrorName(error)
  const message = errorMessage(error)
  const where = context.region ? ` in ${context.region}` : ''
  const about = context.resource ? ` for ${context.resource}` : ''
  const said = message ? ` AWS said: ${message}` : ''
  const status = httpStatus(error)
  const attempts = attemptCount(error)

  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return (
      'No AWS credentials were found. Add an aws-actions/configure-aws-credentials step ' +
      '(OIDC: role-to-assume, and `permissions: id-token: write`) before this action, ' +
      'or set `publish: false` to build the layer without publishing it.'
    )
  }
  if (/region is missing/i.test(message)) {
    return (
      'No AWS region is configured. Set the `regions` input, or `aws-region` on ' +
      'aws-actions/configure-aws-credentials (which sets AWS_REGION).'
    )
  }
  if (isCredentialProblem(name)) {
    return (
      `AWS rejected the credentials (${name}) calling ${context.action}${where}: they are missing, ` +
      'invalid or expired. Check the aws-actions/configure-aws-credentials step.' +
      said
    )
  }
  const denied = isAccessDenied(error) || status === 403 ? deniedAction(message) : undefined
  if (denied || isAccessDenied(error)) {
    // Lambda may deny a call for another action than the one made: UpdateFunctionConfiguration
    // fails when the role lacks lambda:GetLayerVersion on one of the layers.
    const resource = context.resource ? ` on ${context.resource}` : ''
    if (denied && denied.action !== context.action) {
      return `Access denied${where}: the role needs \`${denied.action}\` on ${denied.resource} (to call ${context.action}${resource}). Add it to the role's IAM policy.${said}`
    }
    return `Access denied${where}: the role needs \`${context.action}\`${resource}. Add it to the role's IAM policy.${said}`
  }
  if (name === 'ResourceNotFoundException' || name === 'NoSuchBucket') {
    const what = context.resource ?? 'The resource'
    return `${what} was not found${where}: check the name and the region (${context.action}).${said}`
  }
  if (name === 'RequestEntityTooLargeException' || status === 413) {
    return (
      `The layer zip is too large for a direct upload${where}: set the \`s3-bucket\` input ` +
      'so the zip goes through S3.' +
      said
    )
  }
  if (name === 'InvalidParameterValueException' || name === 'ValidationException') {
    return `${context.action}${about}${where} rejected a parameter.${said}`
  }
  if (name === 'CodeStorageExceededException') {
    return (
      `Lambda code storage is full${where}: delete old layer versions (set \`keep-versions\`) ` +
      `or ask AWS for more storage.${said}`
    )
  }
  if (name === 'ResourceConflictException') {
    return `${context.resource ?? 'The resource'}${where} is being changed by someone else; it stayed busy while this action waited.${said}`
  }
  if (name === 'PreconditionFailedException') {
    return `${context.resource ?? 'The resource'}${where} kept changing between reading and updating it; nothing was changed.${said}`
  }
  if (
    name === 'PermanentRedirect' ||
    name === 'AuthorizationHeaderMalformed' ||
    name === 'IllegalLocationConstraintException'
  ) {
    return `The S3 bucket${about} is not in ${context.region ?? 'this region'}: Lambda reads layer zips only from a bucket in the same region (use \`{region}\` in \`s3-bucket\`).${said}`
  }
  if (THROTTLING.has(name) || status === 429) {
    return `AWS kept throttling ${context.action}${where}${retried(attempts)}. Try again later, or publish to fewer regions in one job.${said}`
  }
  if (status !== undefined && status >= 500) {
    return `AWS failed with HTTP ${status} on ${context.action}${about}${where}${retried(attempts)}. Try again later.${said}`
  }
  if (NETWORK.has(name) || NETWORK.has(errorCode(error))) {
    return `Could not reach AWS for ${context.action}${where}${retried(attempts)} (${errorCode(error) || name}). Check the network and any AWS_ENDPOINT_URL_* setting.`
  }
  if (status === 403) {
    return `AWS refused ${context.action}${about}${where} (HTTP 403${name ? `, ${name}` : ''}).${said}`
  }
  const label = name ? `${name}: ` : ''
  return `${context.action}${about}${where} failed: ${label}${message}`
}

/** AccessDenied by name: Lambda's AccessDeniedException, S3's AccessDenied (Forbidden without a body). */
export function isAccessDenied(error: unknown): boolean {
  const name = awsErrorName(error)
  return name === 'AccessDeniedException' || name === 'AccessDenied' || name === 'Forbidden'
}

/** The action and resource IAM refused, from AWS's "not authorized to perform: … on resource: …". */
export function deniedAction(message: string): { action: string; resource: string } | undefined {
  const match = /not authorized to perform: (\S+) on resource: (\S+)/.exec(message)
  return match ? { action: match[1], resource: match[2].replace(/[.,;]$/, '') } : undefined
}

function isCredentialProblem(name: string): boolean {
  return [
    'MissingAuthenticationTokenException',
    'MissingAuthenticationToken',
    'IncompleteSignatureException',
    'UnrecognizedClientException',
    'InvalidSignatureException',
    'ExpiredTokenException',
    'ExpiredToken',
    'InvalidClientTokenId',
    'InvalidAccessKeyId',
    'InvalidToken',
    'SignatureDoesNotMatch'
  ].includes(name)
}

function httpStatus(error: unknown): number | undefined {
  const metadata = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata
  return metadata?.httpStatusCode
}

function attemptCount(error: unknown): number | undefined {
  const metadata = (error as { $metadata?: { attempts?: number } } | null)?.$metadata
  return metadata?.attempts
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : ''
}

function retried(attempts: number | undefined): string {
  return attempts && attempts > 1 ? ` after ${attempts} attempts` : ''
}
