import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  normalisePrefix,
  STREAMING_THRESHOLD,
  writeLayerZip,
  type LayerZip
} from '../../src/builder/zip/index.js'
import { extractZip, listZip, testZip } from '../support/unzip.js'

let scratch: string

beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'zip-test-'))
})

afterAll(() => {
  fs.rmSync(scratch, { recursive: true, force: true })
})

let counter = 0
function freshDir(label: string): string {
  const dir = path.join(scratch, `${label}-${++counter}`)
  fs.mkdirSync(dir, { recursive: true })
  return dir
}

type Spec = Record<string, string | Buffer | { content: string | Buffer; mode: number } | null>

/** Creates files (string/Buffer content, optional mode) and empty directories (null). */
function makeTree(root: string, spec: Spec, order: string[] = Object.keys(spec)): void {
  for (const relative of order) {
    const value = spec[relative]
    const full = path.join(root, relative)
    if (value === null) {
      fs.mkdirSync(full, { recursive: true })
      continue
    }
    fs.mkdirSync(path.dirname(full), { recursive: true })
    const content = typeof value === 'object' && !Buffer.isBuffer(value) ? value.content : value
    fs.writeFileSync(full, content)
    if (typeof value === 'object' && !Buffer.isBuffer(value)) fs.chmodSync(full, value.mode)
  }
}

/** Every file (relative path → content) and directory under `root`. */
function readTree(root: string): { files: Map<string, Buffer>; dirs: string[] } {
  const files = new Map<string, Buffer>()
  const dirs: string[] = []
  const walk = (dir: string, prefix: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const relative = prefix + entry.name
      if (entry.isDirectory()) {
        dirs.push(relative + '/')
        walk(path.join(dir, entry.name), relative + '/')
      } else {
        files.set(relative, fs.readFileSync(path.join(dir, entry.name)))
      }
    }
  }
  walk(root, '')
  return { files, dirs: dirs.sort() }
}

/** Names of files that differ or are missing between two trees (Buffer.equals: fast). */
function differingFiles(expected: Map<string, Buffer>, actual: Map<string, Buffer>): string[] {
  const names = new Set([...expected.keys(), ...actual.keys()])
  return [...names].filter(name => {
    const want = expected.get(name)
    const got = actual.get(name)
    return !want || !got || !want.equals(got)
  })
}

const PACKAGE: Spec = {
  'requests/__init__.py': 'from .api import get\n'.repeat(50),
  'requests/api.py': 'def get(url):\n    return url\n'.repeat(100),
  'requests-2.32.3.dist-info/METADATA': 'Name: requests\nVersion: 2.32.3\n',
  'requests-2.32.3.dist-info/RECORD': 'requests/__init__.py,,\n',
  'six.py': '# six\n'.repeat(200),
  'bin/tool': { content: '#!/bin/sh\necho hi\n', mode: 0o755 },
  'a-b.py': 'x = 1\n',
  'a/b.py': 'y = 2\n',
  'Z.py': 'z = 3\n'
}

