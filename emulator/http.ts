// HTTP plumbing shared by the Lambda and S3 halves: SigV4 scope, bodies, replies.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { randomUUID } from 'node:crypto'
import { ApiError } from './errors.js'

export interface CredentialScope {
  accessKeyId: string
  region: string
  service: string
}

/**
 * The region and service the client signed for, from `Authorization: AWS4-HMAC-SHA256
 * Credential=AKID/DATE/REGION/SERVICE/aws4_request, ...` or a presigned URL's
 * X-Amz-Credential. Signatures are not checked: the scope is all the emulator needs.
 */
export function credentialScope(
  authorization: string | undefined,
  query: URLSearchParams
): CredentialScope | undefined {
  const credential = authorization?.startsWith('AWS4-HMAC-SHA256 ')
    ? /Credential=([^,\s]+)/.exec(authorization)?.[1]
    : (query.get('X-Amz-Credential') ?? undefined)
  const parts = credential?.split('/')
  if (!parts || parts.length !== 5 || parts[4] !== 'aws4_request') return undefined
  const [accessKeyId, , region, service] = parts
  if (!accessKeyId || !region || !service) return undefined
  return { accessKeyId, region, service }
}

export interface ReadBody {
  /** Undefined when the body was larger than the limit (it was read and thrown away). */
  body: Buffer | undefined
  bytes: number
}

/** Reads a whole request body, keeping at most `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<ReadBody> {
  const chunks: Buffer[] = []
  let bytes = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length
    if (bytes <= limit) chunks.push(chunk)
    else chunks.length = 0
  }
  return { body: bytes <= limit ? Buffer.concat(chunks, bytes) : undefined, bytes }
}

/** Reads and discards whatever is left of a body, so an early reply does not break the client. */
export async function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded || req.destroyed) return
  await new Promise<void>(resolve => {
    req.on('end', resolve)
    req.on('error', () => resolve())
    req.on('close', resolve)
    req.resume()
  })
}

export interface Reply {
  status: number
  headers?: Record<string, string>
  json?: unknown
  body?: Buffer
  /** HEAD replies carry a Content-Length but no body. */
  head?: boolean
}

export function send(res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...reply.headers }
  let body = reply.body
  if (reply.json !== undefined) {
    body = Buffer.from(JSON.stringify(reply.json))
    headers['Content-Type'] = 'application/json'
  }
  if (body && headers['Content-Length'] === undefined) {
    headers['Content-Length'] = String(body.length)
  }
  if (!body && headers['Content-Length'] === undefined) headers['Content-Length'] = '0'
  res.writeHead(reply.status, headers)
  res.end(reply.head ? undefined : body)
}

export function lambdaErrorReply(error: ApiError): Reply {
  return {
    status: error.status,
    headers: { ...error.headers, 'X-Amzn-ErrorType': error.type },
    json: { __type: error.type, message: error.message, ...error.fields }
  }
}

export function s3ErrorReply(error: ApiError, head: boolean): Reply {
  const fields = Object.entries(error.fields)
    .map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
    .join('')
  const requestId = randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase()
  const xml =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${escapeXml(error.type)}</Code><Message>${escapeXml(error.message)}</Message>` +
    `${fields}<RequestId>${requestId}</RequestId></Error>`
  return {
    status: error.status,
    headers: { ...error.headers, 'Content-Type': 'application/xml', 'x-amz-request-id': requestId },
    body: Buffer.from(xml),
    head
  }
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, c => `&#${c.charCodeAt(0)};`)
}

/** Lambda's timestamp format: 2026-11-27T09:57:56.123+0000. */
export function lambdaTimestamp(date = new Date()): string {
  return date.toISOString().replace('Z', '+0000')
}

export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise(resolve => setTimeout(resolve, ms)) : Promise.resolve()
}
