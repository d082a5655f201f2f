// The layer zip assembled straight from the wheels: each kept entry's compressed bytes are
// copied from its wheel with the layer's name, mode and timestamp, so nothing is unpacked and
// nothing already deflated is deflated again. Only what the action writes itself (RECORD,
// INSTALLER, REQUESTED and scripts, stored; stripped objects and files from disk) and stored wheel entries
// that deflate shrinks by more than a tenth are compressed here.

import type { ExtraFile } from './extra-files.js'
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import zlib from 'node:zlib'
import { mapLimit } from '../concurrency.js'
import { canonicalName } from '../sources/pep508.js'
import { recordDigest, type LayerFile, type WheelDistribution } from './layout.js'
import type { LayerFileBytes } from './verify.js'
import {
  checkEntry,
  compressedBytes,
  compressedChunks,
  entryContent,
  inflatedChunks
} from './wheels.js'
import type { Wheel, WheelEntry } from './wheels.js'
import { deflatePieces, deflateRaw, MSDOS_DIRECTORY, S_IFDIR, S_IFREG } from './zip/compress.js'
import {
  DEFLATE,
  localHeader,
  STORE,
  writeCentralDirectory,
  type CentralRecord
} from './zip/format.js'
import { DEFAULT_PREFIX, normalisePrefix, type LayerZip } from './zip/index.js'
import { HashingOutput, IO_CHUNK, SpillDirectory } from './zip/output.js'

/** One distribution's files, as layoutWheel gave them. */
export interface DistributionLayout {
  dist: WheelDistribution
  files: LayerFile[]
}

/** Deflate must shrink a stored wheel entry by more than this to be worth compressing anew. */
const RECOMPRESS_GAIN = 0.1

/**
 * Files above this are never held whole: they are inflated, deflated, hashed and written a
 * chunk at a time, through spill files in the work folder, so one big shared object costs
 * the action no more memory than a small one. Below it, whole buffers are faster.
 */
export const IN_MEMORY_LIMIT = 16 * 1024 * 1024

/** The content of a layer file, inflated (and CRC-checked) when it comes from a wheel. */
export async function layerFileContent(file: LayerFile): Promise<Buffer> {
  switch (file.source.kind) {
    case 'bytes':
      return file.source.data
    case 'wheel':
      return entryContent(file.source.wheel, file.source.entry)
    case 'file':
      return fs.readFile(file.source.file)
  }
}

/**
 * All distributions' files in one layer, in pip's install order: a path two wheels both hold
 * is one file when the bytes are the same; otherwise the later install wins, as it overwrites
 * the earlier one's file under --target, and a warning names both.
 */
export async function mergeLayouts(
  layouts: DistributionLayout[],
  warn: (message: string) => void,
  inMemoryLimit = IN_MEMORY_LIMIT
): Promise<LayerFile[]> {
  const byPath = new Map<string, { file: LayerFile; label: string }>()
  for (const { dist, files } of layouts) {
    const label = `${dist.name} ${dist.version}`
    for (const file of files) {
      const earlier = byPath.get(file.path)
      if (earlier && !(await sameContent(earlier.file, file, inMemoryLimit))) {
        warn(
          `${earlier.label} and ${label} both install ${file.path} with different content; the layer keeps ${label}'s, as pip install does`
        )
      }
      if (!earlier || earlier.file.owner !== file.owner) byPath.set(file.path, { file, label })
    }
  }
  return [...byPath.values()].map(({ file }) => file)
}

/** The content a chunk at a time; a wheel entry's CRC and size are checked at its end. */
export async function* layerFileChunks(file: LayerFile): AsyncGenerator<Buffer> {
  switch (file.source.kind) {
    case 'bytes':
      yield file.source.data
      return
    case 'wheel':
      yield* inflatedChunks(file.source.wheel, file.source.entry)
      return
    case 'file':
      yield* createReadStream(file.source.file, {
        highWaterMark: IO_CHUNK
      }) as AsyncIterable<Buffer>
  }
}

