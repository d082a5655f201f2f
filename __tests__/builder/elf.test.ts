import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  compareGlibcVersions,
  glibcVersion,
  maxGlibc,
  parseElf,
  readElfFile
} from '../../src/builder/elf.js'
import {
  C_SOURCES,
  compileSharedObject,
  CXX_SOURCES,
  makeElf32,
  makeSharedObject
} from '../support/elf.js'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'elf-test-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function writeTemp(name: string, bytes: Buffer): string {
  const path = join(dir, name)
  writeFileSync(path, bytes)
  return path
}

/** What parseElf gives for a fixture needing `glibc` from libc.so.6 and nothing else. */
function libcOnly(machine: string, bits: 32 | 64, glibc: string[]) {
  return {
    machine,
    bits,
    glibcNeeds: glibc,
    needed: ['libc.so.6'],
    runpath: [],
    rpath: [],
    versionNeeds: { 'libc.so.6': glibc }
  }
}

/** The GLIBC_* names `readelf -V` lists as needed, sorted: the reference the parser must match. */
function readelfGlibcNeeds(path: string): string[] {
  const out = execFileSync('readelf', ['-V', '-W', path], { encoding: 'utf8' })
  return [...out.matchAll(/Name: (GLIBC_\S+)/g)].map(m => m[1]).sort()
}

describe('the fixture builder', () => {
  it.each([
    ['x86_64', makeSharedObject({ machine: 'x86_64', glibc: ['GLIBC_2.17', 'GLIBC_2.35'] })],
    ['aarch64', makeSharedObject({ machine: 'aarch64', glibc: ['GLIBC_2.17'], padTo: 10_000 })],
    ['i386', makeElf32({ glibc: ['GLIBC_2.0'] })],
    ['big-endian PowerPC64', makeSharedObject({ machine: 21, endian: 'big', glibc: ['GLIBC_2.3'] })]
  ])('writes a %s object readelf reads without complaint', (name, bytes) => {
    const path = writeTemp(`fixture-${name}.so`, bytes)
    const result = spawnSync('readelf', ['-h', '-V', '-W', path], { encoding: 'utf8' })
    expect(result.status).toBe(0)
    expect(result.stderr).toBe('')
    expect(result.stdout).toContain('DYN (Shared object file)')
    expect(result.stdout).toContain('File: libc.so.6')
  })

  it('pads the file to the requested size', () => {
    expect(makeSharedObject({ machine: 'x86_64', padTo: 65_536 }).length).toBe(65_536)
  })
})

