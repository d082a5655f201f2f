import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  extractLayer,
  installOrder,
  mergeLayouts,
  withRecords,
  writeAssembledZip,
  type ChosenWheel
} from '../../src/builder/assemble.js'
import {
  lambdaShebang,
  layoutWheel,
  readWheelDistribution,
  type LayerFile
} from '../../src/builder/layout.js'
import { readWheel } from '../../src/builder/wheels.js'
import { normalisePrefix } from '../../src/builder/zip/index.js'
import { fileInMemory } from '../support/layer-files.js'
import { isolatedPipEnv } from '../support/pip-env.js'
import { extractZip, listZip, testZip } from '../support/unzip.js'
import { buildWheel, writeZip, type WheelSpec } from '../support/wheels.js'

let scratch: string
let counter = 0

beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'assemble-test-'))
})

afterAll(() => {
  fs.rmSync(scratch, { recursive: true, force: true })
})

function freshDir(label: string): string {
  const dir = path.join(scratch, `${label}-${++counter}`)
  fs.mkdirSync(dir, { recursive: true })
  return dir
}

function writeWheels(dir: string, specs: WheelSpec[]): string[] {
  fs.mkdirSync(dir, { recursive: true })
  return specs.map(spec => {
    const wheel = buildWheel(spec)
    const file = path.join(dir, wheel.filename)
    fs.writeFileSync(file, wheel.bytes)
    return file
  })
}

/** Every file under root, relative path → content. */
function readTree(root: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>()
  const walk = (dir: string, prefix: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const relative = prefix + entry.name
      if (entry.isDirectory()) walk(path.join(dir, entry.name), relative + '/')
      else files.set(relative, fs.readFileSync(path.join(dir, entry.name)))
    }
  }
  walk(root, '')
  return files
}

async function assemble(
  wheelFiles: string[],
  options: { requested: string[]; scripts: boolean; inMemoryLimit?: number },
  zipPath: string
) {
  const warnings: string[] = []
  const chosen: ChosenWheel[] = await Promise.all(
    wheelFiles.map(async file => {
      const wheel = readWheel(file)
      return { wheel, dist: await readWheelDistribution(wheel) }
    })
  )
  const layouts = await Promise.all(
    installOrder(chosen).map(async ({ wheel, dist }) => ({
      dist,
      files: await layoutWheel(wheel, dist, {
        pipRequested: options.requested.includes(dist.name),
        scripts: options.scripts
      })
    }))
  )
  const limit = options.inMemoryLimit
  const merged = await mergeLayouts(layouts, message => warnings.push(message), limit)
  const files = await withRecords(
    merged,
    chosen.map(c => c.dist),
    limit
  )
  const zip = await writeAssembledZip(files, zipPath, { inMemoryLimit: limit })
  return { zip, files, warnings }
}

// A world with every wheel layout rule pip --target applies, a namespace package spread over
// two wheels, one path two wheels hold with the same bytes and one with different bytes.
const WORLD: WheelSpec[] = [
  {
    name: 'layout-demo',
    version: '1.0',
    requires: ['ns-left', 'ns-right'],
    files: {
      'layout_demo/__init__.py': 'VALUE = 1\n',
      'layout_demo/_native.so': Buffer.alloc(4096, 7),
      'layout_demo-1.0.data/purelib/demo_pure.py': 'PURE = 1\n',
      'layout_demo-1.0.data/platlib/demo_plat.py': 'PLAT = 1\n',
      'layout_demo-1.0.data/scripts/tool': '#!python\nprint("tool")\n',
      'layout_demo-1.0.data/scripts/tool.sh': '#!/bin/sh\necho tool\n',
      'layout_demo-1.0.data/data/share/demo/readme.txt': 'shared data\n',
      'layout_demo-1.0.data/data/lib/python/from_data.py': 'DATA = 1\n',
      'layout_demo-1.0.data/data/lib/left_behind.txt': 'pip leaves this in its staging home\n',
      'layout_demo-1.0.data/headers/demo.h': 'int demo;\n',
      'layout_demo-1.0.dist-info/entry_points.txt':
        '[console_scripts]\nlayout-demo = layout_demo.cli:main.run\n'
    },
    executable: ['layout_demo-1.0.data/scripts/tool.sh', 'layout_demo/_native.so']
  },
  {
    name: 'ns-left',
    version: '2.0',
    files: {
      'nsroot/left/__init__.py': 'LEFT = 1\n',
      'shared/same.txt': 'same bytes in both\n',
      'shared/clash.txt': 'from ns-left\n'
    }
  },
  {
    name: 'ns-right',
    version: '3.0',
    files: {
      'nsroot/right/__init__.py': 'RIGHT = 1\n',
      'shared/same.txt': 'same bytes in both\n',
      'shared/clash.txt': 'from ns-right\n'
    }
  }
]