/** Writes the file's content to `dest` with its mode, streaming: never held whole. */
export async function writeLayerFile(file: LayerFile, dest: string): Promise<void> {
  await pipeline(
    Readable.from(layerFileChunks(file)),
    createWriteStream(dest, { mode: file.mode, highWaterMark: IO_CHUNK })
  )
}

/** RECORD's `sha256=` digest of a file, read a chunk at a time when it is big. */
async function layerFileDigest(file: LayerFile, inMemoryLimit: number): Promise<string> {
  if (file.size <= inMemoryLimit) return recordDigest(await layerFileContent(file))
  const hash = createHash('sha256')
  for await (const chunk of layerFileChunks(file)) hash.update(chunk)
  return `sha256=${hash.digest('base64url')}`
}

async function sameContent(a: LayerFile, b: LayerFile, inMemoryLimit: number): Promise<boolean> {
  if (a.size !== b.size) return false
  // two big files are compared by digest, a chunk at a time, never both held whole
  if (a.size > inMemoryLimit) {
    const digests = await Promise.all([a, b].map(file => layerFileDigest(file, inMemoryLimit)))
    return digests[0] === digests[1]
  }
  const [left, right] = await Promise.all([layerFileContent(a), layerFileContent(b)])
  return left.equals(right)
}

/**
 * A RECORD for each distribution listing what it has in the layer now, as pip writes it under
 * --target (sorted; `../../bin/x` for what pip's staging home had outside `lib/python`). A file
 * taken from a wheel unchanged keeps the wheel's own hash; anything else is hashed here.
 */
export async function withRecords(
  files: LayerFile[],
  dists: WheelDistribution[],
  inMemoryLimit = IN_MEMORY_LIMIT
): Promise<LayerFile[]> {
  const byOwner = new Map<string, LayerFile[]>()
  for (const file of files) byOwner.set(file.owner, [...(byOwner.get(file.owner) ?? []), file])
  const records = await Promise.all(
    dists.map(async dist => {
      const recordPath = `${dist.distInfo}/RECORD`
      const own = (byOwner.get(dist.name) ?? []).filter(file => file.path !== recordPath)
      const lines = await mapLimit(own, 16, async file => {
        const listed = file.outsideLib ? `../../${file.path}` : file.path
        const known =
          file.source.kind === 'wheel' ? dist.recordHashes.get(file.source.entry.name) : undefined
        const digest = known ?? (await layerFileDigest(file, inMemoryLimit))
        return `${csvField(listed)},${digest},${file.size}`
      })
      lines.push(`${csvField(recordPath)},,`)
      lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      const data = Buffer.from(lines.join('\n') + '\n')
      return {
        path: recordPath,
        mode: 0o644,
        size: data.length,
        owner: dist.name,
        source: { kind: 'bytes', data },
        stored: true
      } satisfies LayerFile
    })
  )
  const recordPaths = new Set(records.map(record => record.path))
  return [...files.filter(file => !recordPaths.has(file.path)), ...records]
}

function csvField(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value
}

/** An entry ready to be written: its header facts and where its bytes are. */
interface PreparedEntry {
  method: typeof STORE | typeof DEFLATE
  crc: number
  size: number
  compressedSize: number
  /** The bytes, the wheel entry to copy, or a file to copy (a spill file is removed after). */
  data: Buffer | { wheel: Wheel; entry: WheelEntry } | { file: string; spill: boolean }
}

export interface AssembleOptions {
  prefix?: string
  /** Deflate level for what is compressed anew, default 6 like Info-ZIP. */
  level?: number
  /** Entries prepared (checked, compressed) ahead of the writer; default four per core. */
  ahead?: number
  /** Files of the workspace added at their own layer paths (the `files` input). */
  extraFiles?: ExtraFile[]
  /** Files above this many bytes are compressed through spill files; default IN_MEMORY_LIMIT. */
  inMemoryLimit?: number
  /**
   * Verification, running beside the writer, inflates every wheel entry and checks its CRC, and
   * the build fails if one is wrong: the writer then copies without inflating them a second time.
   */
  checkedBeside?: boolean
}

