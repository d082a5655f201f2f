// Writes the layer zip so that the same files always give the same bytes: Lambda creates a
// new layer version for every upload, so the action compares CodeSha256 to skip unchanged
// layers, and that only works if nothing but file content and relative paths reaches the zip.

import * as core from '@actions/core'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import fsSync, { createReadStream, createWriteStream, type WriteStream } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import zlib from 'node:zlib'

export interface LayerZip {
  zipPath: string
  zipSize: number
  /** base64(SHA-256(zip bytes)), as Lambda reports `CodeSha256`. */
  codeSha256: string
  sha256Hex: string
  fileCount: number
  unzippedSize: number
}

export interface ZipOptions {
  /** Folder inside the zip that receives the site directory; default `python/`. */
  prefix?: string
  /** zlib level, default 6 like Info-ZIP. */
  level?: number
  /** Files being deflated at once; default two per core. */
  concurrency?: number
  /** Bytes of file content held in memory between reading and writing, default 32 MiB. */
  windowBytes?: number
  onWarning?: (message: string) => void
}

export const DEFAULT_PREFIX = 'python/'
/** Files above this are streamed through deflate into a spill file instead of read whole. */
export const STREAMING_THRESHOLD = 8 * 1024 * 1024

const DEFAULT_WINDOW_BYTES = 32 * 1024 * 1024
const MAX_ENTRIES_IN_FLIGHT = 4096
const IO_CHUNK = 1024 * 1024
/** Chunks up to this size are copied into the next 1 MiB write instead of written alone. */
const STAGED_CHUNK_MAX = 64 * 1024
/** Output chunk for streamed files; deflate's output bytes do not depend on it. */
const DEFLATE_CHUNK = 256 * 1024

// 1980-01-01 00:00:00, the earliest DOS time: nothing about the build machine's clock leaks in.
const DOS_TIME = 0
const DOS_DATE = (1 << 5) | 1
const UNIX = 3
const STORE = 0
const DEFLATE = 8
const UTF8_FLAG = 1 << 11
const MAX32 = 0xffffffff
const MAX16 = 0xffff
const S_IFREG = 0o100000
const S_IFDIR = 0o040000
const MSDOS_DIRECTORY = 0x10

interface DirectoryEntry {
  kind: 'directory'
  name: Buffer
}

interface FileEntry {
  kind: 'file'
  name: Buffer
  /** Real path of the content (a symlink's target when the entry came through a link). */
  source: string
  size: number
  mode: 0o644 | 0o755
}

type LayerEntry = DirectoryEntry | FileEntry

/** An entry's content, ready to be written. */
interface EntryData {
  method: typeof STORE | typeof DEFLATE
  crc: number
  size: number
  compressedSize: number
  /** The bytes to write, or the file to copy them from. */
  data: Buffer | { file: string; verifyCrc: boolean }
}

interface CentralRecord {
  name: Buffer
  isDirectory: boolean
  method: number
  crc: number
  size: number
  compressedSize: number
  offset: number
  externalAttributes: number
}

/**
 * Zips `siteDir` into `zipPath` with every entry under `prefix` (default `python/`), in byte
 * order of the path, with fixed timestamps and normalised modes, so that identical content
 * gives an identical zip whatever the machine, the mtimes or the umask.
 */
export async function writeLayerZip(
  siteDir: string,
  zipPath: string,
  options: ZipOptions = {}
): Promise<LayerZip> {
  const prefix = normalisePrefix(options.prefix ?? DEFAULT_PREFIX)
  const level = options.level ?? 6
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new Error(`Zip compression level must be an integer from 0 to 9, got ${level}`)
  }
  // Twice the cores keeps the thread pool fed while the main thread reads and writes:
  // measured 3.8 s instead of 5 s for 300 MB on 2 cores.
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 2 * os.availableParallelism()))
  const windowBytes = Math.max(1, options.windowBytes ?? DEFAULT_WINDOW_BYTES)
  const warn = options.onWarning ?? ((message: string) => core.warning(message))

  const entries = collectEntries(siteDir, prefix, warn)
  const zipDir = path.dirname(path.resolve(zipPath))
  await fs.mkdir(zipDir, { recursive: true })
  const spill = new SpillDirectory(zipDir)
  const output = new HashingOutput(createWriteStream(zipPath, { highWaterMark: IO_CHUNK }))
  try {
    const central = await writeEntries(entries, output, { level, concurrency, windowBytes, spill })
    await writeCentralDirectory(central, output)
    await output.close()
    const digest = output.digest()
    const files = central.filter(record => !record.isDirectory)
    return {
      zipPath,
      zipSize: output.offset,
      codeSha256: digest.toString('base64'),
      sha256Hex: digest.toString('hex'),
      fileCount: files.length,
      unzippedSize: files.reduce((sum, record) => sum + record.size, 0)
    }
  } catch (error) {
    output.destroy()
    await fs.rm(zipPath, { force: true })
    throw error
  } finally {
    await spill.remove()
  }
}

