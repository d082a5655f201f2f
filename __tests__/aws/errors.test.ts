import { describe, expect, it } from 'vitest'
import { AwsCallError, awsCall, awsErrorName, describeAwsError } from '../../src/aws/errors.js'

/** An error shaped like the SDK's service exceptions. */
function serviceError(name: string, message: string, status: number, attempts = 1): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, attempts }
  })
}

const publishing = {
  action: 'lambda:PublishLayerVersion',
  resource: 'layer deps',
  region: 'eu-west-1'
}

describe('describeAwsError', () => {
  it('names the missing IAM action and the resource on AccessDenied', () => {
    const message = describeAwsError(
      serviceError(
        'AccessDeniedException',
        'User: arn:aws:sts::1:assumed-role/ci is not authorized',
        403
      ),
      publishing
    )
    expect(message).toContain('lambda:PublishLayerVersion')
    expect(message).toContain('layer deps')
    expect(message).toContain('eu-west-1')
    expect(message).toContain('not authorized')
  })

  it('treats an S3 AccessDenied the same way', () => {
    const message = describeAwsError(serviceError('AccessDenied', 'Access Denied', 403), {
      action: 's3:PutObject',
      resource: 's3://bucket/key',
      region: 'us-east-1'
    })
    expect(message).toContain('s3:PutObject')
    expect(message).toContain('s3://bucket/key')
  })

  it('says how to configure credentials when none were found', () => {
    const missing = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError'
    })
    const message = describeAwsError(missing, publishing)
    expect(message).toContain('aws-actions/configure-aws-credentials')
    expect(message).toContain('publish: false')
  })

  it('names a function that does not exist, and the region it was looked for in', () => {
    const message = describeAwsError(
      serviceError('ResourceNotFoundException', 'Function not found: arn:…:function:orders', 404),
      {
        action: 'lambda:GetFunctionConfiguration',
        resource: 'function orders',
        region: 'us-west-2'
      }
    )
    expect(message).toMatch(/function orders was not found in us-west-2/)
  })

  it('points at s3-bucket when the request was too large', () => {
    const message = describeAwsError(
      serviceError(
        'RequestEntityTooLargeException',
        'Request must be smaller than 69905067 bytes',
        413
      ),
      publishing
    )
    expect(message).toContain('s3-bucket')
  })

  it("passes AWS's own words for an invalid parameter, with the context", () => {
    const message = describeAwsError(
      serviceError(
        'InvalidParameterValueException',
        'Layers are not supported for this runtime',
        400
      ),
      {
        action: 'lambda:UpdateFunctionConfiguration',
        resource: 'function api',
        region: 'us-east-1'
      }
    )
    expect(message).toContain('Layers are not supported for this runtime')
    expect(message).toContain('function api')
  })

  it('says throttling lasted through the retries', () => {
    const message = describeAwsError(
      serviceError('TooManyRequestsException', 'Rate exceeded', 429, 5),
      publishing
    )
    expect(message).toMatch(/throttling .* after 5 attempts/)
  })

  it('reports a server error with its status after retries', () => {
    const message = describeAwsError(serviceError('ServiceException', 'oops', 503, 5), publishing)
    expect(message).toContain('HTTP 503')
    expect(message).toContain('after 5 attempts')
  })

  it('explains a missing region', () => {
    const message = describeAwsError(new Error('Region is missing'), publishing)
    expect(message).toContain('regions')
    expect(message).toContain('AWS_REGION')
  })

  it('says a rejected token is invalid or expired rather than access denied', () => {
    const message = describeAwsError(
      serviceError(
        'UnrecognizedClientException',
        'The security token included in the request is invalid',
        403
      ),
      publishing
    )
    expect(message).toContain('invalid or expired')
    expect(message).not.toContain('Access denied')
  })

  it('names the action and resource AWS says were denied when they differ from the call', () => {
    const message = describeAwsError(
      serviceError(
        'AccessDeniedException',
        'User: arn:aws:sts::123456789012:assumed-role/ci/s is not authorized to perform: ' +
          'lambda:GetLayerVersion on resource: arn:aws:lambda:us-east-1:123456789012:layer:other:3 ' +
          'because no identity-based policy allows the lambda:GetLayerVersion action',
        403
      ),
      {
        action: 'lambda:UpdateFunctionConfiguration',
        resource: 'function api',
        region: 'us-east-1'
      }
    )
    expect(message).toMatch(
      /^Access denied in us-east-1: the role needs `lambda:GetLayerVersion` on arn:aws:lambda:us-east-1:123456789012:layer:other:3 \(to call lambda:UpdateFunctionConfiguration on function api\)/
    )
  })

  it('keeps naming the call when AWS denied that same action', () => {
    const message = describeAwsError(
      serviceError(
        'AccessDeniedException',
        'User: arn:aws:sts::1:assumed-role/ci is not authorized to perform: lambda:PublishLayerVersion on resource: arn:aws:lambda:eu-west-1:1:layer:deps',
        403
      ),
      publishing
    )
    expect(message).toMatch(
      /^Access denied in eu-west-1: the role needs `lambda:PublishLayerVersion` on layer deps\./
    )
  })

  it.each([
    ['MissingAuthenticationTokenException', 'Missing Authentication Token'],
    ['InvalidSignatureException', 'Signature expired: 20260101T000000Z is now earlier than …'],
    ['ExpiredTokenException', 'The security token included in the request is expired']
  ])('calls a 403 %s a credentials problem, not access denied', (name, text) => {
    const message = describeAwsError(serviceError(name, text, 403), publishing)
    expect(message).toContain(`AWS rejected the credentials (${name})`)
    expect(message).toContain('configure-aws-credentials')
    expect(message).not.toContain('Access denied')
  })

  it('does not call any other 403 access denied', () => {
    const message = describeAwsError(
      serviceError(
        'RequestTimeTooSkewed',
        'The difference between the request time and the current time is too large.',
        403
      ),
      { action: 's3:PutObject', resource: 's3://bucket/key', region: 'us-east-1' }
    )
    expect(message).not.toContain('Access denied')
    expect(message).toContain('HTTP 403, RequestTimeTooSkewed')
    expect(message).toContain('current time is too large')
  })

  it('keeps the name and message of anything else', () => {
    const message = describeAwsError(serviceError('KMSDisabledException', 'key disabled', 502), {
      action: 'lambda:UpdateFunctionConfiguration'
    })
    expect(message).toContain('key disabled')
  })
})

describe('awsCall', () => {
  it('rethrows with the mapped message and keeps the AWS error name for retry decisions', async () => {
    const failure = awsCall(publishing, () =>
      Promise.reject(serviceError('AccessDeniedException', 'denied', 403))
    )
    await expect(failure).rejects.toThrow(/lambda:PublishLayerVersion/)
    const error = await failure.catch(e => e)
    expect(error).toBeInstanceOf(AwsCallError)
    expect(awsErrorName(error)).toBe('AccessDeniedException')
  })
})