/**
 * Writes the layer zip: directories and files sorted by name bytes under the prefix, fixed
 * time, 0644/0755, with a CRC check of every wheel entry (inflated on the thread pool while
 * earlier entries are written), unless verification beside it checks them. The same files
 * always give the same bytes.
 */
export async function writeAssembledZip(
  files: LayerFile[],
  zipPath: string,
  options: AssembleOptions = {}
): Promise<LayerZip> {
  const prefix = normalisePrefix(options.prefix ?? DEFAULT_PREFIX)
  const level = options.level ?? 6
  const ahead = Math.max(1, options.ahead ?? 4 * os.availableParallelism())
  const spill = new SpillDirectory(path.dirname(path.resolve(zipPath)))
  const compression = {
    level,
    inMemoryLimit: options.inMemoryLimit ?? IN_MEMORY_LIMIT,
    spill,
    checkEntries: !options.checkedBeside
  }
  const entries = await withExtraFiles(zipEntries(files, prefix), options.extraFiles ?? [])
  await fs.mkdir(path.dirname(path.resolve(zipPath)), { recursive: true })
  const output = new HashingOutput(createWriteStream(zipPath, { highWaterMark: IO_CHUNK }))
  const prepared: (Promise<PreparedEntry> | undefined)[] = new Array(entries.length)
  let started = 0
  const startUpTo = (end: number) => {
    for (; started < Math.min(end, entries.length); started++) {
      const file = entries[started].file
      if (!file) continue
      const job = prepareEntry(file, compression)
      job.catch(() => undefined)
      prepared[started] = job
    }
  }
  try {
    const central: CentralRecord[] = []
    for (const [index, { name, file }] of entries.entries()) {
      startUpTo(index + ahead)
      const offset = output.offset
      if (!file) {
        const empty = { method: STORE, crc: 0, size: 0, compressedSize: 0 } as const
        await output.write(localHeader(name, empty, offset))
        central.push({
          name,
          isDirectory: true,
          ...empty,
          offset,
          externalAttributes: (((S_IFDIR | 0o755) << 16) | MSDOS_DIRECTORY) >>> 0
        })
        continue
      }
      const data = await prepared[index]!
      prepared[index] = undefined
      await output.write(localHeader(name, data, offset))
      if (Buffer.isBuffer(data.data)) await output.write(data.data)
      else if ('file' in data.data) await copyPrepared(data, data.data, output)
      else
        for await (const chunk of compressedChunks(data.data.wheel, data.data.entry)) {
          await output.write(chunk)
        }
      central.push({
        name,
        isDirectory: false,
        method: data.method,
        crc: data.crc,
        size: data.size,
        compressedSize: data.compressedSize,
        offset,
        externalAttributes: ((S_IFREG | file.mode) << 16) >>> 0
      })
    }
    await writeCentralDirectory(central, output)
    await output.close()
    const digest = output.digest()
    const written = central.filter(record => !record.isDirectory)
    return {
      zipPath,
      zipSize: output.offset,
      codeSha256: digest.toString('base64'),
      sha256Hex: digest.toString('hex'),
      fileCount: written.length,
      unzippedSize: written.reduce((sum, record) => sum + record.size, 0)
    }
  } catch (error) {
    output.destroy()
    await Promise.allSettled(prepared.filter(Boolean))
    await fs.rm(zipPath, { force: true })
    throw error
  } finally {
    await spill.remove()
  }
}

/**
 * Copies a spill file, or a big file stored as it is (read a second time: checked against the
 * CRC taken the first time, so a file that changed in between cannot slip in).
 */
async function copyPrepared(
  data: PreparedEntry,
  { file, spill }: { file: string; spill: boolean },
  output: HashingOutput
): Promise<void> {
  let crc = 0
  let copied = 0
  for await (const chunk of createReadStream(file, { highWaterMark: IO_CHUNK })) {
    const bytes = chunk as Buffer
    if (!spill) crc = zlib.crc32(bytes, crc)
    copied += bytes.length
    if (copied > data.compressedSize) break
    await output.write(bytes)
  }
  if (copied !== data.compressedSize || (!spill && crc >>> 0 !== data.crc >>> 0)) {
    throw new Error(`${file} changed while the layer zip was being written`)
  }
  if (spill) await fs.rm(file, { force: true })
}

