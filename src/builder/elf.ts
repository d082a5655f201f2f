// Reads just enough of an ELF file to tell whether Lambda can load it: the machine it was
// built for, the libraries it names (DT_NEEDED), where it asks the loader to look for them
// (DT_RPATH, DT_RUNPATH), its own SONAME, and the symbol versions it needs from each library
// (its verneed records, the list `readelf -V` prints). The section headers lead to them; a file
// without section headers is read the way the loader reads it, through its program headers.
// Garbage or truncated input never throws; a file that is not ELF at all gives undefined, and
// one that cannot be read whole says why in `unreadable`.
import { open } from 'node:fs/promises'

export interface ElfInfo {
  /** 'x86_64' | 'aarch64' | 'i386' | 'arm', or 'EM_<n>' for anything else. */
  machine: string
  bits: 32 | 64
  /** Every GLIBC_* version the file needs from glibc's libraries, in file order, no repeats. */
  glibcNeeds: string[]
  /** DT_NEEDED: the libraries the loader must find, in file order. */
  needed: string[]
  /** DT_SONAME, the name other objects use to need this one. */
  soname?: string
  /** DT_RUNPATH and DT_RPATH directories, split at ':', `$ORIGIN` left as written. */
  runpath: string[]
  rpath: string[]
  /** Version needs per library file name: { 'libstdc++.so.6': ['GLIBCXX_3.4.29', …] }. */
  versionNeeds: Record<string, string[]>
  /**
   * Why the file cannot be read whole (cut short, or the sections the check needs missing or
   * out of bounds), as a clause for a message; the lists above are then incomplete.
   */
  unreadable?: string
}

const MACHINES: Record<number, string> = { 3: 'i386', 40: 'arm', 62: 'x86_64', 183: 'aarch64' }
const SHT_NULL = 0
const SHT_NOBITS = 8
const SHT_DYNAMIC = 6
const SHT_GNU_VERNEED = 0x6ffffffe
const PT_LOAD = 1
const PT_DYNAMIC = 2
const DT_NULL = 0
const DT_NEEDED = 1
const DT_STRTAB = 5
const DT_STRSZ = 10
const DT_SONAME = 14
const DT_RPATH = 15
const DT_RUNPATH = 29
const DT_VERNEED = 0x6ffffffe
const DT_VERNEEDNUM = 0x6fffffff
const HEADER_BYTES = 64
/**
 * Without section headers the verneed records' extent is unknown; real ones take a few hundred
 * bytes, so this much is read, not the rest of a segment that may be tens of megabytes.
 */
const VERNEED_MAX_BYTES = 64 * 1024

interface Header {
  machine: string
  bits: 32 | 64
  le: boolean
  /** e_ehsize as the class defines it: 52 or 64 bytes. */
  size: number
  shoff: number
  shentsize: number
  shnum: number
  phoff: number
  phentsize: number
  phnum: number
}

/** A byte range of the file. */
interface Region {
  offset: number
  size: number
}

interface Section extends Region {
  type: number
  link: number
  info: number
}

interface Segment extends Region {
  type: number
  vaddr: number
}

/** What the dynamic section and the verneed records say. */
type DynamicFacts = Pick<
  ElfInfo,
  'glibcNeeds' | 'needed' | 'soname' | 'runpath' | 'rpath' | 'versionNeeds'
>

/** Reads a byte range that lies inside the file. */
type ReadRegion = (r: Region) => Promise<Buffer>

export async function parseElf(bytes: Buffer): Promise<ElfInfo | undefined> {
  return inspectElf(bytes.length, async r => bytes.subarray(r.offset, r.offset + r.size))
}

/**
 * Same as parseElf, but reads only the header, the section (or program) header table, the
 * dynamic and verneed sections and their string table, so a 60 MB shared object is never
 * read whole.
 */
