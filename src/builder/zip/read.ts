// Reads a zip archive by byte ranges: the end-of-central-directory record, the central
// directory, and only the entries asked for. The same code reads a local file and a published
// layer version over HTTP range requests, so a plan reads a 200 MB layer in a few kilobytes.
import { open } from 'node:fs/promises'
import { inflateRawSync } from 'node:zlib'
import { DEFLATE, STORE } from './format.js'

/** Bytes [offset, offset + length) of the archive; fewer only at its end. */
export type ReadRange = (offset: number, length: number) => Promise<Buffer>

export interface ZipSource {
  size: number
  read: ReadRange
}

export interface ZipEntry {
  name: string
  method: number
  crc32: number
  compressedSize: number
  uncompressedSize: number
  localHeaderOffset: number
  /** Unix mode bits from the external attributes (0 when the archive was not made on Unix). */
  mode: number
}

const EOCD = 0x06054b50
const ZIP64_LOCATOR = 0x07064b50
const ZIP64_EOCD = 0x06064b50
const CENTRAL_ENTRY = 0x02014b50
const LOCAL_ENTRY = 0x04034b50
const ZIP64_EXTRA = 0x0001
const EOCD_BYTES = 22
const MAX_COMMENT = 0xffff
const LOCAL_HEADER_BYTES = 30
/** Room for a local extra field (extended timestamps, ZIP64) read along with the data. */
const LOCAL_EXTRA_SLACK = 64

export class ZipFormatError extends Error {
  override name = 'ZipFormatError'
}

/** A local file as a ZipSource; close it when done. */
export async function fileZipSource(
  zipPath: string
): Promise<ZipSource & { close(): Promise<void> }> {
  const file = await open(zipPath, 'r')
  const { size } = await file.stat()
  return {
    size,
    read: async (offset, length) => {
      const buffer = Buffer.alloc(Math.max(0, Math.min(length, size - offset)))
      const { bytesRead } = await file.read(buffer, 0, buffer.length, offset)
      return buffer.subarray(0, bytesRead)
    },
    close: () => file.close()
  }
}

/**
 * The source with its last `tailLength` bytes kept after the first read of them: the central
 * directory read fetches them, and entries near the end (or in a small zip, all of them) are
 * then served without another request.
 */
export function withCachedTail(source: ZipSource): ZipSource {
  let tail: { offset: number; bytes: Buffer } | undefined
  return {
    size: source.size,
    read: async (offset, length) => {
      if (tail && offset >= tail.offset) {
        return tail.bytes.subarray(offset - tail.offset, offset - tail.offset + length)
      }
      const bytes = await source.read(offset, length)
      if (!tail && offset + bytes.length === source.size) tail = { offset, bytes }
      return bytes
    }
  }
}

/** Every entry of the central directory, in archive order: two reads at most. */
export async function readZipDirectory(source: ZipSource): Promise<ZipEntry[]> {
  const tailLength = Math.min(source.size, EOCD_BYTES + MAX_COMMENT + 20)
  const tailOffset = source.size - tailLength
  const tail = await source.read(tailOffset, tailLength)
  const eocd = findEocd(tail)
  if (eocd === undefined)
    throw new ZipFormatError('not a zip archive (no end of central directory)')
  let entries = tail.readUInt16LE(eocd + 10)
  let size = tail.readUInt32LE(eocd + 12)
  let offset = tail.readUInt32LE(eocd + 16)
  if (entries === 0xffff || size === 0xffffffff || offset === 0xffffffff) {
    const locator = eocd - 20
    if (locator < 0 || tail.readUInt32LE(locator) !== ZIP64_LOCATOR) {
      throw new ZipFormatError('ZIP64 archive without its locator')
    }
    const record = await source.read(Number(tail.readBigUInt64LE(locator + 8)), 56)
    if (record.length < 56 || record.readUInt32LE(0) !== ZIP64_EOCD) {
      throw new ZipFormatError('ZIP64 end of central directory missing')
    }
    entries = Number(record.readBigUInt64LE(32))
    size = Number(record.readBigUInt64LE(40))
    offset = Number(record.readBigUInt64LE(48))
  }
  if (offset + size > source.size) throw new ZipFormatError('central directory past the end')
  // Usually already in the tail: no second request for a small directory.
  const directory =
    offset >= tailOffset
      ? tail.subarray(offset - tailOffset, offset - tailOffset + size)
      : await source.read(offset, size)
  return parseDirectory(directory, entries)
}

