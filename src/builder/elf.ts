// Reads just enough of an ELF file to tell whether Lambda can load it: the machine it was
// built for and the GLIBC_x.y symbol versions it needs (its SHT_GNU_verneed section, the
// same list `readelf -V` prints). Garbage or truncated input never throws: whatever could
// be read is returned, and a file that is not ELF at all gives undefined.
import { open } from 'node:fs/promises'

export interface ElfInfo {
  /** 'x86_64' | 'aarch64' | 'i386' | 'arm', or 'EM_<n>' for anything else. */
  machine: string
  bits: 32 | 64
  /** Every GLIBC_* version the file needs from glibc's libraries, in file order, no repeats. */
  glibcNeeds: string[]
}

const MACHINES: Record<number, string> = { 3: 'i386', 40: 'arm', 62: 'x86_64', 183: 'aarch64' }
const SHT_GNU_VERNEED = 0x6ffffffe
const HEADER_BYTES = 64

interface Header {
  machine: string
  bits: 32 | 64
  le: boolean
  shoff: number
  shentsize: number
  shnum: number
}

/** A byte range of the file. */
interface Region {
  offset: number
  size: number
}

interface VerneedLocation {
  verneed: Region
  /** sh_info: how many Elf_Verneed records the section holds. */
  count: number
  strings: Region
}

export function parseElf(bytes: Buffer): ElfInfo | undefined {
  const header = parseHeader(bytes.subarray(0, HEADER_BYTES))
  if (!header) return undefined
  const slice = (r: Region) => bytes.subarray(r.offset, r.offset + r.size)
  const location = locateVerneed(header, slice(sectionTable(header)))
  const glibcNeeds = location
    ? readVerneed(header, slice(location.verneed), location.count, slice(location.strings))
    : []
  return { machine: header.machine, bits: header.bits, glibcNeeds }
}

/**
 * Same as parseElf, but reads only the header, the section header table, the verneed
 * section and its string table, so a 60 MB shared object is never read whole.
 */
export async function readElfFile(path: string): Promise<ElfInfo | undefined> {
  const file = await open(path, 'r')
  try {
    const read = async (r: Region): Promise<Buffer> => {
      const buffer = Buffer.alloc(r.size)
      const { bytesRead } = await file.read(buffer, 0, r.size, r.offset)
      return buffer.subarray(0, bytesRead)
    }
    const header = parseHeader(await read({ offset: 0, size: HEADER_BYTES }))
    if (!header) return undefined
    // Garbage offsets and sizes are clamped to the file so they never allocate gigabytes.
    const fileSize = (await file.stat()).size
    const readClamped = (r: Region) => read(clamp(r, fileSize))
    const location = locateVerneed(header, await readClamped(sectionTable(header)))
    const glibcNeeds = location
      ? readVerneed(
          header,
          await readClamped(location.verneed),
          location.count,
          await readClamped(location.strings)
        )
      : []
    return { machine: header.machine, bits: header.bits, glibcNeeds }
  } finally {
    await file.close()
  }
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

function parseHeader(bytes: Buffer): Header | undefined {
  if (bytes.length < 52 || bytes.readUInt32BE(0) !== 0x7f454c46) return undefined
  const elfClass = bytes[4]
  const data = bytes[5]
  if ((elfClass !== 1 && elfClass !== 2) || (data !== 1 && data !== 2)) return undefined
  const bits = elfClass === 2 ? 64 : 32
  if (bits === 64 && bytes.length < 64) return undefined
  const r = new Reader(bytes, data === 1, bits)
  const e_machine = r.u16(18)
  return {
    machine: MACHINES[e_machine] ?? `EM_${e_machine}`,
    bits,
    le: data === 1,
    shoff: r.word(bits === 64 ? 0x28 : 0x20),
    shentsize: r.u16(bits === 64 ? 0x3a : 0x2e),
    // e_shnum 0 with a non-zero e_shoff means 65280+ sections; no extension module has that many.
    shnum: r.u16(bits === 64 ? 0x3c : 0x30)
  }
}

function sectionTable(h: Header): Region {
  const minimum = h.bits === 64 ? 64 : 40
  if (h.shoff === 0 || h.shentsize < minimum) return { offset: 0, size: 0 }
  return { offset: h.shoff, size: h.shnum * h.shentsize }
}

function locateVerneed(h: Header, table: Buffer): VerneedLocation | undefined {
  const r = new Reader(table, h.le, h.bits)
  const section = (
    index: number
  ): (Region & { type: number; link: number; info: number }) | undefined => {
    const at = index * h.shentsize
    if (at + h.shentsize > table.length) return undefined
    const is64 = h.bits === 64
    return {
      type: r.u32(at + 4),
      offset: r.word(at + (is64 ? 24 : 16)),
      size: r.word(at + (is64 ? 32 : 20)),
      link: r.u32(at + (is64 ? 40 : 24)),
      info: r.u32(at + (is64 ? 44 : 28))
    }
  }
  for (let i = 0; i < h.shnum; i++) {
    const verneed = section(i)
    if (verneed?.type !== SHT_GNU_VERNEED) continue
    const strings = section(verneed.link)
    if (!strings) return undefined
    return { verneed, count: verneed.info, strings }
  }
  return undefined
}

/** Walks the Elf_Verneed chain and each one's Elf_Vernaux chain (16-byte records in both classes). */
function readVerneed(h: Header, section: Buffer, count: number, strings: Buffer): string[] {
  const r = new Reader(section, h.le, h.bits)
  const needs = new Set<string>()
  let need = 0
  // Every step moves forward (a zero "next" ends a chain), so garbage cannot loop forever.
  for (let n = 0; n < count && need + 16 <= section.length; n++) {
    const auxCount = r.u16(need + 2)
    let aux = need + r.u32(need + 8)
    for (let a = 0; a < auxCount && aux + 16 <= section.length; a++) {
      const name = cString(strings, r.u32(aux + 8))
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
  if (offset >= bytes.length) return ''
  const end = bytes.indexOf(0, offset)
  return bytes.toString('latin1', offset, end === -1 ? bytes.length : end)
}

function clamp(r: Region, fileSize: number): Region {
  const offset = Math.min(r.offset, fileSize)
  return { offset, size: Math.max(0, Math.min(r.size, fileSize - offset)) }
}

/** Bounds-checked reads: anything past the end reads as 0, so truncated input never throws. */
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