export async function readElfFile(path: string): Promise<ElfInfo | undefined> {
  const file = await open(path, 'r')
  try {
    const fileSize = (await file.stat()).size
    return await inspectElf(fileSize, async r => {
      const buffer = Buffer.alloc(r.size)
      const { bytesRead } = await file.read(buffer, 0, r.size, r.offset)
      return buffer.subarray(0, bytesRead)
    })
  } finally {
    await file.close()
  }
}

/**
 * Every region is checked against the file size before it is read, so garbage offsets never
 * allocate gigabytes and a cut-off file is reported instead of read as fewer needs.
 */
async function inspectElf(fileSize: number, read: ReadRegion): Promise<ElfInfo | undefined> {
  const header = parseHeader(await read({ offset: 0, size: Math.min(HEADER_BYTES, fileSize) }))
  if (!header) return undefined
  const found: ElfInfo = {
    machine: header.machine,
    bits: header.bits,
    glibcNeeds: [],
    needed: [],
    runpath: [],
    rpath: [],
    versionNeeds: {}
  }
  const truncated = (what: string, end: number): ElfInfo => ({
    ...found,
    unreadable: `truncated ELF (${what} at byte ${end}, the file has ${fileSize}); it would fail to load on Lambda`
  })
  const malformed = (what: string): ElfInfo => ({
    ...found,
    unreadable: `${what}, so the libraries and versions it needs cannot be checked`
  })
  if (fileSize < header.size) return truncated('the header ends', header.size)
  if (header.shoff === 0 || header.shnum === 0) {
    // stripped of section headers (sstrip and some packers do this): the loader never needs them
    if (header.phoff === 0 || header.phnum === 0) return malformed('no section or program headers')
    return inspectSegments(header, fileSize, read, found, truncated, malformed)
  }
  const minimum = header.bits === 64 ? 64 : 40
  if (header.shentsize < minimum) {
    return malformed(
      `malformed ELF (section header entries of ${header.shentsize} bytes, ELF${header.bits} needs ${minimum})`
    )
  }
  const table = { offset: header.shoff, size: header.shnum * header.shentsize }
  if (end(table) > fileSize) return truncated('section headers end', end(table))
  const sections = readSections(header, await read(table))
  const cut = sections.findIndex(section => hasBytes(section) && end(section) > fileSize)
  if (cut !== -1) return truncated(`section ${cut} ends`, end(sections[cut]))
  const facts: DynamicFacts = { ...found }
  // .dynamic and .gnu.version_r share .dynstr, megabytes in a big C++ library: read it once
  const stringTables = new Map<number, Promise<Buffer>>()
  const readStrings = (index: number) => {
    const table = stringTables.get(index) ?? read(sections[index])
    stringTables.set(index, table)
    return table
  }

  const dynamic = sections.find(section => section.type === SHT_DYNAMIC)
  if (dynamic) {
    const strings = sections[dynamic.link]
    if (!strings || !hasBytes(strings)) {
      return malformed(
        `malformed ELF (.dynamic takes its names from section ${dynamic.link}, which holds none)`
      )
    }
    const entries = readDynamic(header, await read(dynamic))
    const named = namedEntries(entries, await readStrings(dynamic.link))
    if (typeof named === 'string') return malformed(`malformed ELF (${named})`)
    Object.assign(facts, named)
  }

  const verneed = sections.find(section => section.type === SHT_GNU_VERNEED)
  if (verneed) {
    const strings = sections[verneed.link]
    if (!strings || !hasBytes(strings)) {
      return malformed(
        `malformed ELF (.gnu.version_r takes its names from section ${verneed.link}, which holds none)`
      )
    }
    const needs = readVerneed(
      header,
      await read(verneed),
      verneed.info,
      await readStrings(verneed.link)
    )
    if (typeof needs === 'string') return malformed(`malformed ELF (${needs})`)
    Object.assign(facts, withGlibcNeeds(needs))
  }
  return { ...found, ...facts }
}

