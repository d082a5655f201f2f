// The aws-chunked body encoding the S3 client uses for streamed uploads
// (x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER or STREAMING-AWS4-HMAC-SHA256-*):
//   <hex size>[;chunk-signature=...]\r\n<bytes>\r\n ... 0[;...]\r\n<trailer: value\r\n>*\r\n
// Decoded as it arrives, so a large upload is never held twice.
import { s3Error } from './errors.js'

export interface DecodedBody {
  chunks: Buffer[]
  length: number
  /** Trailing headers, lower-cased, e.g. x-amz-checksum-crc32. */
  trailers: Record<string, string>
}

type Expecting = 'size' | 'data' | 'data-end' | 'trailer' | 'done'

export async function decodeAwsChunked(body: AsyncIterable<Buffer>): Promise<DecodedBody> {
  const decoded: DecodedBody = { chunks: [], length: 0, trailers: {} }
  let expecting: Expecting = 'size'
  let remaining = 0
  let pending = Buffer.alloc(0)

  for await (const incoming of body) {
    const buffer = pending.length > 0 ? Buffer.concat([pending, incoming]) : incoming
    pending = Buffer.alloc(0)
    let at = 0
    while (at < buffer.length && expecting !== 'done') {
      if (expecting === 'data') {
        const take = Math.min(remaining, buffer.length - at)
        decoded.chunks.push(buffer.subarray(at, at + take))
        decoded.length += take
        remaining -= take
        at += take
        if (remaining === 0) expecting = 'data-end'
        continue
      }
      if (expecting === 'data-end') {
        if (buffer.length - at < 2) break
        if (buffer[at] !== 0x0d || buffer[at + 1] !== 0x0a)
          throw malformed('chunk not ended by CRLF')
        at += 2
        expecting = 'size'
        continue
      }
      const lineEnd = buffer.indexOf('\r\n', at)
      if (lineEnd < 0) break
      const line = buffer.toString('latin1', at, lineEnd)
      at = lineEnd + 2
      if (expecting === 'size') {
        const size = Number.parseInt(line.split(';')[0] ?? '', 16)
        if (!Number.isFinite(size) || size < 0) throw malformed(`bad chunk size "${line}"`)
        remaining = size
        expecting = size === 0 ? 'trailer' : 'data'
      } else if (line === '') {
        expecting = 'done'
      } else {
        const colon = line.indexOf(':')
        if (colon < 0) throw malformed(`bad trailer "${line}"`)
        decoded.trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
    }
    if (expecting !== 'done' && at < buffer.length) pending = Buffer.from(buffer.subarray(at))
  }
  if (expecting !== 'done') throw malformed('the body ended before the final chunk')
  return decoded
}

function malformed(detail: string) {
  return s3Error(
    400,
    'IncompleteBody',
    `The request body is not valid aws-chunked encoding: ${detail}`
  )
}
