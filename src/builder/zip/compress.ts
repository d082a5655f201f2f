// Compressing and writing entries: deflate on the thread pool, written in sorted order.

import fsSync, { createReadStream, createWriteStream } from 'node:fs'
import fs from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import zlib from 'node:zlib'
import { errorMessage } from '../../errors.js'
import { DEFLATE, localHeader, STORE, type CentralRecord } from './format.js'
import { IO_CHUNK, type HashingOutput, type SpillDirectory } from './output.js'
import type { DirectoryEntry, FileEntry, LayerEntry } from './walk.js'
import { Window } from './window.js'

/** Files above this are streamed through deflate into a spill file instead of read whole. */
export const STREAMING_THRESHOLD = 8 * 1024 * 1024
/** Output chunk for streamed files; deflate's output bytes do not depend on it. */
const DEFLATE_CHUNK = 256 * 1024

// Unix file types and the MS-DOS directory bit, for the central records' external attributes.
export const S_IFREG = 0o100000
export const S_IFDIR = 0o040000
export const MSDOS_DIRECTORY = 0x10

/** An entry's content, ready to be written. */
interface EntryData {
  method: typeof STORE | typeof DEFLATE
  crc: number
  size: number
  compressedSize: number
  /** The bytes to write, or the file to copy them from. */
  data: Buffer | { file: string; verifyCrc: boolean }
}

export interface WriteSettings {
  level: number
  concurrency: number
  windowBytes: number
  spill: SpillDirectory
}

/**
 * Deflates files on the libuv thread pool, several at once, and writes them in sorted order.
 * Work starts in entry order and only while the window has room, so the entry the writer
 * waits for is always already running and memory stays bounded however large the tree.
 */
export async function writeEntries(
  entries: LayerEntry[],
  output: HashingOutput,
  settings: WriteSettings
): Promise<CentralRecord[]> {
  const window = new Window(ringCapacity(entries, settings.windowBytes), settings.concurrency)
  // Each job is dropped as soon as it is written: holding results would keep every buffer.
  const started: (Deferred<StartedJob> | undefined)[] = entries.map(() => deferred<StartedJob>())
  const running = new Set<Promise<void>>()

  const producer = (async () => {
    for (const [index, entry] of entries.entries()) {
      if (entry.kind === 'directory') continue
      const admission = await window.admit(isStreamed(entry) ? 0 : entry.size)
      if (!admission) return
      const result = compressFile(entry, admission.space, index, settings).finally(() =>
        window.compressed()
      )
      // Also marks a failure as handled: it surfaces when the writer reaches this entry.
      const settled = result.then(ignore, ignore)
      running.add(settled)
      void settled.then(() => running.delete(settled))
      started[index]?.resolve({ slot: admission.slot, result })
    }
  })()

  const central: CentralRecord[] = []
  try {
    for (const [index, entry] of entries.entries()) {
      const offset = output.offset
      if (entry.kind === 'directory') {
        central.push(await writeDirectory(entry, output))
        continue
      }
      const { slot, result } = await started[index]!.promise
      started[index] = undefined
      const data = await result
      // The file's ring space is reused only once its bytes are copied or on disk.
      await writeFile(entry, data, offset, output, () => window.written(slot))
      central.push(record(entry, data, offset))
    }
  } finally {
    window.abort()
    await producer
    await Promise.all(running)
  }
  return central
}

interface StartedJob {
  slot: number
  result: Promise<EntryData>
}

/** The window, but no more than all in-memory content and no less than its largest file. */
function ringCapacity(entries: LayerEntry[], windowBytes: number): number {
  let total = 0
  let largest = 0
  for (const entry of entries) {
    if (entry.kind === 'directory' || isStreamed(entry)) continue
    total += entry.size
    largest = Math.max(largest, entry.size)
  }
  return Math.min(total, Math.max(windowBytes, largest))
}

function isStreamed(entry: FileEntry): boolean {
  return entry.size > STREAMING_THRESHOLD
}

/** Reads the file into its window space, takes its CRC, and deflates it on the thread pool. */
async function compressFile(
  entry: FileEntry,
  space: Buffer,
  index: number,
  settings: WriteSettings
): Promise<EntryData> {
  if (isStreamed(entry)) {
    if (settings.level === 0) return storeLargeFile(entry)
    return compressLargeFile(entry, await settings.spill.file(`${index}.deflate`), settings.level)
  }
  const content = readSource(entry, space)
  const crc = zlib.crc32(content)
  const stored: EntryData = {
    method: STORE,
    crc,
    size: content.length,
    compressedSize: content.length,
    data: content
  }
  // Deflate cannot shrink one or two bytes; level 0 means "store everything".
  if (content.length < 3 || settings.level === 0) return stored
  const deflated = await deflateRaw(content, settings.level)
  // STORE whenever deflate does not shrink the entry (wheels, .so files already compressed).
  if (!deflated) return stored
  return { ...stored, method: DEFLATE, compressedSize: deflated.length, data: deflated }
}