describe('writeLayerZip', () => {
  it('puts every entry under python/, directories included, in byte order of the path', async () => {
    const site = freshDir('site')
    makeTree(site, PACKAGE)
    const zipPath = path.join(freshDir('out'), 'layer.zip')

    await writeLayerZip(site, zipPath)

    const names = listZip(zipPath).map(entry => entry.name)
    expect(names).toEqual(
      [
        'python/',
        'python/Z.py',
        'python/a/',
        'python/a/b.py',
        'python/a-b.py',
        'python/bin/',
        'python/bin/tool',
        'python/requests/',
        'python/requests/__init__.py',
        'python/requests/api.py',
        'python/requests-2.32.3.dist-info/',
        'python/requests-2.32.3.dist-info/METADATA',
        'python/requests-2.32.3.dist-info/RECORD',
        'python/six.py'
      ].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    )
    expect(names.every(name => name.startsWith('python/'))).toBe(true)
  })

  it('passes python3 -m zipfile -t and unzip -t, and extracts to exactly the source tree', async () => {
    const site = freshDir('site')
    makeTree(site, { ...PACKAGE, 'requests/data/': null, 'empty.txt': '' })
    const zipPath = path.join(freshDir('out'), 'layer.zip')

    await writeLayerZip(site, zipPath)

    expect(() => testZip(zipPath)).not.toThrow()
    const extracted = freshDir('extracted')
    extractZip(zipPath, extracted)
    const source = readTree(site)
    const result = readTree(path.join(extracted, 'python'))
    expect(result.dirs).toEqual(source.dirs)
    expect(differingFiles(source.files, result.files)).toEqual([])
  })

  it('makes files world-readable: 0600 and 0640 become 0644, any execute bit gives 0755', async () => {
    const site = freshDir('site')
    makeTree(site, {
      'private.py': { content: 'secret = 1\n', mode: 0o600 },
      'group.py': { content: 'g = 1\n', mode: 0o640 },
      'owner-exec': { content: '#!/bin/sh\n', mode: 0o700 },
      'user-x-only': { content: '#!/bin/sh\n', mode: 0o744 },
      'locked/inner.py': 'x = 1\n'
    })
    fs.chmodSync(path.join(site, 'locked'), 0o700)
    const zipPath = path.join(freshDir('out'), 'layer.zip')

    await writeLayerZip(site, zipPath)

    const modes = Object.fromEntries(listZip(zipPath).map(entry => [entry.name, entry.mode]))
    expect(modes).toEqual({
      'python/': 0o40755,
      'python/group.py': 0o100644,
      'python/locked/': 0o40755,
      'python/locked/inner.py': 0o100644,
      'python/owner-exec': 0o100755,
      'python/private.py': 0o100644,
      'python/user-x-only': 0o100755
    })
  })

  it('marks directories with the MS-DOS directory bit and writes Unix as the host system', async () => {
    const site = freshDir('site')
    makeTree(site, { 'pkg/mod.py': 'x = 1\n' })
    const zipPath = path.join(freshDir('out'), 'layer.zip')

    await writeLayerZip(site, zipPath)

    const entries = listZip(zipPath)
    for (const entry of entries) {
      expect(entry.createSystem).toBe(3)
      expect(entry.externalAttr & 0x10).toBe(entry.name.endsWith('/') ? 0x10 : 0)
    }
  })

  it('stamps every entry 1980-01-01 00:00:00 with no extra fields, whatever the mtimes', async () => {
    const site = freshDir('site')
    makeTree(site, PACKAGE)
    fs.utimesSync(path.join(site, 'six.py'), new Date('2031-05-06T07:08:09Z'), new Date())
    const zipPath = path.join(freshDir('out'), 'layer.zip')

    await writeLayerZip(site, zipPath)

    for (const entry of listZip(zipPath)) {
      expect(entry.dateTime).toEqual([1980, 1, 1, 0, 0, 0])
      expect(entry.extra).toBe('')
    }
  })

  it('rebuilds byte for byte from the same content despite other mtimes, modes, creation order and concurrency', async () => {
    const spec: Spec = {
      ...PACKAGE,
      'pkg/blob.bin': randomBytes(40_000),
      'pkg/text.txt': 'lorem ipsum '.repeat(30_000),
      'pkg/empty/': null
    }
    const first = freshDir('site')
    makeTree(first, spec)
    const second = freshDir('site')
    makeTree(second, spec, Object.keys(spec).reverse())
    let minute = 0
    for (const name of readTree(second).files.keys()) {
      const full = path.join(second, name)
      fs.utimesSync(full, new Date(2001, 1, 1, 0, minute), new Date(2020, 1, 1, 0, minute++))
      // Only the execute bit may matter: other permission bits are normalised away.
      fs.chmodSync(full, fs.statSync(full).mode & 0o111 ? 0o700 : 0o600)
    }
    const out = freshDir('out')

    const a = await writeLayerZip(first, path.join(out, 'a.zip'), { concurrency: 1 })
    const b = await writeLayerZip(second, path.join(out, 'b.zip'), {
      concurrency: 8,
      // A window smaller than the content makes the ring wrap and the producer wait.
      windowBytes: 50_000
    })

    expect(b.codeSha256).toBe(a.codeSha256)
    const bytes = fs.readFileSync(path.join(out, 'a.zip'))
    expect(fs.readFileSync(path.join(out, 'b.zip')).equals(bytes)).toBe(true)
  })

  it('keeps every file intact when the memory window is far smaller than the tree', async () => {
    // Sizes on both sides of the 64 KiB copy limit, half of them incompressible, so ring
    // space comes back out of order while bigger stored files are still being written.
    const site = freshDir('site')
    let seed = 7
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const spec: Spec = {}
    for (let i = 0; i < 240; i++) {
      const size = Math.floor(next() ** 3 * 200_000)
      spec[`p${i % 13}/f${i}.dat`] =
        i % 2 ? randomBytes(size) : Buffer.from(`row ${i} `.repeat(size / 6 + 1).slice(0, size))
    }
    makeTree(site, spec)
    const out = freshDir('out')
    const settings = [
      { concurrency: 1, windowBytes: 32 << 20 },
      { concurrency: 6, windowBytes: 1 },
      { concurrency: 3, windowBytes: 300_000 }
    ]

    const zips: LayerZip[] = []
    for (const [i, options] of settings.entries()) {
      zips.push(await writeLayerZip(site, path.join(out, `${i}.zip`), options))
    }

    expect(new Set(zips.map(zip => zip.sha256Hex)).size).toBe(1)
    expect(() => testZip(zips[1].zipPath)).not.toThrow()
    const extracted = freshDir('extracted')
    extractZip(zips[1].zipPath, extracted)
    const result = readTree(path.join(extracted, 'python')).files
    expect(differingFiles(readTree(site).files, result)).toEqual([])
  })

  it('reports CodeSha256 as base64 of the SHA-256 of the zip bytes, plus size and counts', async () => {
    const site = freshDir('site')
    makeTree(site, PACKAGE)
    const zipPath = path.join(freshDir('out'), 'layer.zip')

    const zip = await writeLayerZip(site, zipPath)

    const bytes = fs.readFileSync(zipPath)
    expect(zip.codeSha256).toBe(createHash('sha256').update(bytes).digest('base64'))
    expect(zip.sha256Hex).toBe(createHash('sha256').update(bytes).digest('hex'))
    expect(zip.zipSize).toBe(bytes.length)
    expect(zip.zipPath).toBe(zipPath)
    expect(zip.fileCount).toBe(Object.keys(PACKAGE).length)
    const sizes = [...readTree(site).files.values()].reduce((sum, b) => sum + b.length, 0)
    expect(zip.unzippedSize).toBe(sizes)
  })

  it('stores a symlink to a file inside the tree as a regular file with the target content', async () => {
    const site = freshDir('site')
    makeTree(site, { 'lib/libfoo.so.1.2': { content: 'ELF...'.repeat(100), mode: 0o755 } })
    fs.symlinkSync('libfoo.so.1.2', path.join(site, 'lib', 'libfoo.so'))
    const zipPath = path.join(freshDir('out'), 'layer.zip')
    const warnings: string[] = []

    await writeLayerZip(site, zipPath, { onWarning: message => warnings.push(message) })

    const link = listZip(zipPath).find(entry => entry.name === 'python/lib/libfoo.so')
    expect(link?.mode).toBe(0o100755)
    const extracted = freshDir('extracted')
    extractZip(zipPath, extracted)
    const copy = path.join(extracted, 'python', 'lib', 'libfoo.so')
    expect(fs.lstatSync(copy).isFile()).toBe(true)
    expect(fs.readFileSync(copy, 'utf8')).toBe('ELF...'.repeat(100))
    expect(warnings).toEqual([])
  })

  it('walks a symlinked directory inside the tree but not one that loops back', async () => {
    const site = freshDir('site')
    makeTree(site, { 'real/mod.py': 'x = 1\n' })
    fs.symlinkSync('real', path.join(site, 'alias'))
    fs.symlinkSync('..', path.join(site, 'real', 'parent'))
    const zipPath = path.join(freshDir('out'), 'layer.zip')
    const warnings: string[] = []

    await writeLayerZip(site, zipPath, { onWarning: message => warnings.push(message) })

    const names = listZip(zipPath).map(entry => entry.name)
    expect(names).toEqual([
      'python/',
      'python/alias/',
      'python/alias/mod.py',
      'python/real/',
      'python/real/mod.py'
    ])
    expect(warnings).toHaveLength(2)
    expect(warnings.join('\n')).toContain('python/alias/parent')
    expect(warnings.join('\n')).toContain('python/real/parent')
    expect(warnings.every(message => message.includes('loops'))).toBe(true)
  })

  it('skips symlinks that point outside the tree or nowhere, and warns naming each', async () => {
    const site = freshDir('site')
    const outside = path.join(freshDir('elsewhere'), 'credentials')
    fs.writeFileSync(outside, 'aws_secret_access_key = do-not-ship\n')
    makeTree(site, { 'pkg/mod.py': 'x = 1\n' })
    fs.symlinkSync(outside, path.join(site, 'pkg', 'creds'))
    fs.symlinkSync(path.dirname(outside), path.join(site, 'pkg', 'outdir'))
    fs.symlinkSync('missing.py', path.join(site, 'pkg', 'dangling.py'))
    const zipPath = path.join(freshDir('out'), 'layer.zip')
    const warnings: string[] = []

    const zip = await writeLayerZip(site, zipPath, { onWarning: message => warnings.push(message) })

    expect(listZip(zipPath).map(entry => entry.name)).toEqual([
      'python/',
      'python/pkg/',
      'python/pkg/mod.py'
    ])
    expect(zip.fileCount).toBe(1)
    expect(warnings).toHaveLength(3)
    expect(warnings.find(m => m.includes('python/pkg/creds'))).toMatch(/outside/)
    expect(warnings.find(m => m.includes('python/pkg/outdir'))).toMatch(/outside/)
    expect(warnings.find(m => m.includes('python/pkg/dangling.py'))).toMatch(/does not exist/)
    expect(warnings.every(message => !message.includes('\n'))).toBe(true)
  })

  it('skips special files such as FIFOs with a warning instead of hanging on them', async () => {
    const site = freshDir('site')
    makeTree(site, { 'mod.py': 'x = 1\n' })
    execFileSync('mkfifo', [path.join(site, 'pipe')])
    const zipPath = path.join(freshDir('out'), 'layer.zip')
    const warnings: string[] = []

    await writeLayerZip(site, zipPath, { onWarning: message => warnings.push(message) })

    expect(listZip(zipPath).map(entry => entry.name)).toEqual(['python/', 'python/mod.py'])
    expect(warnings).toEqual([expect.stringContaining('python/pipe')])
  })

  it('never carries setuid, setgid, sticky or group/world-write bits into the zip', async () => {
    const site = freshDir('site')
    makeTree(site, {
      'setuid-tool': { content: '#!/bin/sh\n', mode: 0o4755 },
      'setgid-tool': { content: '#!/bin/sh\n', mode: 0o2755 },
      'sticky.py': { content: 'x = 1\n', mode: 0o1644 },
      'open-exec': { content: '#!/bin/sh\n', mode: 0o777 },
      'open.py': { content: 'x = 1\n', mode: 0o666 },
      everything: { content: '#!/bin/sh\n', mode: 0o7777 },
      'shared/mod.py': { content: 'x = 1\n', mode: 0o4644 }
    })
    fs.chmodSync(path.join(site, 'shared'), 0o1777)
    expect(fs.statSync(path.join(site, 'setuid-tool')).mode & 0o7777).toBe(0o4755)
    const zipPath = path.join(freshDir('out'), 'layer.zip')

    await writeLayerZip(site, zipPath)

    const modes = Object.fromEntries(listZip(zipPath).map(entry => [entry.name, entry.mode]))
    expect(modes).toEqual({
      'python/': 0o40755,
      'python/everything': 0o100755,
      'python/open-exec': 0o100755,
      'python/open.py': 0o100644,
      'python/setgid-tool': 0o100755,
      'python/setuid-tool': 0o100755,
      'python/shared/': 0o40755,
      'python/shared/mod.py': 0o100644,
      'python/sticky.py': 0o100644
    })
  })

  it('skips FIFOs and sockets, and links to them, naming each and what it is', async () => {
    const site = freshDir('site')
    makeTree(site, { 'mod.py': 'x = 1\n' })
    execFileSync('mkfifo', [path.join(site, 'pipe')])
    fs.symlinkSync('pipe', path.join(site, 'pipe-link'))
    const socket = net.createServer()
    await new Promise<void>(resolve => socket.listen(path.join(site, 'control.sock'), resolve))
    const zipPath = path.join(freshDir('out'), 'layer.zip')
    const warnings: string[] = []

    try {
      await writeLayerZip(site, zipPath, { onWarning: message => warnings.push(message) })
    } finally {
      await new Promise(resolve => socket.close(resolve))
    }

    expect(listZip(zipPath).map(entry => entry.name)).toEqual(['python/', 'python/mod.py'])
    expect(warnings).toEqual([
      'Skipped python/control.sock: a socket, not a regular file, directory or symlink',
      'Skipped python/pipe: a FIFO (named pipe), not a regular file, directory or symlink',
      'Skipped symlink python/pipe-link -> pipe: a FIFO (named pipe), not a regular file or directory'
    ])
  })

  it('skips character and block devices, naming each', async ctx => {
    const site = freshDir('site')
    makeTree(site, { 'mod.py': 'x = 1\n' })
    try {
      // the same numbers as /dev/null and /dev/loop0; creating them needs root
      execFileSync('mknod', [path.join(site, 'null'), 'c', '1', '3'], { stdio: 'pipe' })
      execFileSync('mknod', [path.join(site, 'loop'), 'b', '7', '0'], { stdio: 'pipe' })
    } catch {
      ctx.skip()
    }
    const zipPath = path.join(freshDir('out'), 'layer.zip')
    const warnings: string[] = []

    await writeLayerZip(site, zipPath, { onWarning: message => warnings.push(message) })

    expect(listZip(zipPath).map(entry => entry.name)).toEqual(['python/', 'python/mod.py'])
    expect(warnings).toEqual([
      'Skipped python/loop: a block device, not a regular file, directory or symlink',
      'Skipped python/null: a character device, not a regular file, directory or symlink'
    ])
  })

  it('keeps empty directories', async () => {
    const site = freshDir('site')
    makeTree(site, { 'pkg/__init__.py': '', 'pkg/data/': null, 'pkg/data/nested/': null })
    const zipPath = path.join(freshDir('out'), 'layer.zip')

    await writeLayerZip(site, zipPath)

    const names = listZip(zipPath).map(entry => entry.name)
    expect(names).toContain('python/pkg/data/')
    expect(names).toContain('python/pkg/data/nested/')
  })

  it('writes non-ASCII names as UTF-8 with the language-encoding flag, ASCII names without it', async () => {
    const site = freshDir('site')
    makeTree(site, { 'données/café.py': 'x = 1\n', '日本語.txt': 'テキスト', 'plain.py': '' })
    const zipPath = path.join(freshDir('out'), 'layer.zip')

    await writeLayerZip(site, zipPath)

    const entries = listZip(zipPath)
    const flagged = entries.filter(entry => entry.flagBits & 0x800).map(entry => entry.name)
    expect(flagged.sort()).toEqual([
      'python/données/',
      'python/données/café.py',
      'python/日本語.txt'
    ])
    expect(() => testZip(zipPath)).not.toThrow()
    const extracted = freshDir('extracted')
    extractZip(zipPath, extracted)
    expect(fs.readFileSync(path.join(extracted, 'python', '日本語.txt'), 'utf8')).toBe('テキスト')
  })

  it('stores incompressible and empty files and deflates compressible ones', async () => {
    const site = freshDir('site')
    makeTree(site, {
      'random.bin': randomBytes(64 * 1024),
      'text.py': 'print("hello")\n'.repeat(1000),
      'empty.py': '',
      'one.txt': 'x'
    })
    const zipPath = path.join(freshDir('out'), 'layer.zip')

    await writeLayerZip(site, zipPath)

    const byName = Object.fromEntries(listZip(zipPath).map(entry => [entry.name, entry]))
    expect(byName['python/random.bin']).toMatchObject({ method: 0, compressedSize: 64 * 1024 })
    expect(byName['python/text.py'].method).toBe(8)
    expect(byName['python/text.py'].compressedSize).toBeLessThan(byName['python/text.py'].size)
    expect(byName['python/empty.py']).toMatchObject({ method: 0, size: 0 })
    expect(byName['python/one.txt']).toMatchObject({ method: 0, size: 1 })
  })

  it('round-trips files larger than the streaming threshold, compressible or not', async () => {
    const site = freshDir('site')
    const size = STREAMING_THRESHOLD + 123_457
    const compressible = Buffer.alloc(size)
    for (let i = 0; i < size; i += 64) compressible.write(`line ${i} of a big shared object\n`, i)
    const block = randomBytes(1024 * 1024)
    const incompressible = Buffer.concat([block, randomBytes(size - block.length)])
    makeTree(site, {
      'big/libbig.so': compressible,
      'big/model.bin': incompressible,
      'small.py': 'x = 1\n'
    })
    const zipPath = path.join(freshDir('out'), 'layer.zip')

    const zip = await writeLayerZip(site, zipPath, { concurrency: 2 })

    const byName = Object.fromEntries(listZip(zipPath).map(entry => [entry.name, entry]))
    expect(byName['python/big/libbig.so'].method).toBe(8)
    expect(byName['python/big/model.bin']).toMatchObject({ method: 0, compressedSize: size })
    expect(() => testZip(zipPath)).not.toThrow()
    const extracted = freshDir('extracted')
    extractZip(zipPath, extracted)
    expect(fs.readFileSync(path.join(extracted, 'python/big/libbig.so')).equals(compressible)).toBe(
      true
    )
    expect(
      fs.readFileSync(path.join(extracted, 'python/big/model.bin')).equals(incompressible)
    ).toBe(true)
    expect(zip.unzippedSize).toBe(2 * size + 6)
    const storedPath = path.join(path.dirname(zipPath), 'stored.zip')
    await writeLayerZip(site, storedPath, { level: 0 })
    expect(listZip(storedPath).every(entry => entry.method === 0)).toBe(true)
    expect(() => testZip(storedPath)).not.toThrow()
    fs.rmSync(storedPath)
    // Spill files for big entries are cleaned up next to the zip.
    expect(fs.readdirSync(path.dirname(zipPath))).toEqual(['layer.zip'])
  })

  it('switches to ZIP64 past 65,535 entries and both readers still accept it', async () => {
    // 220 directory symlinks to one folder of 300 files: 66,522 entries from 521 inodes.
    const site = freshDir('site')
    fs.mkdirSync(path.join(site, 'base'))
    for (let f = 0; f < 300; f++) fs.writeFileSync(path.join(site, 'base', `m${f}.py`), '')
    for (let l = 0; l < 220; l++) fs.symlinkSync('base', path.join(site, `l${l}`))
    const zipPath = path.join(freshDir('out'), 'layer.zip')

    const zip = await writeLayerZip(site, zipPath)

    expect(zip.fileCount).toBe(221 * 300)
    expect(listZip(zipPath)).toHaveLength(221 * 301 + 1)
    const bytes = fs.readFileSync(zipPath)
    // ZIP64 end of central directory record and locator, then the classic end record.
    expect(bytes.readUInt32LE(bytes.length - 22 - 20 - 56)).toBe(0x06064b50)
    expect(bytes.readUInt32LE(bytes.length - 22 - 20)).toBe(0x07064b50)
    expect(bytes.readUInt16LE(bytes.length - 22 + 10)).toBe(0xffff)
    expect(() => testZip(zipPath)).not.toThrow()
  })

  it('nests entries under a custom prefix with a directory entry for each level', async () => {
    const site = freshDir('site')
    makeTree(site, { 'mod.py': 'x = 1\n' })
    const zipPath = path.join(freshDir('out'), 'layer.zip')

    await writeLayerZip(site, zipPath, { prefix: 'python/lib/python3.12/site-packages' })

    expect(listZip(zipPath).map(entry => entry.name)).toEqual([
      'python/',
      'python/lib/',
      'python/lib/python3.12/',
      'python/lib/python3.12/site-packages/',
      'python/lib/python3.12/site-packages/mod.py'
    ])
  })

  it('refuses a missing site directory and leaves no zip behind', async () => {
    const zipPath = path.join(freshDir('out'), 'layer.zip')

    await expect(writeLayerZip(path.join(scratch, 'nope'), zipPath)).rejects.toThrow(
      /does not exist/
    )
    expect(fs.existsSync(zipPath)).toBe(false)
  })

  it('removes a half-written zip when a file cannot be read', async () => {
    const site = freshDir('site')
    makeTree(site, { 'a.py': 'x = 1\n', 'b.py': 'y = 2\n' })
    const zipPath = path.join(freshDir('out'), 'layer.zip')
    const pending = writeLayerZip(site, zipPath)
    // The walk is synchronous, so the file disappears between listing and reading.
    fs.rmSync(path.join(site, 'b.py'))

    await expect(pending).rejects.toThrow(/b\.py/)
    expect(fs.readdirSync(path.dirname(zipPath))).toEqual([])
  })
})

