// Publishes the layer zip as a new layer version in one region, or reuses the newest version
// of the build's lineage (lineage.ts) when it already holds the same bytes.
import { readFile } from 'node:fs/promises'
import {
  GetLayerVersionCommand,
  PublishLayerVersionCommand,
  type Architecture as LambdaArchitecture,
  type LambdaClient,
  type LayerVersionContentInput,
  type Runtime
} from '@aws-sdk/client-lambda'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import * as core from '@actions/core'
import type { AwsClients } from './clients.js'
import { awsCall } from './errors.js'
import { listLineage, type Lineage } from './lineage.js'
import { LIMITS } from '../facts.js'
import { checkLayerRegion, layerBaseName } from '../names.js'
import type { LayerZip } from '../builder/zip/index.js'

export interface LayerRequest extends Lineage {
  /** A name, or a layer ARN (which then fixes the region). */
  layerName: string
  /** The build's zip, hashed once when it was written; every region uploads these bytes. */
  zip: LayerZip
  description?: string
  licenseInfo?: string
  compatibleRuntimes: string[]
  compatibleArchitectures: string[]
  skipUnchanged: boolean
  /** Bucket for zips above the direct-upload limit; `{region}` is replaced by the region. */
  s3Bucket?: string
  s3Prefix?: string
  /** Overrides LIMITS.directUploadBytes (tests use a small one). */
  directUploadLimit?: number
}

export interface PublishResult {
  region: string
  layerArn: string
  layerVersionArn: string
  version: number
  /** False when skip-unchanged reused the newest version. */
  published: boolean
  /** base64(SHA-256(zip)), as Lambda reports CodeSha256. */
  codeSha256: string
}

/**
 * How the zip reaches Lambda. Called by input validation too, so a zip too big for a
 * direct upload fails before any API call when there is no bucket to send it through.
 */
export function planUpload(
  zipSize: number,
  s3Bucket?: string,
  limit: number = LIMITS.directUploadBytes
): 'direct' | 's3' {
  if (zipSize <= limit) return 'direct'
  if (s3Bucket) return 's3'
  throw new Error(
    `The layer zip is ${megabytes(zipSize)}, above the ${megabytes(limit)} limit for a direct ` +
      'upload to Lambda: set the `s3-bucket` input (a bucket in each target region; ' +
      '`{region}` in the name is replaced) so the zip goes through S3.'
  )
}

/** The S3 object for a zip: keyed by content so a rerun overwrites the same bytes. */
export function s3Location(
  request: Pick<LayerRequest, 's3Bucket' | 's3Prefix' | 'layerName'>,
  region: string,
  sha256Hex: string
): { bucket: string; key: string } {
  if (!request.s3Bucket) throw new Error('s3-bucket is required for an upload through S3')
  return {
    bucket: request.s3Bucket.replaceAll('{region}', region),
    key: `${request.s3Prefix ?? ''}${layerBaseName(request.layerName)}/${sha256Hex}.zip`
  }
}

export async function publishLayer(
  clients: AwsClients,
  region: string,
  request: LayerRequest
): Promise<PublishResult> {
  checkLayerRegion(request.layerName, region)
  const zip = request.zip
  const upload = planUpload(zip.zipSize, request.s3Bucket, request.directUploadLimit)
  const lambda = clients.lambda(region)

  if (request.skipUnchanged) {
    const existing = await findUnchangedVersion(lambda, region, request)
    if (existing) {
      core.info(`${region}: ${existing.layerVersionArn} already holds this zip; not publishing`)
      return existing
    }
  }

  const content: LayerVersionContentInput =
    upload === 's3' ? await uploadToS3(clients, region, request) : { ZipFile: await zipBytes(zip) }
  const response = await awsCall(
    { action: 'lambda:PublishLayerVersion', resource: `layer ${request.layerName}`, region },
    () =>
      lambda.send(
        new PublishLayerVersionCommand({
          LayerName: request.layerName,
          Description: request.description || undefined,
          LicenseInfo: request.licenseInfo || undefined,
          CompatibleRuntimes: request.compatibleRuntimes as Runtime[],
          CompatibleArchitectures: request.compatibleArchitectures as LambdaArchitecture[],
          Content: content
        })
      )
  )
  // Lambda hashes what it stored: a mismatch means the bytes changed on the way (or in S3).
  const stored = response.Content?.CodeSha256
  if (stored && stored !== zip.codeSha256) {
    throw new Error(
      `${region}: Lambda stored ${response.LayerVersionArn} with CodeSha256 ${stored}, but the zip's ` +
        `is ${zip.codeSha256}; the upload was altered. Delete that version and rerun.`
    )
  }
  core.info(`${region}: published ${response.LayerVersionArn}`)
  return {
    region,
    layerArn: required(response.LayerArn, 'LayerArn'),
    layerVersionArn: required(response.LayerVersionArn, 'LayerVersionArn'),
    version: required(response.Version, 'Version'),
    published: true,
    codeSha256: stored ?? zip.codeSha256
  }
}

/** This lineage's newest version, when it holds the same bytes. */
async function findUnchangedVersion(
  lambda: LambdaClient,
  region: string,
  request: LayerRequest
): Promise<PublishResult | undefined> {
  const zip = request.zip
  const context = {
    action: 'lambda:ListLayerVersions',
    resource: `layer ${request.layerName}`,
    region
  }
  const listed = await awsCall(context, () =>
    listLineage(lambda, request.layerName, request, version => version.ours)
  )
  const newest = listed.find(version => version.ours)
  if (!newest) return undefined
  const version = await awsCall({ ...context, action: 'lambda:GetLayerVersion' }, () =>
    lambda.send(
      new GetLayerVersionCommand({ LayerName: request.layerName, VersionNumber: newest.version })
    )
  )
  if (version.Content?.CodeSha256 !== zip.codeSha256) return undefined
  return {
    region,
    layerArn: required(version.LayerArn, 'LayerArn'),
    layerVersionArn: required(version.LayerVersionArn, 'LayerVersionArn'),
    version: required(version.Version, 'Version'),
    published: false,
    codeSha256: zip.codeSha256
  }
}

async function uploadToS3(
  clients: AwsClients,
  region: string,
  request: LayerRequest
): Promise<LayerVersionContentInput> {
  const zip = request.zip
  const { bucket, key } = s3Location(request, region, zip.sha256Hex)
  core.info(`${region}: uploading the zip to s3://${bucket}/${key}`)
  // A Buffer, not a file stream: the SDK resends the same body when it retries a 5xx or a
  // dropped connection, and a stream would be empty the second time.
  const body = await zipBytes(zip)
  await awsCall({ action: 's3:PutObject', resource: `s3://${bucket}/${key}`, region }, () =>
    clients.s3(region).send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        // S3 verifies a checksum we supply; the SDK then adds no aws-chunked trailer.
        ChecksumSHA256: zip.codeSha256,
        ContentType: 'application/zip'
      })
    )
  )
  return { S3Bucket: bucket, S3Key: key }
}

// Read once and shared by every region, so publishing to several regions holds one copy.
const zipContents = new WeakMap<LayerZip, Promise<Buffer>>()

function zipBytes(zip: LayerZip): Promise<Buffer> {
  let bytes = zipContents.get(zip)
  if (!bytes) {
    bytes = readFile(zip.zipPath)
    zipContents.set(zip, bytes)
  }
  return bytes
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}

function required<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw new Error(`Lambda's response lacks ${field}`)
  return value
}