/** Streams a big file through deflate into a spill file so it is never held in memory. */
async function compressLargeFile(
  entry: FileEntry,
  spillFile: string,
  level: number
): Promise<EntryData> {
  let crc = 0
  let size = 0
  let compressedSize = 0
  await pipeline(
    createReadStream(entry.source, { highWaterMark: IO_CHUNK }),
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        crc = zlib.crc32(chunk, crc)
        size += chunk.length
        yield chunk
      }
    },
    zlib.createDeflateRaw({ level, chunkSize: DEFLATE_CHUNK }),
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        compressedSize += chunk.length
        yield chunk
      }
    },
    createWriteStream(spillFile, { highWaterMark: IO_CHUNK })
  )
  if (compressedSize < size) {
    return {
      method: DEFLATE,
      crc,
      size,
      compressedSize,
      data: { file: spillFile, verifyCrc: false }
    }
  }
  await fs.rm(spillFile, { force: true })
  return storedLargeFile(entry, crc, size)
}

async function storeLargeFile(entry: FileEntry): Promise<EntryData> {
  let crc = 0
  let size = 0
  for await (const chunk of createReadStream(entry.source, { highWaterMark: IO_CHUNK })) {
    crc = zlib.crc32(chunk as Buffer, crc)
    size += (chunk as Buffer).length
  }
  return storedLargeFile(entry, crc, size)
}

/** Copied from the source when written, so checked against this CRC then. */
function storedLargeFile(entry: FileEntry, crc: number, size: number): EntryData {
  return {
    method: STORE,
    crc,
    size,
    compressedSize: size,
    data: { file: entry.source, verifyCrc: true }
  }
}

/**
 * Reads a file of known size into its window space. Synchronous on purpose: the files were
 * just written and sit in the page cache, where open/read/close as syscalls cost a third of
 * the CPU of three thread-pool round trips; the thread pool is kept for deflate.
 */
function readSource(entry: FileEntry, space: Buffer): Buffer {
  if (entry.size === 0) return space
  let fd: number | undefined
  try {
    fd = fsSync.openSync(entry.source, 'r')
    let filled = 0
    while (filled < entry.size) {
      const bytesRead = fsSync.readSync(fd, space, filled, entry.size - filled, filled)
      if (bytesRead === 0) throw new Error('the file shrank while the zip was being written')
      filled += bytesRead
    }
    return space
  } catch (error) {
    throw new Error(`Cannot read ${entry.source} for the layer zip: ${errorMessage(error)}`)
  } finally {
    if (fd !== undefined) fsSync.closeSync(fd)
  }
}

/**
 * Deflates on the thread pool; undefined when the result would not be smaller than the input
 * (zlib stops early then, so incompressible files cost little). A fresh zlib stream per file:
 * a reset stream keeps old window bytes that can change the output of Node's zlib.
 */
export function deflateRaw(content: Buffer, level: number): Promise<Buffer | undefined> {
  // Half the input holds most results in one chunk; the output does not depend on it.
  const chunkSize = Math.max(64, (content.length >>> 1) + 64)
  const maxOutputLength = content.length - 1
  return new Promise((resolve, reject) =>
    zlib.deflateRaw(content, { level, chunkSize, maxOutputLength }, (error, deflated) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        resolve(undefined)
      } else if (error) {
        reject(error)
      } else {
        // A result in one chunk is a view of the whole chunk: copy it out when that frees much.
        resolve(deflated.buffer.byteLength > 2 * deflated.length ? Buffer.from(deflated) : deflated)
      }
    })
  )
}

async function writeDirectory(
  entry: DirectoryEntry,
  output: HashingOutput
): Promise<CentralRecord> {
  const data: EntryData = {
    method: STORE,
    crc: 0,
    size: 0,
    compressedSize: 0,
    data: Buffer.alloc(0)
  }
  const offset = output.offset
  await output.write(localHeader(entry.name, data, offset))
  return record(entry, data, offset)
}

async function writeFile(
  entry: FileEntry,
  data: EntryData,
  offset: number,
  output: HashingOutput,
  onWritten: () => void
): Promise<void> {
  if (Buffer.isBuffer(data.data)) {
    await output.write(localHeader(entry.name, data, offset))
    await output.write(data.data, onWritten)
    return
  }
  await output.write(localHeader(entry.name, data, offset), onWritten)
  // Copy a spill file, or a big incompressible file stored as is (read a second time, so
  // check it did not change since its CRC was taken).
  let crc = 0
  let copied = 0
  for await (const chunk of createReadStream(data.data.file, { highWaterMark: IO_CHUNK })) {
    const bytes = chunk as Buffer
    if (data.data.verifyCrc) crc = zlib.crc32(bytes, crc)
    copied += bytes.length
    if (copied > data.compressedSize) break
    await output.write(bytes)
  }
  if (copied !== data.compressedSize || (data.data.verifyCrc && crc !== data.crc)) {
    throw new Error(`${entry.source} changed while the layer zip was being written`)
  }
  if (!data.data.verifyCrc) await fs.rm(data.data.file, { force: true })
}

function record(entry: LayerEntry, data: EntryData, offset: number): CentralRecord {
  return {
    name: entry.name,
    isDirectory: entry.kind === 'directory',
    method: data.method,
    crc: data.crc,
    size: data.size,
    compressedSize: data.compressedSize,
    offset,
    externalAttributes:
      entry.kind === 'directory'
        ? (((S_IFDIR | 0o755) << 16) | MSDOS_DIRECTORY) >>> 0
        : ((S_IFREG | entry.mode) << 16) >>> 0
  }
}

interface Deferred<T> {
  promise: Promise<T>
  resolve: (value: T) => void
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void
  const promise = new Promise<T>(r => (resolve = r))
  return { promise, resolve }
}

function ignore(): void {}