describe('parseElf on fixtures', () => {
  it('reads machine, class and the GLIBC versions needed', async () => {
    const bytes = makeSharedObject({ machine: 'x86_64', glibc: ['GLIBC_2.17', 'GLIBC_2.35'] })
    expect(await parseElf(bytes)).toEqual(libcOnly('x86_64', 64, ['GLIBC_2.17', 'GLIBC_2.35']))
  })

  it('names aarch64, 32-bit i386 and arm, and other machines by number', async () => {
    expect(await parseElf(makeSharedObject({ machine: 'aarch64' }))).toMatchObject({
      machine: 'aarch64',
      bits: 64
    })
    expect(await parseElf(makeElf32())).toMatchObject({ machine: 'i386', bits: 32 })
    expect(await parseElf(makeSharedObject({ machine: 'arm' }))).toMatchObject({
      machine: 'arm',
      bits: 32
    })
    expect((await parseElf(makeSharedObject({ machine: 243 })))?.machine).toBe('EM_243')
  })

  it('reads big-endian and 32-bit version needs', async () => {
    const bigEndian = makeSharedObject({ machine: 21, endian: 'big', glibc: ['GLIBC_2.3'] })
    expect(await parseElf(bigEndian)).toEqual(libcOnly('EM_21', 64, ['GLIBC_2.3']))
    const i386 = makeElf32({ glibc: ['GLIBC_2.0', 'GLIBC_2.1.3'] })
    expect((await parseElf(i386))?.glibcNeeds).toEqual(['GLIBC_2.0', 'GLIBC_2.1.3'])
  })

  it('keeps GLIBC_ needs from libm too, but not libstdc++ GLIBCXX_ ones', async () => {
    const bytes = makeSharedObject({
      machine: 'x86_64',
      glibc: ['GLIBC_2.14'],
      needs: { 'libstdc++.so.6': ['GLIBCXX_3.4.29', 'CXXABI_1.3'], 'libm.so.6': ['GLIBC_2.29'] }
    })
    expect((await parseElf(bytes))?.glibcNeeds).toEqual(['GLIBC_2.14', 'GLIBC_2.29'])
  })

  it('returns undefined for files that are not ELF', async () => {
    expect(await parseElf(Buffer.from('not a shared object at all, just text'))).toBeUndefined()
    expect(await parseElf(Buffer.alloc(0))).toBeUndefined()
    expect(
      await parseElf(Buffer.from([0xcf, 0xfa, 0xed, 0xfe, ...Buffer.alloc(60)]))
    ).toBeUndefined()
  })

  it('reports a file cut anywhere before its end as truncated, never as one with fewer needs', async () => {
    const whole = makeSharedObject({ machine: 'x86_64', glibc: ['GLIBC_2.17', 'GLIBC_2.35'] })
    for (let length = 0; length < whole.length; length++) {
      const info = await parseElf(whole.subarray(0, length))
      if (length < 6) expect(info).toBeUndefined()
      else expect(info?.unreadable, `cut at ${length}`).toMatch(/^truncated ELF \(/)
    }
    expect(await parseElf(whole)).toEqual(libcOnly('x86_64', 64, ['GLIBC_2.17', 'GLIBC_2.35']))
  })

  it('never throws on corrupted bytes', async () => {
    const whole = makeSharedObject({ machine: 'aarch64', glibc: ['GLIBC_2.17', 'GLIBC_2.28'] })
    let seed = 42
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
    for (let round = 0; round < 2000; round++) {
      const bytes = Buffer.from(whole)
      for (let flips = 0; flips < 4; flips++) {
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256)
      }
      await parseElf(bytes) // a throw fails the test
    }
  })

  it('never throws on corrupted bytes read through program headers either', async () => {
    const whole = makeSharedObject({
      machine: 'x86_64',
      glibc: ['GLIBC_2.17'],
      needs: { 'libstdc++.so.6': ['GLIBCXX_3.4.21'] },
      runpath: '$ORIGIN'
    })
    whole.writeBigUInt64LE(0n, 0x28) // no section headers
    expect((await parseElf(whole))?.needed).toEqual(['libc.so.6', 'libstdc++.so.6'])
    let seed = 7
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
    for (let round = 0; round < 2000; round++) {
      const bytes = Buffer.from(whole)
      for (let flips = 0; flips < 4; flips++) {
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256)
      }
      await parseElf(bytes)
    }
  })
})

describe('readElfFile', () => {
  it('agrees with parseElf and with readelf on fixture files', async () => {
    const bytes = makeSharedObject({
      machine: 'aarch64',
      glibc: ['GLIBC_2.17', 'GLIBC_2.28'],
      padTo: 1_000_000
    })
    const path = writeTemp('padded.so', bytes)
    expect(await readElfFile(path)).toEqual(await parseElf(bytes))
    expect((await readElfFile(path))?.glibcNeeds.sort()).toEqual(readelfGlibcNeeds(path))
  })

  it('reads a 5 GB shared object without loading it whole', async () => {
    const path = writeTemp(
      'huge.so',
      makeSharedObject({ machine: 'x86_64', glibc: ['GLIBC_2.34'] })
    )
    truncateSync(path, 5 * 1024 ** 3) // sparse: takes no disk space
    expect(await readElfFile(path)).toEqual(libcOnly('x86_64', 64, ['GLIBC_2.34']))
  })

  it('returns undefined for a non-ELF file and for an empty one', async () => {
    expect(await readElfFile(writeTemp('text.so', Buffer.from('INPUT(-lfoo)\n')))).toBeUndefined()
    expect(await readElfFile(writeTemp('empty.so', Buffer.alloc(0)))).toBeUndefined()
  })

  it('says where a file cut off before its section headers ends, and where they would', async () => {
    const whole = makeSharedObject({ machine: 'x86_64', glibc: ['GLIBC_2.17'], padTo: 9000 })
    const path = writeTemp('cut.so', whole.subarray(0, 4096))
    expect(await readElfFile(path)).toEqual({
      ...libcOnly('x86_64', 64, []),
      needed: [],
      versionNeeds: {},
      unreadable: `truncated ELF (section headers end at byte ${sectionHeadersEnd(whole)}, the file has 4096); it would fail to load on Lambda`
    })
  })
})

