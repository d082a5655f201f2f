// Just enough S3 for layer zips too big to send inline: path-style (and *.localhost
// virtual-hosted) PutObject, GetObject, HeadObject, DeleteObject, CreateBucket, HeadBucket.
// Bucket names are global and each bucket lives in one region, as in S3.
import type { IncomingMessage } from 'node:http'
import { createHash } from 'node:crypto'
import * as zlib from 'node:zlib'
import { decodeAwsChunked } from './aws-chunked.js'
import { s3Error, type ApiError } from './errors.js'
import type { Reply } from './http.js'
import type { EmulatorState } from './state.js'

export type S3Operation =
  'PutObject' | 'GetObject' | 'HeadObject' | 'DeleteObject' | 'CreateBucket' | 'HeadBucket'

export interface S3Target {
  operation: S3Operation
  bucket: string
  key: string
}

export interface S3Request extends S3Target {
  state: EmulatorState
  region: string
  req: IncomingMessage
}

/** The IAM action each operation needs (HEAD requests need the GET permission). */
export const S3_IAM_ACTIONS: Record<S3Operation, string> = {
  PutObject: 's3:PutObject',
  GetObject: 's3:GetObject',
  HeadObject: 's3:GetObject',
  DeleteObject: 's3:DeleteObject',
  CreateBucket: 's3:CreateBucket',
  HeadBucket: 's3:ListBucket'
}

const OBJECT_OPERATIONS: Record<string, S3Operation> = {
  PUT: 'PutObject',
  GET: 'GetObject',
  HEAD: 'HeadObject',
  DELETE: 'DeleteObject'
}
const BUCKET_OPERATIONS: Record<string, S3Operation> = { PUT: 'CreateBucket', HEAD: 'HeadBucket' }
const VIRTUAL_HOST = /^([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\.localhost(?::\d+)?$/
const MULTIPART = ['uploads', 'uploadId', 'partNumber']

/** Which operation a request is, or undefined for what the emulator does not implement. */
export function s3Target(method: string, url: URL, host: string | undefined): S3Target | undefined {
  if (MULTIPART.some(name => url.searchParams.has(name))) return undefined
  const raw = url.pathname.slice(1)
  const virtualHost = VIRTUAL_HOST.exec(host ?? '')
  const slash = raw.indexOf('/')
  const [rawBucket, rawKey] = virtualHost
    ? [virtualHost[1]!, raw]
    : slash < 0
      ? [raw, '']
      : [raw.slice(0, slash), raw.slice(slash + 1)]
  let bucket: string
  let key: string
  try {
    bucket = decodeURIComponent(rawBucket)
    key = decodeURIComponent(rawKey)
  } catch {
    return undefined
  }
  if (!bucket) return undefined
  const operation = key ? OBJECT_OPERATIONS[method] : BUCKET_OPERATIONS[method]
  return operation ? { operation, bucket, key } : undefined
}

export async function handleS3(request: S3Request): Promise<Reply> {
  switch (request.operation) {
    case 'PutObject':
      return putObject(request)
    case 'GetObject':
    case 'HeadObject':
      return getObject(request, request.operation === 'HeadObject')
    case 'DeleteObject':
      return deleteObject(request)
    case 'CreateBucket':
      return createBucket(request)
    case 'HeadBucket':
      return headBucket(request)
  }
}

async function putObject(request: S3Request): Promise<Reply> {
  const { state, region, bucket, key, req } = request
  checkBucketRegion(state, bucket, region)
  const body = await objectBody(req)
  const stored = state.region(region)
  const etag = `"${createHash('md5').update(body.bytes).digest('hex')}"`
  stored.buckets.add(bucket)
  stored.objects.set(`${bucket}/${key}`, body.bytes)
  stored.objectMeta.set(`${bucket}/${key}`, {
    etag,
    lastModified: new Date(),
    contentType: header(req, 'content-type') ?? 'binary/octet-stream'
  })
  return { status: 200, headers: { ETag: etag, ...body.checksums } }
}

function getObject(request: S3Request, head: boolean): Reply {
  const { state, region, bucket, key } = request
  const stored = objectRegion(state, bucket, region)
  const bytes = stored.objects.get(`${bucket}/${key}`)
  const meta = stored.objectMeta.get(`${bucket}/${key}`)
  if (!bytes || !meta) {
    throw s3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key })
  }
  return {
    status: 200,
    headers: {
      'Content-Type': meta.contentType,
      'Content-Length': String(bytes.length),
      ETag: meta.etag,
      'Last-Modified': meta.lastModified.toUTCString(),
      'Accept-Ranges': 'bytes'
    },
    body: bytes,
    head
  }
}

function deleteObject(request: S3Request): Reply {
  const { state, region, bucket, key } = request
  const stored = objectRegion(state, bucket, region)
  stored.objects.delete(`${bucket}/${key}`)
  stored.objectMeta.delete(`${bucket}/${key}`)
  return { status: 204 }
}

function createBucket(request: S3Request): Reply {
  const { state, region, bucket } = request
  if (state.bucketRegion(bucket) !== undefined) {
    throw s3Error(
      409,
      'BucketAlreadyOwnedByYou',
      'Your previous request to create the named bucket succeeded and you already own it.',
      { BucketName: bucket }
    )
  }
  state.region(region).buckets.add(bucket)
  return { status: 200, headers: { Location: `/${bucket}` } }
}

function headBucket(request: S3Request): Reply {
  const home = request.state.bucketRegion(request.bucket)
  if (home === undefined) throw noSuchBucket(request.bucket)
  return { status: 200, headers: { 'x-amz-bucket-region': home } }
}