describe('a layer assembled from wheels', () => {
  it('holds exactly the files and bytes pip install --target gives, scripts with a Lambda shebang', async () => {
    const dir = freshDir('differential')
    const wheels = writeWheels(path.join(dir, 'wheels'), WORLD.map(s => s) as WheelSpec[])
    const target = path.join(dir, 'target')
    execFileSync(
      'python3',
      [
        '-m',
        'pip',
        'install',
        '--no-index',
        '--find-links',
        path.join(dir, 'wheels'),
        '--target',
        target,
        '--no-compile',
        '-q',
        'layout-demo'
      ],
      { env: isolatedPipEnv(), stdio: 'pipe' }
    )
    const zipPath = path.join(dir, 'layer.zip')
    const { warnings, files } = await assemble(
      wheels,
      { requested: ['layout-demo'], scripts: true },
      zipPath
    )
    testZip(zipPath)
    const extracted = path.join(dir, 'extracted')
    extractZip(zipPath, extracted)
    const ours = readTree(path.join(extracted, 'python'))
    const pips = readTree(target)
    const separately = (file: string) => /\.dist-info\/(RECORD|INSTALLER|REQUESTED)$/.test(file)
    const plain = (tree: Map<string, Buffer>) =>
      [...tree.keys()].filter(file => !separately(file) && !file.startsWith('bin/')).sort()
    expect(plain(ours)).toEqual(plain(pips))
    for (const file of plain(pips)) expect(ours.get(file), file).toEqual(pips.get(file))
    // scripts: pip's with the runner's interpreter, ours with the Lambda one, else the same
    const scripts = [...pips.keys()].filter(file => file.startsWith('bin/')).sort()
    expect([...ours.keys()].filter(file => file.startsWith('bin/')).sort()).toEqual(scripts)
    for (const script of scripts) {
      const expected = lambdaShebang(pips.get(script)!) ?? pips.get(script)
      expect(ours.get(script)?.toString(), script).toBe(expected?.toString())
    }
    expect(ours.get('bin/layout-demo')?.toString()).toContain('#!/usr/bin/env python3\n')
    // the modes pip gives: executable where the wheel said so, and console scripts
    const modes = new Map(listZip(zipPath).map(entry => [entry.name, entry.mode & 0o777]))
    for (const file of [...ours.keys()]) {
      const pipMode = fs.statSync(path.join(target, file)).mode & 0o111 ? 0o755 : 0o644
      expect(modes.get(`python/${file}`), file).toBe(pipMode)
    }
    // INSTALLER and REQUESTED as pip writes them
    for (const name of ['layout_demo-1.0', 'ns_left-2.0', 'ns_right-3.0']) {
      expect(ours.get(`${name}.dist-info/INSTALLER`)).toEqual(
        pips.get(`${name}.dist-info/INSTALLER`)
      )
      expect(ours.has(`${name}.dist-info/REQUESTED`)).toBe(pips.has(`${name}.dist-info/REQUESTED`))
    }
    // RECORD lists every file of its distribution with the hash of what is in the layer
    const record = ours.get('layout_demo-1.0.dist-info/RECORD')!.toString()
    for (const file of files.filter(f => f.owner === 'layout-demo')) {
      const listed =
        file.path.startsWith('bin/') ||
        file.path.startsWith('share/') ||
        file.path.startsWith('include/')
          ? `../../${file.path}`
          : file.path
      if (file.path.endsWith('/RECORD')) {
        expect(record).toContain(`${listed},,\n`)
        continue
      }
      const digest = createHash('sha256').update(ours.get(file.path)!).digest('base64url')
      expect(record).toContain(`${listed},sha256=${digest},${ours.get(file.path)!.length}\n`)
    }
    expect(warnings).toEqual([
      "ns-right 3.0 and ns-left 2.0 both install shared/clash.txt with different content; the layer keeps ns-left 2.0's, as pip install does"
    ])
  })

  it('tells same and different bytes of one path apart the same way when it compares them a chunk at a time', async () => {
    const dir = freshDir('merge-chunked')
    const wheels = writeWheels(path.join(dir, 'wheels'), WORLD)
    const options = { requested: ['layout-demo'], scripts: true }
    const whole = await assemble(wheels, options, path.join(dir, 'whole.zip'))
    const chunked = await assemble(
      wheels,
      { ...options, inMemoryLimit: 1 },
      path.join(dir, 'chunked.zip')
    )
    expect(chunked.warnings).toEqual(whole.warnings)
    expect(chunked.warnings).toHaveLength(1)
    expect(chunked.zip.codeSha256).toBe(whole.zip.codeSha256)
  })

  it('copies deflated entries as they are, deflates a stored entry that shrinks, and gives the same bytes twice', async () => {
    const dir = freshDir('copy')
    const [wheelFile] = writeWheels(dir, [
      {
        name: 'copied',
        version: '1.0',
        files: { 'copied/text.py': 'x = 1\n'.repeat(2000), 'copied/blob.bin': Buffer.alloc(0) }
      }
    ])
    // a wheel whose big text entry is stored: deflate would shrink it far more than a tenth
    const storedWheel = path.join(dir, 'stored-1.0-py3-none-any.whl')
    execFileSync('python3', [
      '-c',
      `import zipfile,sys
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_STORED) as z:
    z.writestr('stored/big.py', 'y = 2\\n' * 3000)
    z.writestr('stored-1.0.dist-info/METADATA', 'Metadata-Version: 2.1\\nName: stored\\nVersion: 1.0\\n\\n')
    z.writestr('stored-1.0.dist-info/RECORD', '')`,
      storedWheel
    ])
    const first = await assemble(
      [wheelFile, storedWheel],
      { requested: [], scripts: false },
      path.join(dir, 'a.zip')
    )
    const second = await assemble(
      [wheelFile, storedWheel],
      { requested: [], scripts: false },
      path.join(dir, 'b.zip')
    )
    expect(second.zip.codeSha256).toBe(first.zip.codeSha256)
    testZip(first.zip.zipPath)
    const wheelListing = new Map(listZip(wheelFile).map(entry => [entry.name, entry]))
    const layerListing = new Map(listZip(first.zip.zipPath).map(entry => [entry.name, entry]))
    expect(layerListing.get('python/copied/text.py')?.compressedSize).toBe(
      wheelListing.get('copied/text.py')?.compressedSize
    )
    const big = layerListing.get('python/stored/big.py')!
    expect(big.method).toBe(8)
    expect(big.compressedSize).toBeLessThan(big.size * 0.9)
    for (const entry of layerListing.values()) {
      expect(entry.dateTime).toEqual([1980, 1, 1, 0, 0, 0])
      expect(entry.name.startsWith('python/')).toBe(true)
    }
    const names = [...layerListing.keys()]
    expect(names).toEqual([...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))))
  })

  it('writes the same zip for big stored and deflated entries whether it streams them or holds them whole', async () => {
    const dir = freshDir('big')
    // stored entries: one deflate shrinks by far more than a tenth, one it cannot shrink
    const storedWheel = path.join(dir, 'bigstored-1.0-py3-none-any.whl')
    execFileSync('python3', [
      '-c',
      `import random, zipfile, sys
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_STORED) as z:
    z.writestr('bigstored/text.py', 'y = 2\\n' * 100000)
    z.writestr('bigstored/noise.bin', random.Random(7).randbytes(300000))
    z.writestr('bigstored-1.0.dist-info/METADATA', 'Metadata-Version: 2.1\\nName: bigstored\\nVersion: 1.0\\n\\n')
    z.writestr('bigstored-1.0.dist-info/RECORD', '')`,
      storedWheel
    ])
    const [deflatedWheel] = writeWheels(dir, [
      {
        name: 'bigdeflated',
        version: '1.0',
        files: { 'bigdeflated/data.py': 'z = 3\n'.repeat(90000) }
      }
    ])
    const { files } = await assemble(
      [storedWheel, deflatedWheel],
      { requested: [], scripts: false },
      path.join(dir, 'whole.zip')
    )
    const held = await writeAssembledZip(files, path.join(dir, 'held.zip'))
    // merged, hashed for RECORD (the stored wheel lists no hashes) and written a chunk at a time
    const chunked = await assemble(
      [storedWheel, deflatedWheel],
      { requested: [], scripts: false, inMemoryLimit: 1024 },
      path.join(dir, 'chunked.zip')
    )
    expect(chunked.zip.codeSha256).toBe(held.codeSha256)
    const streamed = await writeAssembledZip(files, path.join(dir, 'streamed.zip'), {
      inMemoryLimit: 1024
    })
    expect(streamed.codeSha256).toBe(held.codeSha256)
    expect(fs.readFileSync(streamed.zipPath).equals(fs.readFileSync(held.zipPath))).toBe(true)
    testZip(streamed.zipPath)
    const listing = new Map(listZip(streamed.zipPath).map(entry => [entry.name, entry]))
    expect(listing.get('python/bigstored/text.py')?.method).toBe(8)
    expect(listing.get('python/bigstored/noise.bin')?.method).toBe(0)
    // the spill files are gone: only the zips are left beside them
    expect(
      fs.readdirSync(dir).filter(name => !name.endsWith('.zip') && !name.endsWith('.whl'))
    ).toEqual([])
    await extractLayer(files, path.join(dir, 'python'), 1024)
    const out = path.join(dir, 'out')
    extractZip(held.zipPath, out)
    expect(readTree(path.join(dir, 'python'))).toEqual(readTree(path.join(out, 'python')))
  })

  it('reads ZIP64 wheels and entries with data descriptors', async () => {
    const dir = freshDir('zip64')
    const wheelFile = path.join(dir, 'streamed-1.0-py3-none-any.whl')
    // written to a pipe, zipfile uses data descriptors; force_zip64 adds zip64 extras
    execFileSync('python3', [
      '-c',
      `import io, zipfile, sys
class Pipe(io.RawIOBase):
    def __init__(self, f): self.f = f
    def writable(self): return True
    def write(self, b): return self.f.write(b)
with open(sys.argv[1], 'wb') as raw:
    with zipfile.ZipFile(Pipe(raw), 'w', zipfile.ZIP_DEFLATED) as z:
        for name, text in [('streamed/__init__.py', 'S = 1\\n' * 500),
                           ('streamed-1.0.dist-info/METADATA', 'Metadata-Version: 2.1\\nName: streamed\\nVersion: 1.0\\n\\n'),
                           ('streamed-1.0.dist-info/RECORD', '')]:
            with z.open(name, 'w', force_zip64=True) as member:
                member.write(text.encode())`,
      wheelFile
    ])
    const flags = listZip(wheelFile).map(entry => entry.flagBits & 8)
    expect(flags.every(bit => bit === 8)).toBe(true)
    const { zip } = await assemble(
      [wheelFile],
      { requested: [], scripts: false },
      path.join(dir, 'layer.zip')
    )
    testZip(zip.zipPath)
    const out = path.join(dir, 'out')
    extractZip(zip.zipPath, out)
    expect(fs.readFileSync(path.join(out, 'python/streamed/__init__.py'), 'utf8')).toBe(
      'S = 1\n'.repeat(500)
    )
  })

  it('writes the tree for the import check only when asked', async () => {
    const dir = freshDir('extract')
    const wheels = writeWheels(dir, [WORLD[1]])
    const { files } = await assemble(
      wheels,
      { requested: [], scripts: false },
      path.join(dir, 'layer.zip')
    )
    expect(fs.existsSync(path.join(dir, 'python'))).toBe(false)
    await extractLayer(files, path.join(dir, 'python'))
    expect(fs.readFileSync(path.join(dir, 'python/nsroot/left/__init__.py'), 'utf8')).toBe(
      'LEFT = 1\n'
    )
  })
})

