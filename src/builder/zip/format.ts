// Zip records (APPNOTE.TXT 4.3): local and central headers and the end of central directory.

import { IO_CHUNK, type HashingOutput } from './output.js'

// 1980-01-01 00:00:00, the earliest DOS time: nothing about the build machine's clock leaks in.
const DOS_TIME = 0
const DOS_DATE = (1 << 5) | 1
const UNIX = 3
export const STORE = 0
export const DEFLATE = 8
const UTF8_FLAG = 1 << 11
const MAX32 = 0xffffffff
const MAX16 = 0xffff

export interface CentralRecord {
  name: Buffer
  isDirectory: boolean
  method: number
  crc: number
  size: number
  compressedSize: number
  offset: number
  externalAttributes: number
}

/** What a local header says about an entry's content; compress.ts's EntryData fits it. */
type EntryFields = Pick<CentralRecord, 'method' | 'crc' | 'size' | 'compressedSize'>

function isAscii(name: Buffer): boolean {
  return name.every(byte => byte < 0x80)
}

function flags(name: Buffer): number {
  return isAscii(name) ? 0 : UTF8_FLAG
}

function needsZip64(data: Pick<EntryFields, 'size' | 'compressedSize'>, offset: number): boolean {
  return data.size >= MAX32 || data.compressedSize >= MAX32 || offset >= MAX32
}

function versionNeeded(zip64: boolean): number {
  return zip64 ? 45 : 20
}

export function localHeader(name: Buffer, data: EntryFields, offset: number): Buffer {
  const zip64 = needsZip64(data, offset)
  // A local zip64 extra must carry both sizes; it is only needed when a size overflows.
  const sizesOverflow = data.size >= MAX32 || data.compressedSize >= MAX32
  const extraLength = sizesOverflow ? 20 : 0
  const header = Buffer.alloc(30 + name.length + extraLength)
  header.writeUInt32LE(0x04034b50, 0)
  header.writeUInt16LE(versionNeeded(zip64), 4)
  header.writeUInt16LE(flags(name), 6)
  header.writeUInt16LE(data.method, 8)
  header.writeUInt16LE(DOS_TIME, 10)
  header.writeUInt16LE(DOS_DATE, 12)
  header.writeUInt32LE(data.crc >>> 0, 14)
  header.writeUInt32LE(sizesOverflow ? MAX32 : data.compressedSize, 18)
  header.writeUInt32LE(sizesOverflow ? MAX32 : data.size, 22)
  header.writeUInt16LE(name.length, 26)
  header.writeUInt16LE(extraLength, 28)
  name.copy(header, 30)
  if (sizesOverflow) {
    const extra = 30 + name.length
    header.writeUInt16LE(0x0001, extra)
    header.writeUInt16LE(16, extra + 2)
    header.writeBigUInt64LE(BigInt(data.size), extra + 4)
    header.writeBigUInt64LE(BigInt(data.compressedSize), extra + 12)
  }
  return header
}

function centralHeader(entry: CentralRecord): Buffer {
  // Only the fields that overflow go into the zip64 extra, in this fixed order.
  const wide = [entry.size, entry.compressedSize, entry.offset].filter(value => value >= MAX32)
  const extraLength = wide.length ? 4 + 8 * wide.length : 0
  const zip64 = needsZip64(entry, entry.offset)
  const header = Buffer.alloc(46 + entry.name.length + extraLength)
  header.writeUInt32LE(0x02014b50, 0)
  header.writeUInt16LE((UNIX << 8) | versionNeeded(zip64), 4)
  header.writeUInt16LE(versionNeeded(zip64), 6)
  header.writeUInt16LE(flags(entry.name), 8)
  header.writeUInt16LE(entry.method, 10)
  header.writeUInt16LE(DOS_TIME, 12)
  header.writeUInt16LE(DOS_DATE, 14)
  header.writeUInt32LE(entry.crc >>> 0, 16)
  header.writeUInt32LE(Math.min(entry.compressedSize, MAX32), 20)
  header.writeUInt32LE(Math.min(entry.size, MAX32), 24)
  header.writeUInt16LE(entry.name.length, 28)
  header.writeUInt16LE(extraLength, 30)
  // comment length, disk number, internal attributes: 0
  header.writeUInt32LE(entry.externalAttributes, 38)
  header.writeUInt32LE(Math.min(entry.offset, MAX32), 42)
  entry.name.copy(header, 46)
  if (wide.length) {
    const extra = 46 + entry.name.length
    header.writeUInt16LE(0x0001, extra)
    header.writeUInt16LE(8 * wide.length, extra + 2)
    wide.forEach((value, i) => header.writeBigUInt64LE(BigInt(value), extra + 4 + 8 * i))
  }
  return header
}

export async function writeCentralDirectory(
  records: CentralRecord[],
  output: HashingOutput
): Promise<void> {
  const start = output.offset
  let batch: Buffer[] = []
  let batchBytes = 0
  for (const entry of records) {
    const header = centralHeader(entry)
    batch.push(header)
    batchBytes += header.length
    if (batchBytes >= IO_CHUNK) {
      await output.write(Buffer.concat(batch))
      batch = []
      batchBytes = 0
    }
  }
  if (batch.length) await output.write(Buffer.concat(batch))
  const size = output.offset - start
  const count = records.length

  const tail: Buffer[] = []
  if (count > MAX16 || size >= MAX32 || start >= MAX32) {
    const zip64End = Buffer.alloc(56)
    zip64End.writeUInt32LE(0x06064b50, 0)
    zip64End.writeBigUInt64LE(44n, 4)
    zip64End.writeUInt16LE((UNIX << 8) | 45, 12)
    zip64End.writeUInt16LE(45, 14)
    // this disk, central directory disk: 0
    zip64End.writeBigUInt64LE(BigInt(count), 24)
    zip64End.writeBigUInt64LE(BigInt(count), 32)
    zip64End.writeBigUInt64LE(BigInt(size), 40)
    zip64End.writeBigUInt64LE(BigInt(start), 48)
    const locator = Buffer.alloc(20)
    locator.writeUInt32LE(0x07064b50, 0)
    locator.writeBigUInt64LE(BigInt(output.offset), 8)
    locator.writeUInt32LE(1, 16)
    tail.push(zip64End, locator)
  }
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(Math.min(count, MAX16), 8)
  end.writeUInt16LE(Math.min(count, MAX16), 10)
  end.writeUInt32LE(Math.min(size, MAX32), 12)
  end.writeUInt32LE(Math.min(start, MAX32), 16)
  tail.push(end)
  await output.write(Buffer.concat(tail))
}
