// Reading wheels (PEP 427 zips) without unpacking them: the central directory says where each
// entry's compressed bytes are, so the layer zip can copy them as they are. A wheel is data
// written by whoever built it: every name and header is checked before anything is copied.

import fsSync from 'node:fs'
import path from 'node:path'
import { pipeline, Readable } from 'node:stream'
import zlib from 'node:zlib'
import { IO_CHUNK } from './zip/output.js'
import { DEFLATE, STORE } from './zip/format.js'

/** One file of a wheel, as its central directory describes it. */
export interface WheelEntry {
  /** The path inside the wheel, "/"-separated, checked (no `..`, no absolute path). */
  name: string
  method: number
  crc: number
  size: number
  compressedSize: number
  /** Where the compressed bytes start in the wheel file (after the local header). */
  dataOffset: number
  /** Unix permission bits from the central directory, or 0 when the wheel has none. */
  mode: number
}

export interface Wheel {
  /** The wheel file on disk. */
  file: string
  /** Its file name, for messages. */
  filename: string
  /** Files only (directory entries dropped), in central directory order. */
  entries: WheelEntry[]
}

/** A wheel that is not a well-formed zip or holds an entry the layer must never get. */
export class HostileWheel extends Error {
  override name = 'HostileWheel'
}

const EOCD = 0x06054b50
const ZIP64_EOCD = 0x06064b50
const ZIP64_LOCATOR = 0x07064b50
const CENTRAL = 0x02014b50
const LOCAL = 0x04034b50
const MAX32 = 0xffffffff
const MAX16 = 0xffff
const ENCRYPTED = 1 << 0
const DATA_DESCRIPTOR = 1 << 3
const S_IFMT = 0o170000
const S_IFLNK = 0o120000
const S_IFDIR = 0o040000
const MADE_BY_UNIX = 3

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Reads a wheel's central directory and checks every entry's name and local header. */
export function readWheel(file: string): Wheel {
  const filename = path.basename(file)
  const fd = fsSync.openSync(file, 'r')
  try {
    const fileSize = fsSync.fstatSync(fd).size
    const read = (offset: number, length: number): Buffer => readAt(fd, offset, length, filename)
    const { start, count, size } = findCentralDirectory(read, fileSize, filename)
    const central = read(start, size)
    const entries: WheelEntry[] = []
    const seen = new Set<string>()
    let at = 0
    for (let i = 0; i < count; i++) {
      if (at + 46 > central.length || central.readUInt32LE(at) !== CENTRAL) {
        throw new HostileWheel(`${filename}: its central directory is damaged (entry ${i + 1})`)
      }
      const madeBy = central.readUInt16LE(at + 4) >> 8
      const flags = central.readUInt16LE(at + 8)
      const method = central.readUInt16LE(at + 10)
      const crc = central.readUInt32LE(at + 16)
      let compressedSize = central.readUInt32LE(at + 20)
      let size = central.readUInt32LE(at + 24)
      const nameLength = central.readUInt16LE(at + 28)
      const extraLength = central.readUInt16LE(at + 30)
      const commentLength = central.readUInt16LE(at + 32)
      const external = central.readUInt32LE(at + 38)
      let offset = central.readUInt32LE(at + 42)
      const rawName = central.subarray(at + 46, at + 46 + nameLength)
      const extra = central.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength)
      at += 46 + nameLength + extraLength + commentLength
      const name = entryName(rawName, filename)
      // the zip64 extra holds, in this order, only the fields that overflowed
      const wide = zip64Fields(extra)
      if (size === MAX32) size = takeWide(wide, filename, name)
      if (compressedSize === MAX32) compressedSize = takeWide(wide, filename, name)
      if (offset === MAX32) offset = takeWide(wide, filename, name)
      const unixMode = madeBy === MADE_BY_UNIX ? external >>> 16 : 0
      if ((unixMode & S_IFMT) === S_IFLNK) {
        throw new HostileWheel(
          `${filename}: ${name} is a symlink; a wheel holds regular files only`
        )
      }
      if (flags & ENCRYPTED) throw new HostileWheel(`${filename}: ${name} is encrypted`)
      const isDirectory = name.endsWith('/') || (unixMode & S_IFMT) === S_IFDIR
      if (isDirectory) continue
      if (seen.has(name)) throw new HostileWheel(`${filename}: ${name} appears twice`)
      seen.add(name)
      const dataOffset = checkLocalHeader(read, offset, rawName, {
        filename,
        name,
        flags,
        method,
        crc,
        size,
        compressedSize
      })
      if (dataOffset + compressedSize > fileSize) {
        throw new HostileWheel(`${filename}: ${name} runs past the end of the file`)
      }
      entries.push({
        name,
        method,
        crc,
        size,
        compressedSize,
        dataOffset,
        mode: unixMode & 0o7777
      })
    }
    return { file, filename, entries }
  } finally {
    fsSync.closeSync(fd)
  }
}