/** Every file and every folder above one, as sorted zip entries under the prefix. */
function zipEntries(files: LayerFile[], prefix: string): { name: Buffer; file?: LayerFile }[] {
  const folders = new Set<string>()
  for (let end = prefix.indexOf('/'); end !== -1; end = prefix.indexOf('/', end + 1)) {
    folders.add(prefix.slice(0, end + 1))
  }
  const entries: { name: Buffer; file?: LayerFile }[] = []
  const seen = new Set<string>()
  for (const file of files) {
    if (seen.has(file.path)) throw new Error(`the layer lists ${file.path} twice`)
    seen.add(file.path)
    const parts = file.path.split('/')
    for (let i = 1; i < parts.length; i++) folders.add(prefix + parts.slice(0, i).join('/') + '/')
    entries.push({ name: Buffer.from(prefix + file.path), file })
  }
  for (const folder of folders) entries.push({ name: Buffer.from(folder) })
  return entries.sort((a, b) => Buffer.compare(a.name, b.name))
}

/**
 * The `files` input's files beside the packages', at their own paths (`lib/libpq.so.5`), with
 * the folders on their way; a path a package already holds is refused, never overwritten.
 */
async function withExtraFiles(
  entries: { name: Buffer; file?: LayerFile }[],
  extraFiles: ExtraFile[]
): Promise<{ name: Buffer; file?: LayerFile }[]> {
  if (extraFiles.length === 0) return entries
  const names = new Set(entries.map(entry => entry.name.toString()))
  const added: { name: Buffer; file?: LayerFile }[] = []
  for (const extra of extraFiles) {
    if (names.has(extra.layerPath))
      throw new Error(
        `files: ${extra.layerPath} is also a file of the installed packages; choose another destination`
      )
    const parts = extra.layerPath.split('/')
    for (let i = 1; i < parts.length; i++) {
      const folder = parts.slice(0, i).join('/') + '/'
      if (names.has(folder)) continue
      names.add(folder)
      added.push({ name: Buffer.from(folder) })
    }
    names.add(extra.layerPath)
    const { size } = await fs.stat(extra.source)
    const file: LayerFile = {
      path: extra.layerPath,
      mode: extra.mode,
      size,
      owner: 'files',
      source: { kind: 'file', file: extra.source }
    }
    added.push({ name: Buffer.from(extra.layerPath), file })
  }
  return [...entries, ...added].sort((a, b) => Buffer.compare(a.name, b.name))
}

interface Compression {
  level: number
  inMemoryLimit: number
  spill: SpillDirectory
  /** Inflate each wheel entry copied as it is, to check its CRC (unless verification does). */
  checkEntries: boolean
}

let spilled = 0