/** Where the section header table of an ELF64 little-endian file ends. */
function sectionHeadersEnd(bytes: Buffer): number {
  return Number(bytes.readBigUInt64LE(0x28)) + bytes.readUInt16LE(0x3c) * bytes.readUInt16LE(0x3a)
}

/** Byte offset of the section header of the first section of `type` (ELF64 little-endian). */
function sectionHeaderAt(bytes: Buffer, type: number): number {
  const shoff = Number(bytes.readBigUInt64LE(0x28))
  for (let i = 0; i < bytes.readUInt16LE(0x3c); i++) {
    const at = shoff + i * 64
    if (bytes.readUInt32LE(at + 4) === type) return at
  }
  throw new Error(`no section of type ${type}`)
}

const SHT_GNU_VERNEED = 0x6ffffffe
const SHT_DYNAMIC = 6

/** File offset of the first section of `type` (ELF64 little-endian). */
function sectionOffset(bytes: Buffer, type: number): number {
  return Number(bytes.readBigUInt64LE(sectionHeaderAt(bytes, type) + 24))
}

/** An x86_64 fixture needing GLIBC_2.17, with `damage` applied to a copy of its bytes. */
function damaged(damage: (bytes: Buffer, verneedHeader: number, verneed: number) => void): Buffer {
  const bytes = Buffer.from(makeSharedObject({ machine: 'x86_64', glibc: ['GLIBC_2.17'] }))
  const header = sectionHeaderAt(bytes, SHT_GNU_VERNEED)
  damage(bytes, header, Number(bytes.readBigUInt64LE(header + 24)))
  return bytes
}