/** Names in the zip, sorted the way the writer must sort them: by their UTF-8 bytes. */
const byteOrder = (names: string[]) =>
  [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))

const PACKAGE = [
  fileInMemory('requests/__init__.py', 'from .api import get\n'.repeat(50)),
  fileInMemory('requests/api.py', 'def get(url):\n    return url\n'.repeat(100)),
  fileInMemory('requests-2.32.3.dist-info/METADATA', 'Name: requests\nVersion: 2.32.3\n'),
  fileInMemory('six.py', '# six\n'.repeat(200)),
  fileInMemory('bin/tool', '#!/bin/sh\necho hi\n', { mode: 0o755 }),
  fileInMemory('a-b.py', 'x = 1\n'),
  fileInMemory('a/b.py', 'y = 2\n'),
  fileInMemory('Z.py', 'z = 3\n')
]

describe('the layer zip', () => {
  it('puts every entry under python/, a folder entry above each file, in byte order of the path, with fixed attributes', async () => {
    const zipPath = path.join(freshDir('order'), 'layer.zip')

    await writeAssembledZip(PACKAGE, zipPath)

    const entries = listZip(zipPath)
    expect(entries.map(entry => entry.name)).toEqual(
      byteOrder([
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
        'python/six.py'
      ])
    )
    for (const entry of entries) {
      const folder = entry.name.endsWith('/')
      expect(entry.mode, entry.name).toBe(
        folder ? 0o40755 : entry.name === 'python/bin/tool' ? 0o100755 : 0o100644
      )
      // Unix as the host system, the MS-DOS directory bit on folders, no time from any clock
      expect(entry.createSystem).toBe(3)
      expect(entry.externalAttr & 0x10).toBe(folder ? 0x10 : 0)
      expect(entry.dateTime).toEqual([1980, 1, 1, 0, 0, 0])
      expect(entry.extra).toBe('')
    }
  })

  it('gives wheel entries only 0644 or 0755: no setuid, setgid, sticky, group or world write, and private files become readable', async () => {
    const dir = freshDir('modes')
    const modes: Record<string, number> = {
      'modes/private.py': 0o600,
      'modes/group.py': 0o640,
      'modes/owner-exec': 0o700,
      'modes/setuid-tool': 0o4755,
      'modes/setgid-tool': 0o2755,
      'modes/sticky.py': 0o1644,
      'modes/open.py': 0o666,
      'modes/everything': 0o7777
    }
    const wheelFile = path.join(dir, 'modes-1.0-py3-none-any.whl')
    fs.writeFileSync(
      wheelFile,
      writeZip([
        ...Object.entries(modes).map(([file, mode]) => ({
          path: file,
          data: Buffer.from('x = 1\n'),
          mode
        })),
        {
          path: 'modes-1.0.dist-info/METADATA',
          data: Buffer.from('Metadata-Version: 2.1\nName: modes\nVersion: 1.0\n\n'),
          mode: 0o644
        },
        { path: 'modes-1.0.dist-info/RECORD', data: Buffer.alloc(0), mode: 0o644 }
      ])
    )

    const { zip } = await assemble(
      [wheelFile],
      { requested: [], scripts: false },
      path.join(dir, 'layer.zip')
    )

    const listed = Object.fromEntries(
      listZip(zip.zipPath)
        .filter(entry => entry.name.startsWith('python/modes/'))
        .map(entry => [entry.name, entry.mode])
    )
    expect(listed).toEqual({
      'python/modes/': 0o40755,
      'python/modes/everything': 0o100755,
      'python/modes/group.py': 0o100644,
      'python/modes/open.py': 0o100644,
      'python/modes/owner-exec': 0o100755,
      'python/modes/private.py': 0o100644,
      'python/modes/setgid-tool': 0o100755,
      'python/modes/setuid-tool': 0o100755,
      'python/modes/sticky.py': 0o100644
    })
  })

  it('reports CodeSha256 as base64 of the SHA-256 of the zip bytes, plus size, file count and unzipped size', async () => {
    const zipPath = path.join(freshDir('digest'), 'layer.zip')

    const zip = await writeAssembledZip(PACKAGE, zipPath)

    const bytes = fs.readFileSync(zipPath)
    expect(zip).toEqual({
      zipPath,
      zipSize: bytes.length,
      codeSha256: createHash('sha256').update(bytes).digest('base64'),
      sha256Hex: createHash('sha256').update(bytes).digest('hex'),
      fileCount: PACKAGE.length,
      unzippedSize: PACKAGE.reduce((sum, file) => sum + file.size, 0)
    })
  })

  it('writes the same bytes whatever the order of the files and however far ahead it prepares', async () => {
    const dir = freshDir('order-free')
    const files = [
      ...PACKAGE,
      fileInMemory('pkg/blob.bin', randomBytes(40_000)),
      fileInMemory('pkg/text.txt', 'lorem ipsum '.repeat(30_000))
    ]

    const a = await writeAssembledZip(files, path.join(dir, 'a.zip'), { ahead: 1 })
    const b = await writeAssembledZip([...files].reverse(), path.join(dir, 'b.zip'))

    expect(b.codeSha256).toBe(a.codeSha256)
    expect(fs.readFileSync(b.zipPath).equals(fs.readFileSync(a.zipPath))).toBe(true)
  })

  it('stores incompressible, empty and one-byte files and what the action writes itself, and deflates the rest', async () => {
    const zipPath = path.join(freshDir('methods'), 'layer.zip')
    const record = { ...fileInMemory('pkg-1.0.dist-info/RECORD', 'pkg/text.py,,\n'.repeat(50)) }

    await writeAssembledZip(
      [
        fileInMemory('pkg/random.bin', randomBytes(64 * 1024)),
        fileInMemory('pkg/text.py', 'print("hello")\n'.repeat(1000)),
        fileInMemory('pkg/empty.py', ''),
        fileInMemory('pkg/one.txt', 'x'),
        { ...record, stored: true }
      ],
      zipPath
    )

    const byName = Object.fromEntries(listZip(zipPath).map(entry => [entry.name, entry]))
    expect(byName['python/pkg/random.bin']).toMatchObject({ method: 0, compressedSize: 64 * 1024 })
    expect(byName['python/pkg/text.py'].method).toBe(8)
    expect(byName['python/pkg/text.py'].compressedSize).toBeLessThan(15_000)
    expect(byName['python/pkg/empty.py']).toMatchObject({ method: 0, size: 0 })
    expect(byName['python/pkg/one.txt']).toMatchObject({ method: 0, size: 1 })
    expect(byName['python/pkg-1.0.dist-info/RECORD']).toMatchObject({
      method: 0,
      size: record.size
    })
    testZip(zipPath)
  })

  it('writes non-ASCII names as UTF-8 with the language-encoding flag, ASCII names without it', async () => {
    const zipPath = path.join(freshDir('utf8'), 'layer.zip')

    await writeAssembledZip(
      [
        fileInMemory('données/café.py', 'x = 1\n'),
        fileInMemory('日本語.txt', 'テキスト'),
        fileInMemory('plain.py', '')
      ],
      zipPath
    )

    const flagged = listZip(zipPath).filter(entry => entry.flagBits & 0x800)
    expect(flagged.map(entry => entry.name).sort()).toEqual([
      'python/données/',
      'python/données/café.py',
      'python/日本語.txt'
    ])
    testZip(zipPath)
    const extracted = freshDir('utf8-out')
    extractZip(zipPath, extracted)
    expect(fs.readFileSync(path.join(extracted, 'python', '日本語.txt'), 'utf8')).toBe('テキスト')
  })

  it('switches to ZIP64 past 65,535 entries and both readers still accept it', async () => {
    const files = Array.from({ length: 221 * 300 }, (_, i) =>
      fileInMemory(`l${Math.floor(i / 300)}/m${i % 300}.py`, '')
    )
    const zipPath = path.join(freshDir('zip64-layer'), 'layer.zip')

    const zip = await writeAssembledZip(files, zipPath)

    expect(zip.fileCount).toBe(221 * 300)
    expect(listZip(zipPath)).toHaveLength(221 * 301 + 1)
    const bytes = fs.readFileSync(zipPath)
    // ZIP64 end of central directory record and locator, then the classic end record.
    expect(bytes.readUInt32LE(bytes.length - 22 - 20 - 56)).toBe(0x06064b50)
    expect(bytes.readUInt32LE(bytes.length - 22 - 20)).toBe(0x07064b50)
    expect(bytes.readUInt16LE(bytes.length - 22 + 10)).toBe(0xffff)
    testZip(zipPath)
  })

  it('nests entries under a custom prefix with a folder entry for each level', async () => {
    const zipPath = path.join(freshDir('prefix'), 'layer.zip')

    await writeAssembledZip([fileInMemory('mod.py', 'x = 1\n')], zipPath, {
      prefix: 'python/lib/python3.12/site-packages'
    })

    expect(listZip(zipPath).map(entry => entry.name)).toEqual([
      'python/',
      'python/lib/',
      'python/lib/python3.12/',
      'python/lib/python3.12/site-packages/',
      'python/lib/python3.12/site-packages/mod.py'
    ])
  })

  it('leaves no zip behind when a file cannot be read', async () => {
    const dir = freshDir('half-written')
    const zipPath = path.join(dir, 'out', 'layer.zip')
    const missing = path.join(dir, 'gone.so')
    const vanished: LayerFile = {
      path: 'pkg/gone.so',
      mode: 0o755,
      size: 10,
      owner: 'files',
      source: { kind: 'file', file: missing }
    }

    await expect(
      writeAssembledZip([fileInMemory('a.py', 'x = 1\n'), vanished], zipPath)
    ).rejects.toThrow(/gone\.so/)
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
    const workspace = freshDir('workspace')
    fs.writeFileSync(path.join(workspace, 'libpq.so.5'), 'elf')
    fs.writeFileSync(path.join(workspace, 'tool.sh'), '#!/bin/sh\n')
    const zipPath = path.join(freshDir('extra'), 'layer.zip')
    const packageFiles = [fileInMemory('pkg/__init__.py', 'x = 1\n')]

    await writeAssembledZip(packageFiles, zipPath, {
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
      writeAssembledZip(packageFiles, zipPath, {
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
