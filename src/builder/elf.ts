// Reads just enough of an ELF file to tell whether Lambda can load it: the machine it was
// built for and the GLIBC_x.y symbol versions it needs (its SHT_GNU_verneed section, the
// same list `readelf -V` prints). Garbage or truncated input never throws; a file that is
// not ELF at all gives undefined, and one that cannot be read whole says why in `unreadable`.
import { open } from 'node:fs/promises'

export interface ElfInfo {
  /** 'x86_64' | 'aarch64' | 'i386' | 'arm', or 'EM_<n>' for anything else. */
  machine: string
  bits: 32 | 64
  /** Every GLIBC_* version the file needs from glibc's libraries, in file order, no repeats. */
  glibcNeeds: string[]
  /**
   * Why the file cannot be read whole (cut short, or the sections the check needs missing or
   * out of bounds), as a clause for a message; glibcNeeds is then incomplete.
   */
  unreadable?: string
}

const MACHINES: Record<number, string> = { 3: 'i386', 40: 'arm', 62: 'x86_64', 183: 'aarch64' }
const SHT_NULL = 0
const SHT_NOBITS = 8
const SHT_GNU_VERNEED = 0x6ffffffe
const HEADER_BYTES = 64

interface Header {
  machine: string
  bits: 32 | 64
  le: boolean
  /** e_ehsize as the class defines it: 52 or 64 bytes. */
  size: number
  shoff: number
  shentsize: number
  shnum: number
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

/** Reads a byte range that lies inside the file. */
type ReadRegion = (r: Region) => Promise<Buffer>

export async function parseElf(bytes: Buffer): Promise<ElfInfo | undefined> {
  return inspectElf(bytes.length, async r => bytes.subarray(r.offset, r.offset + r.size))
}

/**
 * Same as parseElf, but reads only the header, the section header table, the verneed
 * section and its string table, so a 60 MB shared object is never read whole.
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
  const found: ElfInfo = { machine: header.machine, bits: header.bits, glibcNeeds: [] }
  const truncated = (what: string, end: number): ElfInfo => ({
    ...found,
    unreadable: `truncated ELF (${what} at byte ${end}, the file has ${fileSize}); it would fail to load on Lambda`
  })
  const malformed = (what: string): ElfInfo => ({
    ...found,
    unreadable: `${what}, so the glibc versions it needs cannot be checked`
  })
  if (fileSize < header.size) return truncated('the header ends', header.size)
  const minimum = header.bits === 64 ? 64 : 40
  if (header.shoff === 0 || header.shnum === 0) return malformed('no section headers')
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
  const verneed = sections.find(section => section.type === SHT_GNU_VERNEED)
  if (!verneed) return found
  const strings = sections[verneed.link]
  if (!strings || !hasBytes(strings)) {
    return malformed(
      `malformed ELF (.gnu.version_r takes its names from section ${verneed.link}, which holds none)`
    )
  }
  const needs = readVerneed(header, await read(verneed), verneed.info, await read(strings))
  return typeof needs === 'string'
    ? malformed(`malformed ELF (${needs})`)
    : { ...found, glibcNeeds: needs }
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
    shnum: r.u16(bits === 64 ? 0x3c : 0x30)
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

/** SHT_NULL and SHT_NOBITS (.bss) sections take no bytes of the file. */
function hasBytes(section: Section): boolean {
  return section.type !== SHT_NULL && section.type !== SHT_NOBITS
}

function end(r: Region): number {
  return r.offset + r.size
}

/**
 * Walks the Elf_Verneed chain and each one's Elf_Vernaux chain (16-byte records in both
 * classes). Returns what is wrong instead when a record or a name lies outside its section.
 */
function readVerneed(
  h: Header,
  section: Buffer,
  count: number,
  strings: Buffer
): string[] | string {
  const r = new Reader(section, h.le, h.bits)
  const needs = new Set<string>()
  const pastEnd = '.gnu.version_r runs past the end of its section'
  let need = 0
  // Every step moves forward (a zero "next" ends a chain), so garbage cannot loop forever.
  for (let n = 0; n < count; n++) {
    if (need + 16 > section.length) return pastEnd
    const auxCount = r.u16(need + 2)
    let aux = need + r.u32(need + 8)
    for (let a = 0; a < auxCount; a++) {
      if (aux + 16 > section.length) return pastEnd
      const nameOffset = r.u32(aux + 8)
      if (nameOffset >= strings.length)
        return '.gnu.version_r names a version past its string table'
      const name = cString(strings, nameOffset)
      if (name.startsWith('GLIBC_')) needs.add(name)
      const next = r.u32(aux + 12)
      if (next === 0) break
      aux += next
    }
    const next = r.u32(need + 12)
    if (next === 0) break
    need += next
  }
  return [...needs]
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