async function prepareEntry(
  file: LayerFile,
  { level, inMemoryLimit, spill, checkEntries }: Compression
): Promise<PreparedEntry> {
  if (file.source.kind === 'wheel') {
    const { wheel, entry } = file.source
    if (entry.method === DEFLATE) {
      if (checkEntries) await checkEntry(wheel, entry)
      return { ...headerFacts(entry), method: DEFLATE, data: { wheel, entry } }
    }
    if (entry.method === STORE && entry.size > inMemoryLimit) {
      const deflated = await deflateToSpill(file, level, await spill.file(`${++spilled}.deflate`))
      if (deflated.compressedSize < entry.size * (1 - RECOMPRESS_GAIN)) {
        return { ...deflated, method: DEFLATE, data: { file: deflated.file, spill: true } }
      }
      await fs.rm(deflated.file, { force: true })
      return { ...headerFacts(entry), method: STORE, data: { wheel, entry } }
    }
    if (entry.method === STORE) {
      const content = compressedBytes(wheel, entry)
      if (checkEntries) await checkEntry(wheel, entry)
      const deflated = content.length >= 3 ? await deflateRaw(content, level) : undefined
      if (deflated && deflated.length < content.length * (1 - RECOMPRESS_GAIN)) {
        return {
          ...headerFacts(entry),
          method: DEFLATE,
          compressedSize: deflated.length,
          data: deflated
        }
      }
      return { ...headerFacts(entry), method: STORE, data: { wheel, entry } }
    }
  }
  if (file.source.kind === 'file' && file.size > inMemoryLimit) {
    const source = file.source.file
    const deflated = await deflateToSpill(file, level, await spill.file(`${++spilled}.deflate`))
    if (!file.stored && deflated.compressedSize < deflated.size) {
      return { ...deflated, method: DEFLATE, data: { file: deflated.file, spill: true } }
    }
    await fs.rm(deflated.file, { force: true })
    const { crc, size } = deflated
    return { method: STORE, crc, size, compressedSize: size, data: { file: source, spill: false } }
  }
  const content = await layerFileContent(file)
  const crc = zlib.crc32(content)
  const deflated =
    content.length >= 3 && !file.stored ? await deflateRaw(content, level) : undefined
  if (deflated) {
    return {
      method: DEFLATE,
      crc,
      size: content.length,
      compressedSize: deflated.length,
      data: deflated
    }
  }
  return { method: STORE, crc, size: content.length, compressedSize: content.length, data: content }
}

/**
 * Deflates a big file a chunk at a time into a spill file, taking its CRC on the way. The bytes
 * are those deflateRaw gives the file held whole (both push the same fixed pieces), so the
 * layer's CodeSha256 does not depend on the size limit.
 */
async function deflateToSpill(
  file: LayerFile,
  level: number,
  spillFile: string
): Promise<{ crc: number; size: number; compressedSize: number; file: string }> {
  let crc = 0
  let size = 0
  let compressedSize = 0
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of layerFileChunks(file)) {
      crc = zlib.crc32(chunk, crc)
      size += chunk.length
      yield chunk
    }
  }
  await pipeline(
    Readable.from(deflatePieces(counted(), level)),
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        compressedSize += chunk.length
        yield chunk
      }
    },
    createWriteStream(spillFile, { highWaterMark: IO_CHUNK })
  )
  return { crc: crc >>> 0, size, compressedSize, file: spillFile }
}

function headerFacts(entry: WheelEntry): Pick<PreparedEntry, 'crc' | 'size' | 'compressedSize'> {
  return { crc: entry.crc, size: entry.size, compressedSize: entry.compressedSize }
}

/**
 * Writes the layer's files as a tree under `siteDir`, for the import check, which needs
 * files on disk. A build without the check never calls this.
 */
export async function extractLayer(
  files: LayerFile[],
  siteDir: string,
  inMemoryLimit = IN_MEMORY_LIMIT
): Promise<void> {
  const tree = layerTree(siteDir)
  // a small file is held whole while written, few at once; a big one is streamed
  await mapLimit(files, os.availableParallelism(), async file =>
    file.size > inMemoryLimit ? tree.stream(file) : tree.write(file, await layerFileContent(file))
  )
  await tree.written()
}

/**
 * A tree the import check will import from, written a file at a time by whoever holds its
 * bytes already (verification inflates every file once: the tree reuses those bytes).
 */
export interface LayerTree {
  /**
   * Starts writing a file held in memory; resolves once the bytes still being written are few
   * enough, so the caller goes on inflating while the disk catches up.
   */
  write: (file: LayerFile, content: Buffer) => Promise<void>
  /** Writes a file too big to hold a chunk at a time; returns where it is. */
  stream: (file: LayerFile) => Promise<string>
  /** Every write started has finished (or the first that failed, failed). */
  written: () => Promise<void>
}

/** Bytes of files handed to the disk but not yet written, before a writer waits. */
const WRITE_BEHIND_BYTES = 32 * 1024 * 1024