/** "python" or "/python/" → "python/"; "" stays "" (entries at the zip root). */
export function normalisePrefix(prefix: string): string {
  const parts = prefix.split('/').filter(part => part !== '' && part !== '.')
  if (prefix.startsWith('/') || prefix.includes('\\') || parts.includes('..')) {
    throw new Error(
      `Zip prefix "${prefix}" must be a relative "/"-separated path without "..", like "python/"`
    )
  }
  return parts.map(part => part + '/').join('')
}

// ---------------------------------------------------------------------------------------------
// Walking the site directory

/**
 * Every directory and file of the site directory as zip entries, sorted by name bytes.
 * Symlinks are resolved inside the tree; links that leave it, dangle or loop are skipped
 * with a warning, since following them would zip files from the build machine.
 *
 * Synchronous on purpose: nothing else runs during the walk, and a thread-pool round trip
 * per lstat costs several times the syscall itself on trees of tens of thousands of files.
 */
function collectEntries(
  siteDir: string,
  prefix: string,
  warn: (message: string) => void
): LayerEntry[] {
  let root: string
  try {
    root = fsSync.realpathSync(siteDir)
  } catch {
    throw new Error(`Cannot zip ${siteDir}: the directory does not exist`)
  }
  if (!fsSync.statSync(root).isDirectory()) {
    throw new Error(`Cannot zip ${siteDir}: it is not a directory`)
  }
  const entries: LayerEntry[] = prefixDirectories(prefix).map(name => ({
    kind: 'directory',
    name: Buffer.from(name)
  }))
  const warnings: string[] = []
  const isInside = (target: string) => target === root || target.startsWith(root + path.sep)

  function walk(dir: string, zipDir: string, ancestors: Ancestors): void {
    for (const child of fsSync.readdirSync(dir)) {
      visit(path.join(dir, child), zipDir + child, ancestors)
    }
  }

  function visit(full: string, zipName: string, ancestors: Ancestors): void {
    const stats = fsSync.lstatSync(full)
    if (stats.isDirectory()) return enterDirectory(full, zipName, ancestors)
    if (stats.isFile()) return addFile(full, zipName, stats)
    if (!stats.isSymbolicLink()) {
      warnings.push(`Skipped ${zipName}: not a regular file, directory or symlink`)
      return
    }
    const link = fsSync.readlinkSync(full)
    let target: string
    try {
      target = fsSync.realpathSync(full)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      const reason =
        code === 'ENOENT' ? 'its target does not exist' : `it cannot be resolved (${code})`
      warnings.push(`Skipped symlink ${zipName} -> ${link}: ${reason}`)
      return
    }
    if (!isInside(target)) {
      warnings.push(`Skipped symlink ${zipName} -> ${link}: it points outside the site directory`)
      return
    }
    const targetStats = fsSync.statSync(target)
    if (targetStats.isFile()) return addFile(target, zipName, targetStats)
    if (!targetStats.isDirectory()) {
      warnings.push(`Skipped symlink ${zipName} -> ${link}: not a regular file or directory`)
      return
    }
    if (hasAncestor(ancestors, target)) {
      warnings.push(`Skipped symlink ${zipName} -> ${link}: it loops back to a parent directory`)
      return
    }
    enterDirectory(target, zipName, ancestors)
  }

  function enterDirectory(real: string, zipName: string, ancestors: Ancestors): void {
    const name = zipName + '/'
    entries.push({ kind: 'directory', name: Buffer.from(name) })
    walk(real, name, { real, parent: ancestors })
  }

  function addFile(source: string, zipName: string, stats: { size: number; mode: number }) {
    entries.push({
      kind: 'file',
      name: Buffer.from(zipName),
      source,
      size: stats.size,
      // Lambda runs code as another user: files must be world-readable (0600 breaks imports).
      mode: stats.mode & 0o111 ? 0o755 : 0o644
    })
  }

  walk(root, prefix, { real: root })
  // readdir order varies between file systems; sorting keeps the log as stable as the zip.
  for (const message of warnings.sort()) warn(message)
  return entries.sort((a, b) => Buffer.compare(a.name, b.name))
}

