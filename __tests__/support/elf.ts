// Writes small but genuine ELF shared objects, so tests can exercise the verifier without a
// compiler: readelf (binutils) reads them cleanly. Only the parts the verifier looks at are
// present: the ELF header, a PT_LOAD and a PT_DYNAMIC program header, a .dynsym/.dynstr pair,
// a .gnu.version_r (version needs) and a .dynamic section (DT_NEEDED, SONAME, RPATH, RUNPATH).
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
  /**
   * DT_NEEDED entries besides the libraries version needs come from (libc.so.6 for `glibc`,
   * each key of `needs`), which are always listed, as a linker lists them.
   */
  needed?: string[]
  soname?: string
  /** DT_RUNPATH, e.g. '$ORIGIN/../numpy.libs'. */
  runpath?: string
  /** DT_RPATH, the older tag the loader searches before LD_LIBRARY_PATH. */
  rpath?: string
}

const E_MACHINE: Record<FixtureMachine, number> = { i386: 3, arm: 40, x86_64: 62, aarch64: 183 }

const SHT_SYMTAB_DYNSYM = 11
const SHT_STRTAB = 3
const SHT_DYNAMIC = 6
const SHT_GNU_VERNEED = 0x6ffffffe
const SHF_ALLOC = 2
const PT_LOAD = 1
const PT_DYNAMIC = 2
const DT = { NULL: 0, NEEDED: 1, STRTAB: 5, STRSZ: 10, SONAME: 14, RPATH: 15, RUNPATH: 29 }
const DT_VERNEED = 0x6ffffffe
const DT_VERNEEDNUM = 0x6fffffff

export function makeSharedObject(opts: SharedObjectOptions): Buffer {
  const machine = typeof opts.machine === 'number' ? opts.machine : E_MACHINE[opts.machine]
  const bits = opts.bits ?? (opts.machine === 'i386' || opts.machine === 'arm' ? 32 : 64)
  const le = (opts.endian ?? 'little') === 'little'
  const is64 = bits === 64
  const ehsize = is64 ? 64 : 52
  const shentsize = is64 ? 64 : 40
  const phentsize = is64 ? 56 : 32
  const symsize = is64 ? 24 : 16
  const dynsize = is64 ? 16 : 8

  const libraries: [string, string[]][] = []
  if (opts.glibc?.length) libraries.push(['libc.so.6', opts.glibc])
  for (const [file, versions] of Object.entries(opts.needs ?? {})) libraries.push([file, versions])

  const dynstr = new StringTable()
  const verneed = encodeVerneed(libraries, dynstr, le)
  const needed = [...new Set([...libraries.map(([file]) => file), ...(opts.needed ?? [])])]
  // [tag, string] pairs; the address tags are filled in once the layout is known
  const dynamicStrings: [number, number][] = [
    ...needed.map((name): [number, number] => [DT.NEEDED, dynstr.add(name)]),
    ...(opts.soname ? [[DT.SONAME, dynstr.add(opts.soname)] as [number, number]] : []),
    ...(opts.rpath ? [[DT.RPATH, dynstr.add(opts.rpath)] as [number, number]] : []),
    ...(opts.runpath ? [[DT.RUNPATH, dynstr.add(opts.runpath)] as [number, number]] : [])
  ]
  const dynamicEntries = dynamicStrings.length + 5 // STRTAB, STRSZ, VERNEED, VERNEEDNUM, NULL
  const shstrtab = new StringTable()

  // Layout: header, program headers, .dynsym (just the null symbol), .dynstr, .gnu.version_r,
  // .dynamic, .shstrtab, then the section header table. Addresses equal offsets, as if
  // loaded at 0.
  const phoff = ehsize
  let offset = ehsize + 2 * phentsize
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
    },
    { name: '.dynamic', type: SHT_DYNAMIC, link: 2, info: 0, align: 8, entsize: dynsize }
  ].map(s => ({ ...s, nameIndex: shstrtab.add(s.name) }))
  const shstrtabName = shstrtab.add('.shstrtab')
  const dynstrBytes = dynstr.bytes()
  const contents = [
    Buffer.alloc(symsize),
    dynstrBytes,
    verneed,
    Buffer.alloc(dynsize * dynamicEntries)
  ]
  const placed = sections.map((s, i) => ({
    ...s,
    offset: place(contents[i].length, s.align),
    size: contents[i].length
  }))
  const shstrBytes = shstrtab.bytes()
  // Like a linker's output, the section header table comes last, so padding goes before it.
  const tail = shstrBytes.length + 8 + shentsize * 6
  if (opts.padTo && opts.padTo > offset + tail) offset = opts.padTo - tail
  const shstrOffset = place(shstrBytes.length, 1)
  const shoff = place(shentsize * 6, 8)
  const size = Math.max(offset, opts.padTo ?? 0)

  const dynamic = new Writer(contents[3], le, is64)
  const [, strtab, versions, dynamicSection] = placed
  const entries: [number, number][] = [
    ...dynamicStrings,
    [DT.STRTAB, strtab.offset],
    [DT.STRSZ, strtab.size],
    [DT_VERNEED, versions.offset],
    [DT_VERNEEDNUM, libraries.length],
    [DT.NULL, 0]
  ]
  entries.forEach(([tag, value], i) => {
    dynamic.word(i * dynsize, tag)
    dynamic.word(i * dynsize + dynsize / 2, value)
  })

  const out = new Writer(Buffer.alloc(size), le, is64)
  // e_ident: magic, class, data, version, System V ABI
  out.buf.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1, 0], 0)
  out.u16(16, 3) // ET_DYN
  out.u16(18, machine)
  out.u32(20, 1)
  out.word(is64 ? 32 : 28, phoff)
  out.word(is64 ? 40 : 32, shoff)
  out.u16(is64 ? 52 : 40, ehsize)
  out.u16(is64 ? 54 : 42, phentsize)
  out.u16(is64 ? 56 : 44, 2)
  out.u16(is64 ? 58 : 46, shentsize)
  out.u16(is64 ? 60 : 48, 6)
  out.u16(is64 ? 62 : 50, 5) // e_shstrndx
  // One PT_LOAD mapping the whole file at address 0, and the PT_DYNAMIC inside it.
  out.programHeader(phoff, { type: PT_LOAD, offset: 0, size, align: 0x1000 })
  out.programHeader(phoff + phentsize, {
    type: PT_DYNAMIC,
    offset: dynamicSection.offset,
    size: dynamicSection.size,
    align: 8
  })

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
 * Compiles C (or, with g++, C++) source into a real shared object with the system's compilers:
 * `gcc`/`g++` (x86_64 here and on CI) or `aarch64-linux-gnu-gcc` (Debian/Ubuntu package
 * gcc-aarch64-linux-gnu). `linkArgs` go last, e.g. ['-lm', '-Wl,-rpath,$ORIGIN/../x.libs'].
 */
