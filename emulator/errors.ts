// Errors as the real services send them. Lambda speaks REST-JSON: status + X-Amzn-ErrorType +
// {"__type", "message"}; S3 sends <Error><Code/><Message/></Error>. Model constraint failures
// (patterns, lengths, enums) come back from Lambda as Coral's ValidationException; semantic
// problems (a missing layer, too many layers) as InvalidParameterValueException.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly headers: Record<string, string> = {},
    /** Extra members of the JSON error body (Lambda) or elements of <Error> (S3). */
    readonly fields: Record<string, string> = {}
  ) {
    super(message)
    this.name = type
  }
}

/** One failed model constraint, worded like Lambda's front end words it. */
export function violation(value: unknown, member: string, constraint: string): string {
  const shown = value === undefined || value === null ? 'null' : `'${display(value)}'`
  return `Value ${shown} at '${member}' failed to satisfy constraint: ${constraint}`
}

function display(value: unknown): string {
  return Array.isArray(value) ? `[${value.join(', ')}]` : String(value)
}

export function validationError(violations: string[]): ApiError {
  const count = violations.length
  const noun = count === 1 ? 'error' : 'errors'
  return new ApiError(
    400,
    'ValidationException',
    `${count} validation ${noun} detected: ${violations.join('; ')}`
  )
}

export function invalidParameter(message: string): ApiError {
  return new ApiError(400, 'InvalidParameterValueException', message, {}, { Type: 'User' })
}

export function invalidRequestContent(message: string): ApiError {
  return new ApiError(400, 'InvalidRequestContentException', message, {}, { Type: 'User' })
}

export function resourceNotFound(message: string): ApiError {
  // The SDK's ResourceNotFoundException models its text as `Message`.
  return new ApiError(
    404,
    'ResourceNotFoundException',
    message,
    {},
    {
      Type: 'User',
      Message: message
    }
  )
}

export function resourceConflict(message: string): ApiError {
  return new ApiError(409, 'ResourceConflictException', message, {}, { Type: 'User' })
}

export function updateInProgress(functionArn: string): ApiError {
  return resourceConflict(
    `The operation cannot be performed at this time. An update is in progress for resource: ${functionArn}`
  )
}

export function preconditionFailed(): ApiError {
  return new ApiError(
    412,
    'PreconditionFailedException',
    'The Revision Id provided does not match the latest Revision Id. ' +
      'Call the GetFunction/GetAlias API to retrieve the latest Revision Id',
    {},
    { Type: 'User' }
  )
}

export function requestTooLarge(operation: string, limit: number): ApiError {
  return new ApiError(
    413,
    'RequestEntityTooLargeException',
    `Request must be smaller than ${limit} bytes for the ${operation} operation`
  )
}

export function tooManyRequests(retryAfterMs: number): ApiError {
  return new ApiError(
    429,
    'TooManyRequestsException',
    'Rate exceeded',
    { 'Retry-After': String(retryAfterMs / 1000) },
    { Type: 'User', Reason: 'CallerRateLimitExceeded' }
  )
}

export function serviceException(): ApiError {
  const message = 'The Lambda service encountered an internal error.'
  return new ApiError(500, 'ServiceException', message, {}, { Type: 'Service', Message: message })
}

export function serviceUnavailable(): ApiError {
  return new ApiError(
    503,
    'ServiceUnavailableException',
    'Service Unavailable',
    {},
    {
      Type: 'Service'
    }
  )
}

export function accessDenied(accountId: string, action: string, resource: string): ApiError {
  const message =
    `User: arn:aws:sts::${accountId}:assumed-role/emulator/session is not authorized to perform: ` +
    `${action} on resource: ${resource} because no identity-based policy allows the ${action} action`
  return new ApiError(403, 'AccessDeniedException', message, {}, { Message: message })
}

export function missingAuthentication(): ApiError {
  return new ApiError(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token')
}

export function unknownOperation(method: string, path: string): ApiError {
  return new ApiError(
    404,
    'UnknownOperationException',
    `The emulator does not implement ${method} ${path}`
  )
}

/** S3 errors: the code doubles as the SDK's error name. */
export function s3Error(
  status: number,
  code: string,
  message: string,
  fields: Record<string, string> = {},
  headers: Record<string, string> = {}
): ApiError {
  return new ApiError(status, code, message, headers, fields)
}