export function layerTree(siteDir: string): LayerTree {
  const folders = new Map<string, Promise<unknown>>()
  const folder = (dir: string) => {
    let made = folders.get(dir)
    if (!made) folders.set(dir, (made = fs.mkdir(dir, { recursive: true })))
    return made
  }
  const writes: Promise<void>[] = []
  const inFlight = new Set<Promise<void>>()
  let inFlightBytes = 0
  return {
    write: async (file, content) => {
      const full = path.join(siteDir, file.path)
      const write = folder(path.dirname(full)).then(() =>
        fs.writeFile(full, content, { mode: file.mode })
      )
      const tracked = write.finally(() => {
        inFlight.delete(tracked)
        inFlightBytes -= content.length
      })
      // a failure is reported by written(), not as an unhandled rejection on the way
      tracked.catch(() => undefined)
      inFlight.add(tracked)
      inFlightBytes += content.length
      writes.push(write)
      while (inFlightBytes > WRITE_BEHIND_BYTES && inFlight.size > 0) {
        await Promise.race([...inFlight].map(w => w.catch(() => undefined)))
      }
    },
    written: async () => {
      await Promise.all(writes)
    },
    stream: async file => {
      const full = path.join(siteDir, file.path)
      await folder(path.dirname(full))
      await writeLayerFile(file, full)
      return full
    }
  }
}

/**
 * A layer file as verification reads it: a small one inflated in memory (and written into the
 * import check's tree when there is one); a big one streamed to disk, into that tree or else
 * into a spill file removed once its ELF headers are read.
 */
export function verifiableFile(
  file: LayerFile,
  disk: { tree?: LayerTree; spillDir: string }
): LayerFileBytes {
  const { tree, spillDir } = disk
  return {
    path: file.path,
    size: file.size,
    content: async () => {
      const content = await layerFileContent(file)
      if (tree) await tree.write(file, content)
      return content
    },
    onDisk: async () => {
      if (tree) return { path: await tree.stream(file), release: async () => undefined }
      if (file.source.kind === 'file') {
        return { path: file.source.file, release: async () => undefined }
      }
      await fs.mkdir(spillDir, { recursive: true })
      const spillFile = path.join(spillDir, `${++spilled}.so`)
      try {
        await writeLayerFile(file, spillFile)
      } catch (error) {
        await fs.rm(spillFile, { force: true })
        throw error
      }
      return { path: spillFile, release: () => fs.rm(spillFile, { force: true }) }
    }
  }
}

/** A wheel pip chose, with what its own metadata says. */
export interface ChosenWheel {
  wheel: Wheel
  dist: WheelDistribution
}

/**
 * The order pip installs in (resolver get_installation_order): by the longest path from the
 * requirements to each distribution, deepest first, ties by name, both descending; so what a
 * package depends on is installed before it, and the last to write a shared path wins.
 */
export function installOrder<T extends { dist: WheelDistribution }>(chosen: T[]): T[] {
  const byName = new Map(chosen.map(item => [item.dist.name, item]))
  const needs = new Map(
    chosen.map(item => [
      item.dist.name,
      item.dist.requiresDist
        .filter(requirement => !/extra\s*==/.test(requirement))
        .map(requirement =>
          canonicalName(/^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(requirement)?.[1] ?? '')
        )
        .filter(name => byName.has(name))
    ])
  )
  const weight = new Map<string, number>()
  const visit = (name: string, depth: number, path: Set<string>) => {
    if (path.has(name) || (weight.get(name) ?? 0) >= depth) return
    weight.set(name, depth)
    path.add(name)
    for (const next of needs.get(name) ?? []) visit(next, depth + 1, path)
    path.delete(name)
  }
  const required = new Set([...needs.values()].flat())
  for (const item of chosen) if (!required.has(item.dist.name)) visit(item.dist.name, 1, new Set())
  for (const item of chosen) if (!weight.has(item.dist.name)) visit(item.dist.name, 1, new Set())
  return [...chosen].sort(
    (a, b) =>
      (weight.get(b.dist.name) ?? 0) - (weight.get(a.dist.name) ?? 0) ||
      (a.dist.name < b.dist.name ? 1 : a.dist.name > b.dist.name ? -1 : 0)
  )
}