interface Ancestors {
  real: string
  parent?: Ancestors
}

function hasAncestor(ancestors: Ancestors | undefined, real: string): boolean {
  for (let node = ancestors; node; node = node.parent) if (node.real === real) return true
  return false
}

/** "python/lib/" → ["python/", "python/lib/"] */
function prefixDirectories(prefix: string): string[] {
  const names: string[] = []
  let end = prefix.indexOf('/')
  while (end !== -1) {
    names.push(prefix.slice(0, end + 1))
    end = prefix.indexOf('/', end + 1)
  }
  return names
}

// ---------------------------------------------------------------------------------------------
// Compressing and writing entries

interface WriteSettings {
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
async function writeEntries(
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
    throw new Error(`Cannot read ${entry.source} for the layer zip: ${errorText(error)}`)
  } finally {
    if (fd !== undefined) fsSync.closeSync(fd)
  }
}

/**
 * Deflates on the thread pool; undefined when the result would not be smaller than the input
 * (zlib stops early then, so incompressible files cost little). A fresh zlib stream per file:
 * a reset stream keeps old window bytes that can change the output of Node's zlib.
 */
function deflateRaw(content: Buffer, level: number): Promise<Buffer | undefined> {
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

// ---------------------------------------------------------------------------------------------
// Zip records (APPNOTE.TXT 4.3)

function isAscii(name: Buffer): boolean {
  return name.every(byte => byte < 0x80)
}

function flags(name: Buffer): number {
  return isAscii(name) ? 0 : UTF8_FLAG
}

function needsZip64(data: Pick<EntryData, 'size' | 'compressedSize'>, offset: number): boolean {
  return data.size >= MAX32 || data.compressedSize >= MAX32 || offset >= MAX32
}

function versionNeeded(zip64: boolean): number {
  return zip64 ? 45 : 20
}

function localHeader(name: Buffer, data: EntryData, offset: number): Buffer {
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

async function writeCentralDirectory(
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

// ---------------------------------------------------------------------------------------------
// Plumbing

/** Where big files' deflate output waits for its turn; created only if a big file comes. */
class SpillDirectory {
  private created: Promise<string> | undefined
  private readonly parent: string

  constructor(parent: string) {
    this.parent = parent
  }

  async file(name: string): Promise<string> {
    this.created ??= fs.mkdtemp(path.join(this.parent, '.layer-zip-'))
    return path.join(await this.created, name)
  }

  async remove(): Promise<void> {
    const dir = await this.created?.catch(() => undefined)
    if (dir) await fs.rm(dir, { recursive: true, force: true })
  }
}

/**
 * A write stream that hashes and counts what it writes, and waits when the disk lags.
 * Small chunks (headers, most deflated files) are gathered into large writes: one write per
 * chunk would cost a thread-pool round trip for every header of every file.
 */
class HashingOutput {
  offset = 0
  private readonly hash = createHash('sha256')
  private failure: Error | undefined
  private readonly stream: WriteStream
  private staged = Buffer.allocUnsafe(IO_CHUNK)
  private stagedBytes = 0

  constructor(stream: WriteStream) {
    this.stream = stream
    stream.on('error', error => (this.failure ??= error))
  }

  /** `onWritten` runs once `chunk` may be reused: at once if copied, else once on disk. */
  async write(chunk: Buffer, onWritten?: () => void): Promise<void> {
    if (this.failure) throw this.failure
    this.hash.update(chunk)
    this.offset += chunk.length
    if (chunk.length <= STAGED_CHUNK_MAX) {
      if (this.stagedBytes + chunk.length > this.staged.length) await this.flush()
      this.stagedBytes += chunk.copy(this.staged, this.stagedBytes)
      onWritten?.()
      return
    }
    await this.flush()
    await this.send(chunk, onWritten)
  }

  async close(): Promise<void> {
    await this.flush()
    if (this.failure) throw this.failure
    this.stream.end()
    await once(this.stream, 'close')
    if (this.failure) throw this.failure
  }

  digest(): Buffer {
    return this.hash.digest()
  }

  destroy(): void {
    this.stream.destroy()
  }

  private async flush(): Promise<void> {
    if (this.stagedBytes === 0) return
    const full = this.staged.subarray(0, this.stagedBytes)
    this.staged = Buffer.allocUnsafe(IO_CHUNK)
    this.stagedBytes = 0
    await this.send(full)
  }

  private async send(chunk: Buffer, onWritten?: () => void): Promise<void> {
    if (!this.stream.write(chunk, onWritten)) await once(this.stream, 'drain')
  }
}

/** Ring space for one file's content, and the ticket that gives it back. */
interface Admission {
  space: Buffer
  slot: number
}

/**
 * Admits file jobs in entry order while their content fits in a ring buffer, fewer than
 * MAX_ENTRIES_IN_FLIGHT wait to be written, and fewer than `concurrency` are compressing.
 * Files are read into the ring, so reading allocates nothing and memory stays at the ring
 * plus smaller deflate outputs. Space is handed out in order and comes back in any order;
 * it is reused once everything before it has come back. One waiter only: the producer.
 */
class Window {
  private readonly ring: Buffer
  private head = 0
  private used = 0
  /** Ring bytes each admitted slot holds (with any wrap-around gap), oldest first. */
  private readonly sizes: number[] = []
  private readonly returned: boolean[] = []
  /** Slot number of sizes[oldest]. */
  private oldestSlot = 0
  private oldest = 0
  private compressing = 0
  private aborted = false
  private wake: (() => void) | undefined
  private readonly concurrency: number

  constructor(capacity: number, concurrency: number) {
    this.ring = Buffer.allocUnsafeSlow(capacity)
    this.concurrency = concurrency
  }

  /** Space for `bytes` of file content, once there is room; undefined after abort(). */
  async admit(bytes: number): Promise<Admission | undefined> {
    for (;;) {
      if (this.aborted) return undefined
      const room = this.compressing < this.concurrency && this.inFlight() < MAX_ENTRIES_IN_FLIGHT
      const start = room ? this.allocate(bytes) : undefined
      if (start !== undefined) {
        this.compressing++
        const slot = this.oldestSlot + this.sizes.length - this.oldest - 1
        return { space: this.ring.subarray(start, start + bytes), slot }
      }
      await new Promise<void>(resolve => (this.wake = resolve))
    }
  }

  /** A job finished compressing: its slot frees, its ring space stays until written. */
  compressed(): void {
    this.compressing--
    this.notify()
  }

  /** The slot's content has been written out (or copied) and its space may be reused. */
  written(slot: number): void {
    this.returned[this.oldest + slot - this.oldestSlot] = true
    while (this.oldest < this.sizes.length && this.returned[this.oldest]) {
      this.used -= this.sizes[this.oldest++]
      this.oldestSlot++
    }
    if (this.oldest === this.sizes.length) {
      this.sizes.length = 0
      this.returned.length = 0
      this.oldest = 0
    }
    if (this.used === 0) this.head = 0
    this.notify()
  }

  abort(): void {
    this.aborted = true
    this.notify()
  }

  private inFlight(): number {
    return this.sizes.length - this.oldest
  }

  private allocate(bytes: number): number | undefined {
    let start = this.head
    let gap = 0
    if (start + bytes > this.ring.length) {
      gap = this.ring.length - start
      start = 0
    }
    if (this.used + gap + bytes > this.ring.length) return undefined
    this.head = start + bytes
    this.used += gap + bytes
    this.sizes.push(gap + bytes)
    this.returned.push(false)
    return start
  }

  private notify(): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
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

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