describe('a file that cannot be read whole', () => {
  it('is truncated when only its ELF header is left', async () => {
    const whole = makeSharedObject({ machine: 'aarch64', glibc: ['GLIBC_2.17'], padTo: 9000 })
    const info = await readElfFile(writeTemp('header-only.so', whole.subarray(0, 64)))
    expect(info?.unreadable).toBe(
      `truncated ELF (section headers end at byte ${sectionHeadersEnd(whole)}, the file has 64); it would fail to load on Lambda`
    )
  })

  it('is truncated when the header itself is cut short', async () => {
    const info = await readElfFile(
      writeTemp('half-header.so', makeSharedObject({ machine: 'x86_64' }).subarray(0, 20))
    )
    expect(info?.unreadable).toBe(
      'truncated ELF (the header ends at byte 64, the file has 20); it would fail to load on Lambda'
    )
  })

  it('is truncated when a section lies past the end of the file', async () => {
    const bytes = damaged((b, header) => b.writeBigUInt64LE(BigInt(b.length), header + 24))
    const index =
      (sectionHeaderAt(bytes, SHT_GNU_VERNEED) - Number(bytes.readBigUInt64LE(0x28))) / 64
    const size = Number(bytes.readBigUInt64LE(sectionHeaderAt(bytes, SHT_GNU_VERNEED) + 32))
    expect((await parseElf(bytes))?.unreadable).toBe(
      `truncated ELF (section ${index} ends at byte ${bytes.length + size}, the file has ${bytes.length}); it would fail to load on Lambda`
    )
  })

  it.each([
    [
      'neither section nor program headers',
      damaged(b => {
        b.writeBigUInt64LE(0n, 0x28)
        b.writeBigUInt64LE(0n, 0x20)
      }),
      'no section or program headers, so the libraries and versions it needs cannot be checked'
    ],
    [
      'a dynamic section naming a string past its string table',
      damaged(b => b.writeBigUInt64LE(1n << 20n, sectionOffset(b, SHT_DYNAMIC) + 8)),
      'malformed ELF (the dynamic section names a string past its string table), so the libraries and versions it needs cannot be checked'
    ],
    [
      'section header entries too small',
      damaged(b => b.writeUInt16LE(16, 0x3a)),
      'malformed ELF (section header entries of 16 bytes, ELF64 needs 64), so the libraries and versions it needs cannot be checked'
    ],
    [
      'its version needs naming a string table that does not exist',
      damaged((b, header) => b.writeUInt32LE(99, header + 40)),
      'malformed ELF (.gnu.version_r takes its names from section 99, which holds none), so the libraries and versions it needs cannot be checked'
    ],
    [
      'its version needs running past their section',
      damaged((b, _header, verneed) => b.writeUInt32LE(4096, verneed + 8)),
      'malformed ELF (.gnu.version_r runs past the end of its section), so the libraries and versions it needs cannot be checked'
    ],
    [
      'a version name past the string table',
      damaged((b, _header, verneed) => b.writeUInt32LE(1 << 20, verneed + 16 + 8)),
      'malformed ELF (.gnu.version_r names a version past its string table), so the libraries and versions it needs cannot be checked'
    ]
  ])('says so when it has %s', async (_what, bytes, unreadable) => {
    expect((await parseElf(bytes))?.unreadable).toBe(unreadable)
  })

  it('is truncated when a real gcc-built object is cut, and whole when it is not', async () => {
    const path = compileSharedObject('gcc', C_SOURCES.newGlibc, join(dir, 'real-cut.so'))
    expect((await readElfFile(path))?.unreadable).toBeUndefined()
    const bytes = readFileSync(path)
    const cut = writeTemp('real-cut-half.so', bytes.subarray(0, bytes.length >> 1))
    expect((await readElfFile(cut))?.unreadable).toMatch(
      new RegExp(
        `^truncated ELF \\(section headers end at byte ${bytes.length}, the file has ${bytes.length >> 1}\\)`
      )
    )
  })
})

describe('real shared objects built by gcc', () => {
  it('reads an x86_64 object needing glibc 2.36 as readelf does', async () => {
    const path = compileSharedObject('gcc', C_SOURCES.newGlibc, join(dir, 'new-x86_64.so'))
    const info = await readElfFile(path)
    expect(info?.machine).toBe('x86_64')
    expect(info?.bits).toBe(64)
    expect(info?.glibcNeeds).toEqual(expect.arrayContaining(['GLIBC_2.27', 'GLIBC_2.36']))
    expect([...info!.glibcNeeds].sort()).toEqual(readelfGlibcNeeds(path))
    expect(maxGlibc(info!.glibcNeeds)).toEqual([2, 36])
  })

  it('reads an aarch64 object needing glibc 2.36 as readelf does', async () => {
    const path = compileSharedObject(
      'aarch64-linux-gnu-gcc',
      C_SOURCES.newGlibc,
      join(dir, 'new-aarch64.so')
    )
    const info = await readElfFile(path)
    expect(info?.machine).toBe('aarch64')
    expect([...info!.glibcNeeds].sort()).toEqual(readelfGlibcNeeds(path))
    expect(maxGlibc(info!.glibcNeeds)).toEqual([2, 36])
  })

  it('sees a .symver-pinned memcpy as GLIBC_2.2.5, not the default 2.14', async () => {
    const path = compileSharedObject('gcc', C_SOURCES.oldMemcpy, join(dir, 'old-memcpy.so'))
    expect((await readElfFile(path))?.glibcNeeds).toEqual(['GLIBC_2.2.5'])
    expect(readelfGlibcNeeds(path)).toEqual(['GLIBC_2.2.5'])
  })

  it('finds no needs in an object that calls no libc function', async () => {
    const path = compileSharedObject(
      'aarch64-linux-gnu-gcc',
      C_SOURCES.plain,
      join(dir, 'plain.so')
    )
    expect(await readElfFile(path)).toMatchObject({
      machine: 'aarch64',
      bits: 64,
      glibcNeeds: [],
      versionNeeds: {}
    })
  })
})