/**
 * The loader's way in: PT_DYNAMIC gives the dynamic entries, whose DT_STRTAB and DT_VERNEED
 * are addresses, mapped back to file offsets through the PT_LOAD segments that hold them.
 */
async function inspectSegments(
  header: Header,
  fileSize: number,
  read: ReadRegion,
  found: ElfInfo,
  truncated: (what: string, end: number) => ElfInfo,
  malformed: (what: string) => ElfInfo
): Promise<ElfInfo> {
  const minimum = header.bits === 64 ? 56 : 32
  if (header.phentsize < minimum) {
    return malformed(
      `malformed ELF (program header entries of ${header.phentsize} bytes, ELF${header.bits} needs ${minimum})`
    )
  }
  const table = { offset: header.phoff, size: header.phnum * header.phentsize }
  if (end(table) > fileSize) return truncated('program headers end', end(table))
  const segments = readSegments(header, await read(table))
  const cut = segments.findIndex(segment => segment.type === PT_LOAD && end(segment) > fileSize)
  if (cut !== -1) return truncated(`segment ${cut} ends`, end(segments[cut]))
  const dynamicSegment = segments.find(segment => segment.type === PT_DYNAMIC)
  // no PT_DYNAMIC: a static object, which needs no library
  if (!dynamicSegment) return found
  if (end(dynamicSegment) > fileSize)
    return truncated('the dynamic segment ends', end(dynamicSegment))
  const entries = readDynamic(header, await read(dynamicSegment))
  const value = (tag: number) => entries.find(entry => entry.tag === tag)?.value
  const loads = segments.filter(segment => segment.type === PT_LOAD)
  const region = (address: number | undefined, size: number): Region | undefined => {
    if (address === undefined) return undefined
    const load = loads.find(l => address >= l.vaddr && address + size <= l.vaddr + l.size)
    return load && { offset: load.offset + address - load.vaddr, size }
  }
  const stringsRegion = region(value(DT_STRTAB), value(DT_STRSZ) ?? 0)
  if (!stringsRegion) {
    return malformed('malformed ELF (its DT_STRTAB lies outside every loaded segment)')
  }
  const strings = await read(stringsRegion)
  const named = namedEntries(entries, strings)
  if (typeof named === 'string') return malformed(`malformed ELF (${named})`)
  const count = value(DT_VERNEEDNUM) ?? 0
  if (value(DT_VERNEED) === undefined || count === 0) return { ...found, ...named }
  // the records' own sizes are unknown here: read what the segment holds from the first one on
  const start = region(value(DT_VERNEED), 0)
  const load = start && loads.find(l => start.offset >= l.offset && start.offset < end(l))
  if (!start || !load) {
    return malformed('malformed ELF (its DT_VERNEED lies outside every loaded segment)')
  }
  const records = await read({
    offset: start.offset,
    size: Math.min(end(load) - start.offset, VERNEED_MAX_BYTES)
  })
  const needs = readVerneed(header, records, count, strings)
  if (typeof needs === 'string') return malformed(`malformed ELF (${needs})`)
  return { ...found, ...named, ...withGlibcNeeds(needs) }
}

/** The newest GLIBC_x.y among the needs, or undefined if none is a numbered version. */
export function maxGlibc(needs: string[]): [number, number] | undefined {
  let max: [number, number] | undefined
  for (const need of needs) {
    const version = glibcVersion(need)
    if (version && (!max || compareGlibcVersions(version, max) > 0)) max = [version[0], version[1]]
  }
  return max
}

/**
 * 'GLIBC_2.2.5' → [2, 2, 5]. GLIBC_ABI_DT_RELR is not numbered, but only glibc 2.36 and
 * later provide it (newer linkers add it with -z pack-relative-relocs), so it counts as 2.36.
 * GLIBC_PRIVATE and other names give undefined.
 */
export function glibcVersion(need: string): number[] | undefined {
  if (need === 'GLIBC_ABI_DT_RELR') return [2, 36]
  const match = /^GLIBC_(\d+(?:\.\d+)+)$/.exec(need)
  return match ? match[1].split('.').map(Number) : undefined
}