/** The region's store for a bucket that must already exist in that region. */
function objectRegion(state: EmulatorState, bucket: string, region: string) {
  if (state.bucketRegion(bucket) === undefined) throw noSuchBucket(bucket)
  checkBucketRegion(state, bucket, region)
  return state.region(region)
}

function checkBucketRegion(state: EmulatorState, bucket: string, region: string): void {
  const home = state.bucketRegion(bucket)
  if (home !== undefined && home !== region) {
    throw s3Error(
      301,
      'PermanentRedirect',
      'The bucket you are attempting to access must be addressed using the specified endpoint. ' +
        'Please send all future requests to this endpoint.',
      { Bucket: bucket },
      { 'x-amz-bucket-region': home }
    )
  }
}

function noSuchBucket(bucket: string): ApiError {
  return s3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket })
}

interface ObjectBody {
  bytes: Buffer
  /** The checksum headers S3 echoes back, e.g. x-amz-checksum-crc32. */
  checksums: Record<string, string>
}

/** The object's bytes, decoded from aws-chunked when streamed, with every checksum verified. */
async function objectBody(req: IncomingMessage): Promise<ObjectBody> {
  const contentSha256 = header(req, 'x-amz-content-sha256')
  const encodings = (header(req, 'content-encoding') ?? '').split(',').map(e => e.trim())
  const claimed: Record<string, string> = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('x-amz-checksum-') && typeof value === 'string') claimed[name] = value
  }
  let bytes: Buffer
  if (encodings.includes('aws-chunked') || contentSha256?.startsWith('STREAMING-')) {
    const decoded = await decodeAwsChunked(req as AsyncIterable<Buffer>)
    bytes = Buffer.concat(decoded.chunks, decoded.length)
    const declared = header(req, 'x-amz-decoded-content-length')
    if (declared !== undefined && Number(declared) !== bytes.length) {
      throw s3Error(
        400,
        'IncompleteBody',
        `x-amz-decoded-content-length says ${declared} bytes but the chunks held ${bytes.length}`
      )
    }
    for (const [name, value] of Object.entries(decoded.trailers)) {
      if (name.startsWith('x-amz-checksum-')) claimed[name] = value
    }
  } else {
    const chunks: Buffer[] = []
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk)
    bytes = Buffer.concat(chunks)
    if (contentSha256 && /^[0-9a-f]{64}$/.test(contentSha256)) {
      if (createHash('sha256').update(bytes).digest('hex') !== contentSha256) {
        throw s3Error(
          400,
          'XAmzContentSHA256Mismatch',
          "The provided 'x-amz-content-sha256' header does not match what was computed."
        )
      }
    }
  }
  const contentMd5 = header(req, 'content-md5')
  if (contentMd5 && createHash('md5').update(bytes).digest('base64') !== contentMd5) {
    throw s3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.')
  }
  for (const [name, value] of Object.entries(claimed)) {
    const actual = checksum(name.slice('x-amz-checksum-'.length), bytes)
    if (actual !== undefined && actual !== value) {
      const algorithm = name.slice('x-amz-checksum-'.length).toUpperCase()
      throw s3Error(
        400,
        'BadDigest',
        `The ${algorithm} you specified did not match the calculated checksum.`
      )
    }
  }
  return { bytes, checksums: claimed }
}

/** base64 checksum as S3 sends it; undefined for algorithms the emulator does not compute. */
function checksum(algorithm: string, bytes: Buffer): string | undefined {
  if (algorithm === 'sha256' || algorithm === 'sha1') {
    return createHash(algorithm).update(bytes).digest('base64')
  }
  // zlib.crc32 arrived in Node 22.2; older Nodes skip the check rather than fail.
  const crc32 = (zlib as { crc32?: (data: Buffer) => number }).crc32
  if (algorithm === 'crc32' && crc32) {
    const digest = Buffer.alloc(4)
    digest.writeUInt32BE(crc32(bytes))
    return digest.toString('base64')
  }
  return undefined
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return Array.isArray(value) ? value.join(',') : value
}

/**
 * An object's bytes as S3 answers GET with a `Range` header (RFC 9110): one range `bytes=a-b`,
 * `bytes=a-` or `bytes=-n` gives 206 with Content-Range; a range that starts past the end gives
 * 416 InvalidRange; no range, several ranges or a malformed header give the whole object (S3
 * ignores what it does not support).
 */
export function rangeReply(content: Buffer, range: string | undefined, contentType: string): Reply {
  const whole: Reply = {
    status: 200,
    headers: { 'Content-Type': contentType, 'Accept-Ranges': 'bytes' },
    body: content
  }
  const match = /^bytes=(\d*)-(\d*)$/.exec(range?.trim() ?? '')
  if (!match || (match[1] === '' && match[2] === '')) return whole
  const size = content.length
  let first: number
  let last: number
  if (match[1] === '') {
    const suffix = Number(match[2])
    if (suffix === 0) throw invalidRange(size)
    first = Math.max(0, size - suffix)
    last = size - 1
  } else {
    first = Number(match[1])
    last = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1)
    if (match[2] !== '' && Number(match[2]) < first) return whole
  }
  if (first >= size) throw invalidRange(size)
  return {
    status: 206,
    headers: {
      'Content-Type': contentType,
      'Accept-Ranges': 'bytes',
      'Content-Range': `bytes ${first}-${last}/${size}`
    },
    body: content.subarray(first, last + 1)
  }
}

function invalidRange(size: number): ApiError {
  return s3Error(
    416,
    'InvalidRange',
    'The requested range is not satisfiable',
    { ActualObjectSize: String(size) },
    { 'Content-Range': `bytes */${size}` }
  )
}