/** What `readelf -d` and `readelf -V` say a file needs: the reference for the link facts. */
function readelfLinks(path: string) {
  const dynamic = execFileSync('readelf', ['-d', '-W', path], { encoding: 'utf8' })
  const versions = execFileSync('readelf', ['-V', '-W', path], { encoding: 'utf8' })
  const versionNeeds: Record<string, string[]> = {}
  let library = ''
  for (const line of versions.split('\n')) {
    const file = /File: (\S+)/.exec(line)
    const name = /Name: (\S+)/.exec(line)
    if (file) library = file[1]
    else if (name && library) (versionNeeds[library] ??= []).push(name[1])
  }
  const all = (tag: string) =>
    [...dynamic.matchAll(new RegExp(`\\(${tag}\\)\\s+[^[]*\\[([^\\]]*)\\]`, 'g'))].map(m => m[1])
  return {
    needed: all('NEEDED'),
    soname: all('SONAME')[0],
    runpath: all('RUNPATH').flatMap(p => p.split(':')),
    versionNeeds
  }
}

/** The same facts from the parser, version lists sorted as readelf's order may differ. */
async function parsedLinks(path: string) {
  const info = await readElfFile(path)
  return {
    needed: info?.needed,
    soname: info?.soname,
    runpath: info?.runpath,
    versionNeeds: Object.fromEntries(
      Object.entries(info?.versionNeeds ?? {}).map(([file, names]) => [file, [...names].sort()])
    )
  }
}

function sortedNeeds(links: ReturnType<typeof readelfLinks>) {
  return {
    ...links,
    versionNeeds: Object.fromEntries(
      Object.entries(links.versionNeeds).map(([file, names]) => [file, [...names].sort()])
    )
  }
}

