// AWS clients, created once per region. Credentials, region and endpoints come only from the
// SDK's default chain (env, profile, OIDC via aws-actions/configure-aws-credentials), and
// AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL_S3 (/ AWS_ENDPOINT_URL_SSM) point the action at a
// local Lambda API.
import { LambdaClient, type LambdaClientConfig } from '@aws-sdk/client-lambda'
import { S3Client } from '@aws-sdk/client-s3'
import type { SSMClient } from '@aws-sdk/client-ssm'
import { ACTION_NAME } from '../facts.js'
import { describeAwsError } from './errors.js'

/** Kept equal to package.json's version by a test; a JSON import would complicate the bundle. */
export const ACTION_VERSION = '1.0.0'

/** Lambda and S3 clients for any region, each created once. */
export interface AwsClients {
  lambda(region: string): LambdaClient
  s3(region: string): S3Client
  /** Loads @aws-sdk/client-ssm on first use: only a run with ssm-parameter needs it. */
  ssm(region: string): Promise<SSMClient>
}

/** Settings shared by every client; tests pass an endpoint, credentials or a fast retry. */
export type ClientSettings = Pick<
  LambdaClientConfig,
  'endpoint' | 'credentials' | 'maxAttempts' | 'retryStrategy' | 'requestHandler'
>

// Throttling, 5xx and dropped connections are retried by the SDK's standard strategy; five
// attempts ride out a burst of TooManyRequestsException across concurrent regions.
const MAX_ATTEMPTS = 5

export function awsClients(settings: ClientSettings = {}, env = process.env): AwsClients {
  const lambdas = new Map<string, LambdaClient>()
  const buckets = new Map<string, S3Client>()
  const parameterStores = new Map<string, Promise<SSMClient>>()
  const common = {
    maxAttempts: MAX_ATTEMPTS,
    customUserAgent: [[ACTION_NAME, ACTION_VERSION]] as [string, string][],
    ...settings
  }
  return {
    lambda(region) {
      let client = lambdas.get(region)
      if (!client) {
        client = new LambdaClient({ ...common, region })
        lambdas.set(region, client)
      }
      return client
    },
    s3(region) {
      let client = buckets.get(region)
      if (!client) {
        client = new S3Client({
          ...common,
          region,
          forcePathStyle: usesCustomS3Endpoint(settings, env)
        })
        buckets.set(region, client)
      }
      return client
    },
    ssm(region) {
      let client = parameterStores.get(region)
      if (!client) {
        // AWS_ENDPOINT_URL_SSM is read by the SDK itself, like AWS_ENDPOINT_URL_LAMBDA.
        client = import('@aws-sdk/client-ssm').then(
          ({ SSMClient }) => new SSMClient({ ...common, region })
        )
        parameterStores.set(region, client)
      }
      return client
    }
  }
}

/**
 * A local S3 (the emulator, LocalStack, MinIO) serves buckets as paths, not as
 * `bucket.host` names; real S3 wants the default virtual-hosted style.
 */
export function usesCustomS3Endpoint(settings: ClientSettings, env = process.env): boolean {
  return Boolean(settings.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL)
}

let shared: AwsClients | undefined

/** The action's clients: one per region for the whole run. */
export function defaultClients(): AwsClients {
  shared ??= awsClients()
  return shared
}

/**
 * The region from the SDK's chain (AWS_REGION, then the profile's `region`). The JS SDK
 * ignores AWS_DEFAULT_REGION, which the AWS CLI and many workflows set, so it is read too.
 */
export async function defaultRegion(env = process.env): Promise<string> {
  try {
    const region = await new LambdaClient({}).config.region()
    if (region) return region
  } catch {
    // No region in the chain: fall through to AWS_DEFAULT_REGION, then the error below.
  }
  if (env.AWS_DEFAULT_REGION) return env.AWS_DEFAULT_REGION
  throw new Error(
    describeAwsError(new Error('Region is missing'), { action: 'resolve the AWS region' })
  )
}