/** Numeric, part by part; a missing part counts as 0 (2.17 = 2.17.0). */
export function compareGlibcVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0)
    if (diff !== 0) return Math.sign(diff)
  }
  return 0
}

/** The ELF header, or undefined when the bytes are not ELF; a header cut short reads as 0s. */
function parseHeader(bytes: Buffer): Header | undefined {
  if (bytes.length < 6 || bytes.readUInt32BE(0) !== 0x7f454c46) return undefined
  const elfClass = bytes[4]
  const data = bytes[5]
  if ((elfClass !== 1 && elfClass !== 2) || (data !== 1 && data !== 2)) return undefined
  const bits = elfClass === 2 ? 64 : 32
  const r = new Reader(bytes, data === 1, bits)
  const e_machine = r.u16(18)
  return {
    machine: MACHINES[e_machine] ?? `EM_${e_machine}`,
    bits,
    le: data === 1,
    size: bits === 64 ? 64 : 52,
    shoff: r.word(bits === 64 ? 0x28 : 0x20),
    shentsize: r.u16(bits === 64 ? 0x3a : 0x2e),
    // e_shnum 0 with a non-zero e_shoff means 65280+ sections; no extension module has that many.
    shnum: r.u16(bits === 64 ? 0x3c : 0x30),
    phoff: r.word(bits === 64 ? 0x20 : 0x1c),
    phentsize: r.u16(bits === 64 ? 0x36 : 0x2a),
    phnum: r.u16(bits === 64 ? 0x38 : 0x2c)
  }
}

function readSections(h: Header, table: Buffer): Section[] {
  const r = new Reader(table, h.le, h.bits)
  const is64 = h.bits === 64
  return Array.from({ length: h.shnum }, (_, index) => {
    const at = index * h.shentsize
    return {
      type: r.u32(at + 4),
      offset: r.word(at + (is64 ? 24 : 16)),
      size: r.word(at + (is64 ? 32 : 20)),
      link: r.u32(at + (is64 ? 40 : 24)),
      info: r.u32(at + (is64 ? 44 : 28))
    }
  })
}

function readSegments(h: Header, table: Buffer): Segment[] {
  const r = new Reader(table, h.le, h.bits)
  const is64 = h.bits === 64
  return Array.from({ length: h.phnum }, (_, index) => {
    const at = index * h.phentsize
    return {
      type: r.u32(at),
      offset: r.word(at + (is64 ? 8 : 4)),
      vaddr: r.word(at + (is64 ? 16 : 8)),
      size: r.word(at + (is64 ? 32 : 16))
    }
  })
}

/** Elf_Dyn records up to DT_NULL: a tag and a value, one word each. */
function readDynamic(h: Header, section: Buffer): { tag: number; value: number }[] {
  const r = new Reader(section, h.le, h.bits)
  const word = h.bits === 64 ? 8 : 4
  const entries: { tag: number; value: number }[] = []
  for (let at = 0; at + 2 * word <= section.length; at += 2 * word) {
    const tag = r.word(at)
    if (tag === DT_NULL) break
    entries.push({ tag, value: r.word(at + word) })
  }
  return entries
}

/** DT_NEEDED, DT_SONAME, DT_RPATH and DT_RUNPATH read from the dynamic string table. */
function namedEntries(
  entries: { tag: number; value: number }[],
  strings: Buffer
): Pick<ElfInfo, 'needed' | 'soname' | 'runpath' | 'rpath'> | string {
  const named: Pick<ElfInfo, 'needed' | 'soname' | 'runpath' | 'rpath'> = {
    needed: [],
    runpath: [],
    rpath: []
  }
  for (const { tag, value } of entries) {
    if (![DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH].includes(tag)) continue
    if (value >= strings.length) return 'the dynamic section names a string past its string table'
    const name = cString(strings, value)
    if (tag === DT_NEEDED && !named.needed.includes(name)) named.needed.push(name)
    else if (tag === DT_SONAME) named.soname = name
    else if (tag === DT_RUNPATH) named.runpath.push(...searchPath(name))
    else if (tag === DT_RPATH) named.rpath.push(...searchPath(name))
  }
  return named
}