describe('the libraries a shared object needs', () => {
  it('reads DT_NEEDED, SONAME, RUNPATH, RPATH and the versions needed from each library', async () => {
    const bytes = makeSharedObject({
      machine: 'x86_64',
      glibc: ['GLIBC_2.17'],
      needs: {
        'libstdc++.so.6': ['GLIBCXX_3.4.30', 'CXXABI_1.3.13'],
        'libgcc_s.so.1': ['GCC_7.0.0']
      },
      needed: ['libpq.so.5'],
      soname: 'libdemo.so.1',
      runpath: '$ORIGIN/../demo.libs:$ORIGIN',
      rpath: '/opt/lib'
    })
    expect(await parseElf(bytes)).toEqual({
      machine: 'x86_64',
      bits: 64,
      glibcNeeds: ['GLIBC_2.17'],
      needed: ['libc.so.6', 'libstdc++.so.6', 'libgcc_s.so.1', 'libpq.so.5'],
      soname: 'libdemo.so.1',
      runpath: ['$ORIGIN/../demo.libs', '$ORIGIN'],
      rpath: ['/opt/lib'],
      versionNeeds: {
        'libc.so.6': ['GLIBC_2.17'],
        'libstdc++.so.6': ['GLIBCXX_3.4.30', 'CXXABI_1.3.13'],
        'libgcc_s.so.1': ['GCC_7.0.0']
      }
    })
  })

  it('reads them from 32-bit and big-endian objects too', async () => {
    const i386 = makeElf32({ needed: ['libz.so.1'], rpath: '$ORIGIN' })
    expect(await parseElf(i386)).toMatchObject({ needed: ['libz.so.1'], rpath: ['$ORIGIN'] })
    const ppc = makeSharedObject({ machine: 21, endian: 'big', needed: ['libGL.so.1'] })
    expect((await parseElf(ppc))?.needed).toEqual(['libGL.so.1'])
  })

  it('agrees with readelf on a real g++ object with a $ORIGIN runpath', async () => {
    const path = compileSharedObject('g++', CXX_SOURCES.toCharsDouble, join(dir, 'cxx.so'), [
      '-Wl,-rpath,$ORIGIN/../demo.libs'
    ])
    const links = await parsedLinks(path)
    expect(links).toEqual(sortedNeeds(readelfLinks(path)))
    expect(links.needed).toContain('libstdc++.so.6')
    expect(links.runpath).toEqual(['$ORIGIN/../demo.libs'])
    expect(links.versionNeeds['libstdc++.so.6']).toContain('GLIBCXX_3.4.29')
  })

  it('agrees with readelf on a real aarch64 object with a SONAME and libm', async () => {
    const path = compileSharedObject(
      'aarch64-linux-gnu-gcc',
      C_SOURCES.usesLibm,
      join(dir, 'libdemo.so'),
      ['-lm', '-Wl,-soname,libdemo.so.1', '-Wl,-rpath,$ORIGIN']
    )
    const links = await parsedLinks(path)
    expect(links).toEqual(sortedNeeds(readelfLinks(path)))
    expect(links).toMatchObject({ soname: 'libdemo.so.1', runpath: ['$ORIGIN'] })
    expect(links.needed).toContain('libm.so.6')
  })

  it('reads a real object stripped of its section headers through its program headers', async () => {
    const path = compileSharedObject('g++', CXX_SOURCES.toCharsDouble, join(dir, 'whole.so'), [
      '-Wl,-rpath,$ORIGIN/../demo.libs'
    ])
    const bytes = readFileSync(path)
    const sectionless = Buffer.from(bytes)
    sectionless.writeBigUInt64LE(0n, 0x28) // e_shoff
    sectionless.writeUInt16LE(0, 0x3c) // e_shnum
    sectionless.writeUInt16LE(0, 0x3e) // e_shstrndx
    expect(
      spawnSync('readelf', ['-S', writeTemp('sectionless.so', sectionless)], {
        encoding: 'utf8'
      }).stdout
    ).toContain('There are no sections in this file')
    const whole = await parseElf(bytes)
    expect(whole?.versionNeeds['libstdc++.so.6']).toContain('GLIBCXX_3.4.29')
    expect(await parseElf(sectionless)).toEqual(whole)
  })
})

describe('glibc versions', () => {
  it('compares numerically, so 2.9 is older than 2.17', () => {
    expect(maxGlibc(['GLIBC_2.9', 'GLIBC_2.17', 'GLIBC_2.2.5'])).toEqual([2, 17])
    expect(compareGlibcVersions([2, 9], [2, 17])).toBeLessThan(0)
    expect(compareGlibcVersions([2, 17], [2, 17, 0])).toBe(0)
    expect(compareGlibcVersions([2, 2, 5], [2, 2])).toBeGreaterThan(0)
  })

  it('ignores GLIBC_PRIVATE and counts GLIBC_ABI_DT_RELR as glibc 2.36', () => {
    expect(maxGlibc(['GLIBC_PRIVATE'])).toBeUndefined()
    expect(maxGlibc([])).toBeUndefined()
    expect(maxGlibc(['GLIBC_2.17', 'GLIBC_ABI_DT_RELR'])).toEqual([2, 36])
    expect(glibcVersion('GLIBC_2.2.5')).toEqual([2, 2, 5])
    expect(glibcVersion('GLIBCXX_3.4.29')).toBeUndefined()
  })
})