/**
 * An entry name the layer may hold: UTF-8, relative, "/"-separated, no `..`, no NUL. Anything
 * else is refused rather than cleaned up: pip itself refuses such wheels, and a quiet fix
 * would put a file somewhere nobody asked for.
 */
function entryName(raw: Buffer, filename: string): string {
  let name: string
  try {
    name = utf8.decode(raw)
  } catch {
    throw new HostileWheel(`${filename}: an entry name is not UTF-8 (${raw.toString('hex')})`)
  }
  const shown = JSON.stringify(name)
  if (name.includes('\0')) throw new HostileWheel(`${filename}: ${shown} holds a NUL byte`)
  if (name.includes('\\')) throw new HostileWheel(`${filename}: ${shown} holds a backslash`)
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) {
    throw new HostileWheel(`${filename}: ${shown} is an absolute path`)
  }
  if (name.split('/').some(part => part === '..')) {
    throw new HostileWheel(`${filename}: ${shown} climbs out with ".."`)
  }
  if (
    name === '' ||
    name
      .split('/')
      .slice(0, -1)
      .some(part => part === '' || part === '.')
  ) {
    throw new HostileWheel(`${filename}: ${shown} is not a plain relative path`)
  }
  return name
}

interface HeaderFacts {
  filename: string
  name: string
  flags: number
  method: number
  crc: number
  size: number
  compressedSize: number
}

/** The local header must agree with the central directory; returns where the data starts. */
function checkLocalHeader(
  read: (offset: number, length: number) => Buffer,
  offset: number,
  rawName: Buffer,
  facts: HeaderFacts
): number {
  const disagree = (what: string) =>
    new HostileWheel(
      `${facts.filename}: ${facts.name}: its local header disagrees with the central directory (${what})`
    )
  const header = read(offset, 30)
  if (header.readUInt32LE(0) !== LOCAL) throw disagree('no local header where it points')
  const nameLength = header.readUInt16LE(26)
  const extraLength = header.readUInt16LE(28)
  if (!read(offset + 30, nameLength).equals(rawName)) throw disagree('name')
  if (header.readUInt16LE(8) !== facts.method) throw disagree('compression method')
  const flags = header.readUInt16LE(6)
  if ((flags & DATA_DESCRIPTOR) !== (facts.flags & DATA_DESCRIPTOR)) throw disagree('flags')
  // with a data descriptor the local CRC and sizes may be zero; the central ones count
  if (!(flags & DATA_DESCRIPTOR)) {
    if (header.readUInt32LE(14) !== facts.crc) throw disagree('CRC')
    const localCompressed = header.readUInt32LE(18)
    const localSize = header.readUInt32LE(22)
    const wide = zip64Fields(read(offset + 30 + nameLength, extraLength))
    const compressed = localCompressed === MAX32 ? wide[1] : localCompressed
    const size = localSize === MAX32 ? wide[0] : localSize
    if (compressed !== facts.compressedSize || size !== facts.size) throw disagree('sizes')
  }
  return offset + 30 + nameLength + extraLength
}

