// Writes small but genuine ELF shared objects, so tests can exercise the verifier without a
// compiler: readelf (binutils) reads them cleanly. Only the parts the verifier looks at are
// present: the ELF header, a .dynsym/.dynstr pair and a .gnu.version_r (version needs).
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'

export type FixtureMachine = 'x86_64' | 'aarch64' | 'i386' | 'arm'

export interface SharedObjectOptions {
  /** A machine name, or a raw e_machine number for anything else (e.g. 21 = PowerPC64). */
  machine: FixtureMachine | number
  /** Defaults to 32 for i386/arm, otherwise 64. */
  bits?: 32 | 64
  /** Defaults to little. */
  endian?: 'little' | 'big'
  /** Versions needed from libc.so.6, e.g. ['GLIBC_2.17', 'GLIBC_2.35']. */
  glibc?: string[]
  /** Versions needed from other libraries, e.g. { 'libstdc++.so.6': ['GLIBCXX_3.4.29'] }. */
  needs?: Record<string, string[]>
  /** Pads the file with zeros (before the section header table) to at least this many bytes. */
  padTo?: number
}

const E_MACHINE: Record<FixtureMachine, number> = { i386: 3, arm: 40, x86_64: 62, aarch64: 183 }

const SHT_SYMTAB_DYNSYM = 11
const SHT_STRTAB = 3
const SHT_GNU_VERNEED = 0x6ffffffe
const SHF_ALLOC = 2

export function makeSharedObject(opts: SharedObjectOptions): Buffer {
  const machine = typeof opts.machine === 'number' ? opts.machine : E_MACHINE[opts.machine]
  const bits = opts.bits ?? (opts.machine === 'i386' || opts.machine === 'arm' ? 32 : 64)
  const le = (opts.endian ?? 'little') === 'little'
  const is64 = bits === 64
  const ehsize = is64 ? 64 : 52
  const shentsize = is64 ? 64 : 40
  const symsize = is64 ? 24 : 16

  const libraries: [string, string[]][] = []
  if (opts.glibc?.length) libraries.push(['libc.so.6', opts.glibc])
  for (const [file, versions] of Object.entries(opts.needs ?? {})) libraries.push([file, versions])

  const dynstr = new StringTable()
  const verneed = encodeVerneed(libraries, dynstr, le)
  const shstrtab = new StringTable()

  // Layout: header, .dynsym (just the null symbol), .dynstr, .gnu.version_r, .shstrtab,
  // then the section header table. Addresses equal offsets, as if loaded at 0.
  let offset = ehsize
  const place = (size: number, align: number) => {
    offset = alignUp(offset, align)
    const at = offset
    offset += size
    return at
  }
  const sections = [
    { name: '.dynsym', type: SHT_SYMTAB_DYNSYM, link: 2, info: 1, align: 8, entsize: symsize },
    { name: '.dynstr', type: SHT_STRTAB, link: 0, info: 0, align: 1, entsize: 0 },
    {
      name: '.gnu.version_r',
      type: SHT_GNU_VERNEED,
      link: 2,
      info: libraries.length,
      align: 8,
      entsize: 0
    }
  ].map(s => ({ ...s, nameIndex: shstrtab.add(s.name) }))
  const shstrtabName = shstrtab.add('.shstrtab')
  const contents = [Buffer.alloc(symsize), dynstr.bytes(), verneed]
  const placed = sections.map((s, i) => ({
    ...s,
    offset: place(contents[i].length, s.align),
    size: contents[i].length
  }))
  const shstrBytes = shstrtab.bytes()
  // Like a linker's output, the section header table comes last, so padding goes before it.
  const tail = shstrBytes.length + 8 + shentsize * 5
  if (opts.padTo && opts.padTo > offset + tail) offset = opts.padTo - tail
  const shstrOffset = place(shstrBytes.length, 1)
  const shoff = place(shentsize * 5, 8)
  const size = Math.max(offset, opts.padTo ?? 0)

  const out = new Writer(Buffer.alloc(size), le, is64)
  // e_ident: magic, class, data, version, System V ABI
  out.buf.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1, 0], 0)
  out.u16(16, 3) // ET_DYN
  out.u16(18, machine)
  out.u32(20, 1)
  out.word(is64 ? 40 : 32, shoff)
  out.u16(is64 ? 52 : 40, ehsize)
  out.u16(is64 ? 58 : 46, shentsize)
  out.u16(is64 ? 60 : 48, 5)
  out.u16(is64 ? 62 : 50, 4) // e_shstrndx

  placed.forEach((s, i) => contents[i].copy(out.buf, s.offset))
  shstrBytes.copy(out.buf, shstrOffset)

  const headers = [
    ...placed.map(s => ({ ...s, flags: SHF_ALLOC, addr: s.offset })),
    {
      nameIndex: shstrtabName,
      type: SHT_STRTAB,
      flags: 0,
      addr: 0,
      offset: shstrOffset,
      size: shstrBytes.length,
      link: 0,
      info: 0,
      align: 1,
      entsize: 0
    }
  ]
  headers.forEach((h, i) => out.sectionHeader(shoff + (i + 1) * shentsize, h))
  return out.buf
}