function findEocd(tail: Buffer): number | undefined {
  for (let at = tail.length - EOCD_BYTES; at >= 0; at--) {
    if (tail.readUInt32LE(at) === EOCD) return at
  }
  return undefined
}

function parseDirectory(directory: Buffer, count: number): ZipEntry[] {
  const entries: ZipEntry[] = []
  let at = 0
  for (let i = 0; i < count; i++) {
    if (at + 46 > directory.length || directory.readUInt32LE(at) !== CENTRAL_ENTRY) {
      throw new ZipFormatError(`central directory entry ${i + 1} is damaged`)
    }
    const nameLength = directory.readUInt16LE(at + 28)
    const extraLength = directory.readUInt16LE(at + 30)
    const commentLength = directory.readUInt16LE(at + 32)
    const name = directory.toString('utf8', at + 46, at + 46 + nameLength)
    const extra = directory.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength)
    const fields = {
      uncompressedSize: directory.readUInt32LE(at + 24),
      compressedSize: directory.readUInt32LE(at + 20),
      localHeaderOffset: directory.readUInt32LE(at + 42)
    }
    entries.push({
      name,
      method: directory.readUInt16LE(at + 10),
      crc32: directory.readUInt32LE(at + 16),
      ...zip64Fields(fields, extra),
      mode: (directory.readUInt32LE(at + 38) >>> 16) & 0o177777
    })
    at += 46 + nameLength + extraLength + commentLength
  }
  return entries
}

/** The ZIP64 extra field holds, in this order, each field whose header value is 0xFFFFFFFF. */
function zip64Fields<T extends Record<string, number>>(fields: T, extra: Buffer): T {
  const result: Record<string, number> = { ...fields }
  let at = 0
  while (at + 4 <= extra.length) {
    const id = extra.readUInt16LE(at)
    const length = extra.readUInt16LE(at + 2)
    if (id === ZIP64_EXTRA) {
      let field = at + 4
      for (const key of ['uncompressedSize', 'compressedSize', 'localHeaderOffset']) {
        if (result[key] !== 0xffffffff || field + 8 > at + 4 + length) continue
        result[key] = Number(extra.readBigUInt64LE(field))
        field += 8
      }
    }
    at += 4 + length
  }
  return result as T
}

/** One entry's bytes, inflated: one range request for its local header and data. */
export async function readZipEntry(source: ZipSource, entry: ZipEntry): Promise<Buffer> {
  // the local name is the central one; its extra field may differ, so leave it some room
  const nameBytes = Buffer.byteLength(entry.name)
  const length = LOCAL_HEADER_BYTES + nameBytes + LOCAL_EXTRA_SLACK + entry.compressedSize
  const chunk = await source.read(entry.localHeaderOffset, length)
  if (chunk.length < LOCAL_HEADER_BYTES || chunk.readUInt32LE(0) !== LOCAL_ENTRY) {
    throw new ZipFormatError(`${entry.name}: local header missing`)
  }
  const start = LOCAL_HEADER_BYTES + chunk.readUInt16LE(26) + chunk.readUInt16LE(28)
  let data = chunk.subarray(start, start + entry.compressedSize)
  // the local name and extra field were longer than the slack: fetch the rest
  if (data.length < entry.compressedSize && entry.localHeaderOffset + length < source.size) {
    data = await source.read(entry.localHeaderOffset + start, entry.compressedSize)
  }
  if (data.length < entry.compressedSize) throw new ZipFormatError(`${entry.name}: cut short`)
  if (entry.method === STORE) return data
  if (entry.method === DEFLATE) {
    try {
      return inflateRawSync(data, { maxOutputLength: Math.max(1, entry.uncompressedSize) })
    } catch (error) {
      throw new ZipFormatError(`${entry.name}: cannot be inflated (${(error as Error).message})`)
    }
  }
  throw new ZipFormatError(`${entry.name}: compression method ${entry.method} is not supported`)
}
