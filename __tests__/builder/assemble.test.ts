import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
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
import { lambdaShebang, layoutWheel, readWheelDistribution } from '../../src/builder/layout.js'
import { readWheel } from '../../src/builder/wheels.js'
import { isolatedPipEnv } from '../support/pip-env.js'
import { extractZip, listZip, testZip } from '../support/unzip.js'
import { buildWheel, type WheelSpec } from '../support/wheels.js'

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