function zip64Fields(extra: Buffer): number[] {
  for (let at = 0; at + 4 <= extra.length;) {
    const id = extra.readUInt16LE(at)
    const length = extra.readUInt16LE(at + 2)
    if (id === 0x0001) {
      const fields: number[] = []
      for (let i = 0; i + 8 <= length && at + 4 + i + 8 <= extra.length; i += 8) {
        fields.push(Number(extra.readBigUInt64LE(at + 4 + i)))
      }
      return fields
    }
    at += 4 + length
  }
  return []
}

function takeWide(wide: number[], filename: string, name: string): number {
  const value = wide.shift()
  if (value === undefined || !Number.isSafeInteger(value)) {
    throw new HostileWheel(`${filename}: ${name} has a damaged zip64 extra field`)
  }
  return value
}

function findCentralDirectory(
  read: (offset: number, length: number) => Buffer,
  fileSize: number,
  filename: string
): { start: number; count: number; size: number } {
  const tailLength = Math.min(fileSize, 22 + MAX16)
  const tail = read(fileSize - tailLength, tailLength)
  let end = -1
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD) {
      end = i
      break
    }
  }
  if (end === -1) throw new HostileWheel(`${filename} is not a zip file`)
  let count = tail.readUInt16LE(end + 10)
  let size = tail.readUInt32LE(end + 12)
  let start = tail.readUInt32LE(end + 16)
  const locatorAt = end - 20
  if (locatorAt >= 0 && tail.readUInt32LE(locatorAt) === ZIP64_LOCATOR) {
    const zip64At = Number(tail.readBigUInt64LE(locatorAt + 8))
    const record = read(zip64At, 56)
    if (record.readUInt32LE(0) !== ZIP64_EOCD) {
      throw new HostileWheel(`${filename}: its zip64 end record is missing`)
    }
    count = Number(record.readBigUInt64LE(32))
    size = Number(record.readBigUInt64LE(40))
    start = Number(record.readBigUInt64LE(48))
  }
  if (start + size > fileSize)
    throw new HostileWheel(`${filename}: its central directory is damaged`)
  return { start, count, size }
}

function readAt(fd: number, offset: number, length: number, filename: string): Buffer {
  const buffer = Buffer.allocUnsafe(length)
  let filled = 0
  while (filled < length) {
    const got = fsSync.readSync(fd, buffer, filled, length - filled, offset + filled)
    if (got === 0) throw new HostileWheel(`${filename} is truncated`)
    filled += got
  }
  return buffer
}

/** The entry's bytes as stored in the wheel (compressed, if it is). */
export function compressedBytes(wheel: Wheel, entry: WheelEntry): Buffer {
  const fd = fsSync.openSync(wheel.file, 'r')
  try {
    return readAt(fd, entry.dataOffset, entry.compressedSize, wheel.filename)
  } finally {
    fsSync.closeSync(fd)
  }
}

/** Reads the compressed bytes in chunks of at most IO_CHUNK, for copying big entries. */
export async function* compressedChunks(wheel: Wheel, entry: WheelEntry): AsyncGenerator<Buffer> {
  const fd = fsSync.openSync(wheel.file, 'r')
  try {
    for (let done = 0; done < entry.compressedSize;) {
      const length = Math.min(IO_CHUNK, entry.compressedSize - done)
      yield readAt(fd, entry.dataOffset + done, length, wheel.filename)
      done += length
    }
  } finally {
    fsSync.closeSync(fd)
  }
}

