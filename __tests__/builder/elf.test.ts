import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
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
import { C_SOURCES, compileSharedObject, makeElf32, makeSharedObject } from '../support/elf.js'

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
  it('reads machine, class and the GLIBC versions needed', () => {
    const bytes = makeSharedObject({ machine: 'x86_64', glibc: ['GLIBC_2.17', 'GLIBC_2.35'] })
    expect(parseElf(bytes)).toEqual({
      machine: 'x86_64',
      bits: 64,
      glibcNeeds: ['GLIBC_2.17', 'GLIBC_2.35']
    })
  })

  it('names aarch64, 32-bit i386 and arm, and other machines by number', () => {
    expect(parseElf(makeSharedObject({ machine: 'aarch64' }))).toMatchObject({
      machine: 'aarch64',
      bits: 64
    })
    expect(parseElf(makeElf32())).toMatchObject({ machine: 'i386', bits: 32 })
    expect(parseElf(makeSharedObject({ machine: 'arm' }))).toMatchObject({
      machine: 'arm',
      bits: 32
    })
    expect(parseElf(makeSharedObject({ machine: 243 }))?.machine).toBe('EM_243')
  })

  it('reads big-endian and 32-bit version needs', () => {
    const bigEndian = makeSharedObject({ machine: 21, endian: 'big', glibc: ['GLIBC_2.3'] })
    expect(parseElf(bigEndian)).toEqual({ machine: 'EM_21', bits: 64, glibcNeeds: ['GLIBC_2.3'] })
    const i386 = makeElf32({ glibc: ['GLIBC_2.0', 'GLIBC_2.1.3'] })
    expect(parseElf(i386)?.glibcNeeds).toEqual(['GLIBC_2.0', 'GLIBC_2.1.3'])
  })

  it('keeps GLIBC_ needs from libm too, but not libstdc++ GLIBCXX_ ones', () => {
    const bytes = makeSharedObject({
      machine: 'x86_64',
      glibc: ['GLIBC_2.14'],
      needs: { 'libstdc++.so.6': ['GLIBCXX_3.4.29', 'CXXABI_1.3'], 'libm.so.6': ['GLIBC_2.29'] }
    })
    expect(parseElf(bytes)?.glibcNeeds).toEqual(['GLIBC_2.14', 'GLIBC_2.29'])
  })

  it('returns undefined for files that are not ELF', () => {
    expect(parseElf(Buffer.from('not a shared object at all, just text'))).toBeUndefined()
    expect(parseElf(Buffer.alloc(0))).toBeUndefined()
    expect(parseElf(Buffer.from([0xcf, 0xfa, 0xed, 0xfe, ...Buffer.alloc(60)]))).toBeUndefined()
  })

  it('never throws or invents a need on a truncated file', () => {
    const whole = makeSharedObject({ machine: 'x86_64', glibc: ['GLIBC_2.17', 'GLIBC_2.35'] })
    for (let length = 0; length <= whole.length; length++) {
      const info = parseElf(whole.subarray(0, length))
      if (length < 64) expect(info).toBeUndefined()
      else {
        expect(info?.machine).toBe('x86_64')
        expect(['GLIBC_2.17', 'GLIBC_2.35']).toEqual(expect.arrayContaining(info!.glibcNeeds))
      }
    }
  })

  it('never throws on corrupted bytes', () => {
    const whole = makeSharedObject({ machine: 'aarch64', glibc: ['GLIBC_2.17', 'GLIBC_2.28'] })
    let seed = 42
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
    for (let round = 0; round < 2000; round++) {
      const bytes = Buffer.from(whole)
      for (let flips = 0; flips < 4; flips++) {
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256)
      }
      expect(() => parseElf(bytes)).not.toThrow()
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
    expect(await readElfFile(path)).toEqual(parseElf(bytes))
    expect((await readElfFile(path))?.glibcNeeds.sort()).toEqual(readelfGlibcNeeds(path))
  })

  it('reads a 5 GB shared object without loading it whole', async () => {
    const path = writeTemp(
      'huge.so',
      makeSharedObject({ machine: 'x86_64', glibc: ['GLIBC_2.34'] })
    )
    truncateSync(path, 5 * 1024 ** 3) // sparse: takes no disk space
    expect(await readElfFile(path)).toEqual({
      machine: 'x86_64',
      bits: 64,
      glibcNeeds: ['GLIBC_2.34']
    })
  })

  it('returns undefined for a non-ELF file and for an empty one', async () => {
    expect(await readElfFile(writeTemp('text.so', Buffer.from('INPUT(-lfoo)\n')))).toBeUndefined()
    expect(await readElfFile(writeTemp('empty.so', Buffer.alloc(0)))).toBeUndefined()
  })

  it('returns what it can of a file cut off before its section headers', async () => {
    const whole = makeSharedObject({ machine: 'x86_64', glibc: ['GLIBC_2.17'], padTo: 8192 })
    const path = writeTemp('cut.so', whole.subarray(0, 4096))
    expect(await readElfFile(path)).toEqual({ machine: 'x86_64', bits: 64, glibcNeeds: [] })
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
    expect(await readElfFile(path)).toEqual({ machine: 'aarch64', bits: 64, glibcNeeds: [] })
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
