// A layer zip built elsewhere, checked without unpacking it; the bundle's e2e tests in
// __tests__/e2e/prebuilt.test.ts cover the refusals the step shows.
import { mkdtemp, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeAssembledZip } from '../../src/builder/assemble.js'
import { checkPrebuiltZip, PrebuiltZipError } from '../../src/builder/prebuilt.js'
import { fileZipSource, readZipDirectory, readZipEntry } from '../../src/builder/zip/read.js'
import { findRuntime } from '../../src/facts.js'
import { makeSharedObject } from '../support/elf.js'
import { fileInMemory } from '../support/layer-files.js'
import { storedZip } from '../support/stored-zip.js'

const target = { runtime: findRuntime('python3.12')!, architecture: 'x86_64' as const }

async function tempFile(name: string, bytes: Buffer): Promise<string> {
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'prebuilt-')), name)
  await writeFile(file, bytes)
  return file
}

describe('reading a zip by ranges', () => {
  it("reads back every entry of the build's own deflated zip, byte for byte", async () => {
    const module = Buffer.from('x = 1\n'.repeat(5000))
    const zip = await writeAssembledZip(
      [fileInMemory('pkg/__init__.py', module)],
      path.join(await mkdtemp(path.join(os.tmpdir(), 'layer-')), 'layer.zip')
    )
    const source = await fileZipSource(zip.zipPath)
    try {
      const entries = await readZipDirectory(source)
      const entry = entries.find(e => e.name === 'python/pkg/__init__.py')!
      expect(entry.compressedSize).toBeLessThan(entry.uncompressedSize)
      expect((await readZipEntry(source, entry)).equals(module)).toBe(true)
    } finally {
      await source.close()
    }
  })
})

describe('checkPrebuiltZip', () => {
  it('refuses a zip that declares more than 250 MB unzipped before inflating anything', async () => {
    const zip = storedZip([{ name: 'python/big.bin', data: Buffer.alloc(16) }])
    // the central directory's uncompressed size says 300 MB: a zip bomb's claim
    const central = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]))
    zip.writeUInt32LE(300 * 1024 * 1024, central + 24)
    const error = await checkPrebuiltZip(await tempFile('bomb.zip', zip), target, 'error').catch(
      (e: Error) => e
    )
    expect(error).toBeInstanceOf(PrebuiltZipError)
    expect((error as Error).message).toMatch(/unzips to 300\.0 MiB, above Lambda's 250\.0 MiB/)
  })

  it('reports packages from METADATA and RECORD and finds a too-new glibc in memory', async () => {
    const zip = storedZip([
      { name: 'python/fast/__init__.py', data: Buffer.from('') },
      {
        name: 'python/fast/_x.abi3.so',
        data: makeSharedObject({ machine: 'x86_64', glibc: ['GLIBC_2.2.5', 'GLIBC_2.35'] })
      },
      {
        name: 'python/fast-1.2.dist-info/METADATA',
        data: Buffer.from('Name: Fast\nVersion: 1.2\n')
      },
      {
        name: 'python/fast-1.2.dist-info/RECORD',
        data: Buffer.from('fast/__init__.py,,\nfast/_x.abi3.so,,\nfast-1.2.dist-info/METADATA,,\n')
      }
    ])
    const report = await checkPrebuiltZip(await tempFile('fast.zip', zip), target, 'error')
    expect(report.packages.map(p => [p.name, p.version, p.files.length])).toEqual([
      ['fast', '1.2', 3]
    ])
    expect(report.findings.map(f => [f.kind, f.file])).toEqual([['glibc', 'fast/_x.abi3.so']])
    expect(report.findings[0].message).toContain('needs GLIBC_2.35')
    expect(report.zip.codeSha256).toHaveLength(44)
  })
})