/** The entry's content, inflated on the thread pool and checked against its CRC. */
export async function entryContent(wheel: Wheel, entry: WheelEntry): Promise<Buffer> {
  const raw = compressedBytes(wheel, entry)
  let content: Buffer
  if (entry.method === STORE) content = raw
  else if (entry.method === DEFLATE) {
    content = await new Promise<Buffer>((resolve, reject) =>
      zlib.inflateRaw(raw, inflateOptions(entry.size), (error, out) =>
        error
          ? reject(
              new HostileWheel(
                `${wheel.filename}: ${entry.name} does not inflate (${error.message})`
              )
            )
          : resolve(out)
      )
    )
  } else {
    throw new HostileWheel(
      `${wheel.filename}: ${entry.name} uses compression method ${entry.method}; wheels use stored or deflate`
    )
  }
  checkContent(wheel, entry, content)
  return content
}

/**
 * Output capped at the listed size (a deflate bomb stops there) and written into one buffer
 * of that size: zlib's default 16 KiB chunks cost a callback each and a copy to join them,
 * which for a 30 MB shared object was most of the main thread's time.
 */
function inflateOptions(size: number): zlib.ZlibOptions {
  // one byte more than listed, so a whole entry never asks for a second chunk
  return {
    maxOutputLength: Math.max(1, size),
    chunkSize: Math.max(zlib.constants.Z_MIN_CHUNK, size + 1)
  }
}

/** Inflates the entry only to check its size and CRC, streaming, so big entries cost no memory. */
export async function checkEntry(wheel: Wheel, entry: WheelEntry): Promise<void> {
  if (checked.has(entry)) return
  // by the inflated size: 200 MB of zeros deflate to 200 kB, and inflating them whole costs 200 MB
  if (entry.size <= IO_CHUNK * 8 || (entry.method !== STORE && entry.method !== DEFLATE)) {
    await entryContent(wheel, entry)
    return
  }
  for await (const chunk of inflatedChunks(wheel, entry)) void chunk
}

/**
 * The entry's content a chunk at a time, inflated as it is read, for entries too big to hold:
 * its size and CRC are checked on the way, and a deflate bomb stops at the size listed.
 */
export async function* inflatedChunks(wheel: Wheel, entry: WheelEntry): AsyncGenerator<Buffer> {
  const source = compressedChunks(wheel, entry)
  let chunks: AsyncIterable<Buffer>
  if (entry.method === STORE) chunks = source
  else if (entry.method === DEFLATE) {
    // 1 MiB out at a time: zlib's default 16 KiB costs a callback each on the main thread
    chunks = pipeline(Readable.from(source), zlib.createInflateRaw({ chunkSize: IO_CHUNK }), ignore)
  } else {
    yield await entryContent(wheel, entry)
    return
  }
  const doesNotInflate = (why: string) =>
    new HostileWheel(`${wheel.filename}: ${entry.name} does not inflate (${why})`)
  let crc = 0
  let size = 0
  try {
    for await (const chunk of chunks) {
      size += chunk.length
      // a deflate bomb stops at the size the central directory gives, not at the end of the disk
      if (size > entry.size) throw doesNotInflate(`more than the ${entry.size} bytes listed`)
      crc = zlib.crc32(chunk, crc)
      yield chunk
    }
  } catch (error) {
    if (error instanceof HostileWheel) throw error
    throw doesNotInflate(error instanceof Error ? error.message : String(error))
  }
  if (size !== entry.size || crc >>> 0 !== entry.crc >>> 0) {
    throw new HostileWheel(
      `${wheel.filename}: ${entry.name} does not match its CRC or size when inflated`
    )
  }
  checked.add(entry)
}

function ignore(): void {}

/** Entries already inflated once and found whole: verification and the zip both need that. */
const checked = new WeakSet<WheelEntry>()

function checkContent(wheel: Wheel, entry: WheelEntry, content: Buffer): void {
  if (content.length !== entry.size || zlib.crc32(content) >>> 0 !== entry.crc >>> 0) {
    throw new HostileWheel(
      `${wheel.filename}: ${entry.name} does not match its CRC or size when inflated`
    )
  }
  checked.add(entry)
}