describe('normalisePrefix', () => {
  it('adds the trailing slash and drops empty segments', () => {
    expect(normalisePrefix('python')).toBe('python/')
    expect(normalisePrefix('python//lib/')).toBe('python/lib/')
    expect(normalisePrefix('')).toBe('')
  })

  it('refuses absolute and parent-relative prefixes', () => {
    expect(() => normalisePrefix('/python/')).toThrow(/relative/)
    expect(() => normalisePrefix('python/../etc/')).toThrow(/relative/)
    expect(() => normalisePrefix('python\\lib')).toThrow(/relative/)
  })
})

describe('files added from the workspace', () => {
  it('puts them at their layer paths beside python/, with their folders, and refuses one the packages hold', async () => {
    const site = freshDir('site')
    makeTree(site, { 'pkg/__init__.py': 'x = 1\n' })
    const workspace = freshDir('workspace')
    makeTree(workspace, { 'libpq.so.5': 'elf', 'tool.sh': { content: '#!/bin/sh\n', mode: 0o700 } })
    const zipPath = path.join(freshDir('out'), 'layer.zip')
    await writeLayerZip(site, zipPath, {
      extraFiles: [
        { source: path.join(workspace, 'libpq.so.5'), layerPath: 'lib/libpq.so.5', mode: 0o644 },
        { source: path.join(workspace, 'tool.sh'), layerPath: 'bin/tools/report', mode: 0o755 }
      ]
    })
    testZip(zipPath)
    expect(listZip(zipPath).map(e => [e.name, e.mode.toString(8)])).toEqual([
      ['bin/', '40755'],
      ['bin/tools/', '40755'],
      ['bin/tools/report', '100755'],
      ['lib/', '40755'],
      ['lib/libpq.so.5', '100644'],
      ['python/', '40755'],
      ['python/pkg/', '40755'],
      ['python/pkg/__init__.py', '100644']
    ])
    await expect(
      writeLayerZip(site, zipPath, {
        extraFiles: [
          {
            source: path.join(workspace, 'libpq.so.5'),
            layerPath: 'python/pkg/__init__.py',
            mode: 0o644
          }
        ]
      })
    ).rejects.toThrow(
      'files: python/pkg/__init__.py is also a file of the installed packages; choose another destination'
    )
  })
})