/** "a::b" → ['a', 'b']: an empty entry means the current directory to the loader, never wanted. */
function searchPath(value: string): string[] {
  return value.split(':').filter(dir => dir !== '')
}

function withGlibcNeeds(
  versionNeeds: Record<string, string[]>
): Pick<ElfInfo, 'glibcNeeds' | 'versionNeeds'> {
  const glibc = Object.values(versionNeeds)
    .flat()
    .filter(name => name.startsWith('GLIBC_'))
  return { glibcNeeds: [...new Set(glibc)], versionNeeds }
}

/** SHT_NULL and SHT_NOBITS (.bss) sections take no bytes of the file. */
function hasBytes(section: Section): boolean {
  return section.type !== SHT_NULL && section.type !== SHT_NOBITS
}

function end(r: Region): number {
  return r.offset + r.size
}

/**
 * Walks the Elf_Verneed chain (one record per library, vn_file naming it) and each one's
 * Elf_Vernaux chain (16-byte records in both classes). Returns what is wrong instead when a
 * record or a name lies outside its section.
 */
function readVerneed(
  h: Header,
  section: Buffer,
  count: number,
  strings: Buffer
): Record<string, string[]> | string {
  const r = new Reader(section, h.le, h.bits)
  // a Map, so a library named "__proto__" is just a name
  const needs = new Map<string, string[]>()
  const pastEnd = '.gnu.version_r runs past the end of its section'
  const pastStrings = '.gnu.version_r names a version past its string table'
  let need = 0
  // Every step moves forward (a zero "next" ends a chain), so garbage cannot loop forever.
  for (let n = 0; n < count; n++) {
    if (need + 16 > section.length) return pastEnd
    const auxCount = r.u16(need + 2)
    const fileOffset = r.u32(need + 4)
    if (fileOffset >= strings.length) return pastStrings
    const file = cString(strings, fileOffset)
    const library = needs.get(file) ?? []
    needs.set(file, library)
    let aux = need + r.u32(need + 8)
    for (let a = 0; a < auxCount; a++) {
      if (aux + 16 > section.length) return pastEnd
      const nameOffset = r.u32(aux + 8)
      if (nameOffset >= strings.length) return pastStrings
      const name = cString(strings, nameOffset)
      if (!library.includes(name)) library.push(name)
      const next = r.u32(aux + 12)
      if (next === 0) break
      aux += next
    }
    const next = r.u32(need + 12)
    if (next === 0) break
    need += next
  }
  return Object.fromEntries(needs)
}

function cString(bytes: Buffer, offset: number): string {
  const end = bytes.indexOf(0, offset)
  return bytes.toString('latin1', offset, end === -1 ? bytes.length : end)
}

/** Bounds-checked reads: anything past the end reads as 0, so garbage input never throws. */
class Reader {
  constructor(
    private bytes: Buffer,
    private le: boolean,
    private bits: 32 | 64
  ) {}
  u16(at: number): number {
    if (at + 2 > this.bytes.length) return 0
    return this.le ? this.bytes.readUInt16LE(at) : this.bytes.readUInt16BE(at)
  }
  u32(at: number): number {
    if (at + 4 > this.bytes.length) return 0
    return this.le ? this.bytes.readUInt32LE(at) : this.bytes.readUInt32BE(at)
  }
  /** An address, offset or size: 8 bytes in ELF64, 4 in ELF32. */
  word(at: number): number {
    if (this.bits === 32) return this.u32(at)
    if (at + 8 > this.bytes.length) return 0
    return Number(this.le ? this.bytes.readBigUInt64LE(at) : this.bytes.readBigUInt64BE(at))
  }
}