/** A 32-bit x86 (i386) shared object: an architecture Lambda does not run. */
export function makeElf32(opts: Omit<SharedObjectOptions, 'machine' | 'bits'> = {}): Buffer {
  return makeSharedObject({ ...opts, machine: 'i386', bits: 32 })
}

/**
 * Compiles C source into a real shared object with the system's compilers: `gcc` (x86_64
 * here and on CI) or `aarch64-linux-gnu-gcc` (Debian/Ubuntu package gcc-aarch64-linux-gnu).
 */
export function compileSharedObject(
  compiler: 'gcc' | 'aarch64-linux-gnu-gcc',
  source: string,
  outPath: string
): string {
  writeFileSync(`${outPath}.c`, source)
  execFileSync(compiler, ['-shared', '-fPIC', '-O0', '-o', outPath, `${outPath}.c`])
  return outPath
}

/** Elf_Verneed records (16 bytes), each followed by its Elf_Vernaux records (16 bytes). */
function encodeVerneed(libraries: [string, string[]][], strings: StringTable, le: boolean) {
  const records: Buffer[] = []
  let versionIndex = 2 // 0 and 1 are reserved (local, global)
  libraries.forEach(([file, versions], li) => {
    const need = new Writer(Buffer.alloc(16 + 16 * versions.length), le, false)
    const last = li === libraries.length - 1
    need.u16(0, 1) // vn_version
    need.u16(2, versions.length)
    need.u32(4, strings.add(file))
    need.u32(8, 16) // vn_aux: the aux records follow directly
    need.u32(12, last ? 0 : need.buf.length) // vn_next
    versions.forEach((version, vi) => {
      const at = 16 + vi * 16
      need.u32(at, elfHash(version))
      need.u16(at + 4, 0) // vna_flags
      need.u16(at + 6, versionIndex++)
      need.u32(at + 8, strings.add(version))
      need.u32(at + 12, vi === versions.length - 1 ? 0 : 16)
    })
    records.push(need.buf)
  })
  return Buffer.concat(records)
}

class StringTable {
  private parts = ['']
  private length = 1
  private index = new Map<string, number>()
  add(s: string): number {
    const known = this.index.get(s)
    if (known !== undefined) return known
    const at = this.length
    this.parts.push(s)
    this.length += Buffer.byteLength(s) + 1
    this.index.set(s, at)
    return at
  }
  bytes(): Buffer {
    return Buffer.from(this.parts.join('\0') + '\0')
  }
}

interface SectionHeader {
  nameIndex: number
  type: number
  flags: number
  addr: number
  offset: number
  size: number
  link: number
  info: number
  align: number
  entsize: number
}

class Writer {
  constructor(
    readonly buf: Buffer,
    private le: boolean,
    private is64: boolean
  ) {}
  u16(at: number, v: number) {
    if (this.le) this.buf.writeUInt16LE(v, at)
    else this.buf.writeUInt16BE(v, at)
  }
  u32(at: number, v: number) {
    if (this.le) this.buf.writeUInt32LE(v >>> 0, at)
    else this.buf.writeUInt32BE(v >>> 0, at)
  }
  /** An address/offset/size: 8 bytes in ELF64, 4 in ELF32. */
  word(at: number, v: number) {
    if (!this.is64) return this.u32(at, v)
    if (this.le) this.buf.writeBigUInt64LE(BigInt(v), at)
    else this.buf.writeBigUInt64BE(BigInt(v), at)
  }
  sectionHeader(at: number, h: SectionHeader) {
    const w = this.is64 ? 8 : 4
    const fields: [number, boolean][] = [
      [h.nameIndex, false],
      [h.type, false],
      [h.flags, true],
      [h.addr, true],
      [h.offset, true],
      [h.size, true],
      [h.link, false],
      [h.info, false],
      [h.align, true],
      [h.entsize, true]
    ]
    for (const [value, isWord] of fields) {
      if (isWord) this.word(at, value)
      else this.u32(at, value)
      at += isWord ? w : 4
    }
  }
}

/** The SysV ELF hash stored in vna_hash, so the dynamic loader (and readelf) see valid records. */
function elfHash(name: string): number {
  let h = 0
  for (const c of Buffer.from(name)) {
    h = ((h << 4) + c) >>> 0
    const g = h & 0xf0000000
    if (g) h ^= g >>> 24
    h = (h & ~g) >>> 0
  }
  return h
}

function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align
}

/** C sources whose glibc needs are known from glibc's own symbol versions. */
export const C_SOURCES = {
  /** No libc calls at all: no version needs. */
  plain: 'int add(int a, int b) { return a + b; }\n',
  /** arc4random arrived in glibc 2.36, memfd_create in 2.27. */
  newGlibc: [
    '#define _GNU_SOURCE',
    '#include <stdlib.h>',
    '#include <sys/mman.h>',
    'unsigned int pick(void) { return arc4random(); }',
    'int anon(void) { return memfd_create("x", 0); }',
    ''
  ].join('\n'),
  /** x86_64 only: pins memcpy to its oldest version instead of the default GLIBC_2.14. */
  oldMemcpy: [
    '#include <string.h>',
    '__asm__(".symver memcpy, memcpy@GLIBC_2.2.5");',
    'void copy(char *d, const char *s, size_t n) { memcpy(d, s, n); }',
    ''
  ].join('\n')
}