export function compileSharedObject(
  compiler: 'gcc' | 'g++' | 'aarch64-linux-gnu-gcc',
  source: string,
  outPath: string,
  linkArgs: string[] = []
): string {
  // g++ compiles a .c file as C++ too
  writeFileSync(`${outPath}.c`, source)
  execFileSync(compiler, ['-shared', '-fPIC', '-O0', '-o', outPath, `${outPath}.c`, ...linkArgs])
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
  /** Elf_Phdr; p_vaddr = p_paddr = p_offset. Field order differs between the classes. */
  programHeader(at: number, h: { type: number; offset: number; size: number; align: number }) {
    const PF_R = 4
    if (this.is64) {
      this.u32(at, h.type)
      this.u32(at + 4, PF_R)
      for (const [field, value] of [
        h.offset,
        h.offset,
        h.offset,
        h.size,
        h.size,
        h.align
      ].entries())
        this.word(at + 8 + field * 8, value)
    } else {
      for (const [field, value] of [h.type, h.offset, h.offset, h.offset, h.size, h.size].entries())
        this.u32(at + field * 4, value)
      this.u32(at + 24, PF_R)
      this.u32(at + 28, h.align)
    }
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
  /** Calls libm's cbrt, so linked with -lm it needs libm.so.6 (GLIBC_2.17 on aarch64). */
  usesLibm: '#include <math.h>\ndouble root(double x) { return cbrt(x); }\n',
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

/** C++ sources whose libstdc++ needs are known from libstdc++'s symbol versions (g++ only). */
export const CXX_SOURCES = {
  /** std::string's C++11 ABI: GLIBCXX_3.4.21 (gcc 5), which Amazon Linux 2's gcc 7 has. */
  cxx11String: [
    '#include <string>',
    'extern "C" unsigned long length(const char *s) { return std::string(s).size(); }',
    ''
  ].join('\n'),
  /** std::to_chars for double arrived in gcc 11: GLIBCXX_3.4.29, newer than Amazon Linux 2's. */
  toCharsDouble: [
    '#include <charconv>',
    'extern "C" int render(double v, char *out, int n) {',
    '  auto r = std::to_chars(out, out + n, v);',
    '  return r.ec == std::errc() ? static_cast<int>(r.ptr - out) : -1;',
    '}',
    ''
  ].join('\n')
}
