import { execFileSync } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { layerFileContent } from '../../src/builder/assemble.js'
import type { LayerFile } from '../../src/builder/layout.js'
import { isStrippable, stripLayerFiles, stripTool } from '../../src/builder/strip.js'
import type { LayerPackage } from '../../src/builder/site.js'
import { writeAssembledZip } from '../../src/builder/assemble.js'
import { layoutWheel, readWheelDistribution } from '../../src/builder/layout.js'
import { readWheel } from '../../src/builder/wheels.js'
import { extractZip } from '../support/unzip.js'
import { buildWheel } from '../support/wheels.js'

const SOURCE =
  'int answer(void) { return 42; }\nstatic int unused_helper(int x) { return x * 2; }\nint twice(int x) { return unused_helper(x); }\n'

/** A site dir holding a debug-built shared object in a package and a copy in its `.libs`. */
function layerWithDebugObject(compiler: string): { siteDir: string; pkg: LayerPackage } {
  const siteDir = mkdtempSync(path.join(os.tmpdir(), 'strip-'))
  mkdirSync(path.join(siteDir, 'pkg'))
  mkdirSync(path.join(siteDir, 'pkg.libs'))
  writeFileSync(path.join(siteDir, 'ext.c'), SOURCE)
  execFileSync(compiler, [
    '-g',
    '-shared',
    '-fPIC',
    '-o',
    path.join(siteDir, 'pkg/_ext.so'),
    path.join(siteDir, 'ext.c')
  ])
  copyFileSync(path.join(siteDir, 'pkg/_ext.so'), path.join(siteDir, 'pkg.libs/libbundled.so.1'))
  const files = ['pkg/_ext.so', 'pkg.libs/libbundled.so.1']
  const bytes = files.reduce((sum, file) => sum + statSync(path.join(siteDir, file)).size, 0)
  return { siteDir, pkg: { name: 'pkg', version: '1.0', requested: true, files, bytes } }
}

/** A file of the layer read from disk when the strip reaches it. */
function fileOnDisk(siteDir: string, file: string): LayerFile {
  const source = path.join(siteDir, file)
  return {
    path: file,
    mode: 0o755,
    size: statSync(source).size,
    owner: 'pkg',
    source: { kind: 'file', file: source }
  }
}

function sectionNames(file: string, readelf = 'readelf'): string {
  return execFileSync(readelf, ['-S', '-W', file], { encoding: 'utf8' })
}

describe('strip', () => {
  it.each([
    ['x86_64', 'gcc'],
    ['arm64', 'aarch64-linux-gnu-gcc']
  ] as const)(
    'removes debug info from %s shared objects and leaves *.libs alone',
    async (architecture, compiler) => {
      const { siteDir, pkg } = layerWithDebugObject(compiler)
      const files = pkg.files.map(file => fileOnDisk(siteDir, file))
      const bundled = readFileSync(path.join(siteDir, 'pkg.libs/libbundled.so.1'))
      expect(sectionNames(path.join(siteDir, 'pkg/_ext.so'))).toContain('.debug_info')
      const scratch = path.join(siteDir, 'scratch')

      const result = await stripLayerFiles(files, architecture, scratch)

      expect(result.warning).toBeUndefined()
      expect(result.stripped).toBe(1)
      const [stripped, keptBundled] = result.files
      const strippedFile = path.join(siteDir, 'stripped.so')
      writeFileSync(strippedFile, await layerFileContent(stripped))
      expect(sectionNames(strippedFile)).not.toContain('.debug_info')
      expect(stripped).toMatchObject({ path: 'pkg/_ext.so', size: statSync(strippedFile).size })
      expect(keptBundled).toBe(files[1])
      expect(result.savedBytes).toBe(pkg.bytes - stripped.size - bundled.length)
      expect(existsSync(scratch)).toBe(false)
    }
  )

  it('uses the target machine binutils on a foreign host', () => {
    expect(stripTool('arm64', 'x86_64')).toBe('aarch64-linux-gnu-strip')
    expect(stripTool('x86_64', 'x86_64')).toBe('strip')
    expect(stripTool('x86_64', 'aarch64')).toBe('x86_64-linux-gnu-strip')
  })

  it('only touches shared objects outside bundled-library folders', () => {
    expect(isStrippable('numpy/_core/_multiarray_umath.cpython-312-x86_64-linux-gnu.so')).toBe(true)
    expect(isStrippable('pkg/libfoo.so.1.2')).toBe(true)
    expect(isStrippable('numpy.libs/libopenblas64_p-r0-0cf96a72.3.23.dev.so')).toBe(false)
    expect(isStrippable('pkg/module.py')).toBe(false)
  })
})

describe('stripLayerFiles on a shared object too big to hold in memory', () => {
  it('gives the layer the same stripped bytes, read from disk, as for a small object', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'strip-big-'))
    writeFileSync(path.join(dir, 'ext.c'), SOURCE)
    const object = path.join(dir, '_ext.so')
    execFileSync('gcc', ['-g', '-shared', '-fPIC', '-o', object, path.join(dir, 'ext.c')])
    const wheelFile = path.join(dir, 'pkg-1.0-py3-none-any.whl')
    const built = buildWheel({
      name: 'pkg',
      version: '1.0',
      files: { 'pkg/_ext.so': readFileSync(object) }
    })
    writeFileSync(wheelFile, built.bytes)
    const wheel = readWheel(wheelFile)
    const files = await layoutWheel(wheel, await readWheelDistribution(wheel), {
      pipRequested: true,
      scripts: false
    })
    const layer = async (label: string, inMemoryLimit?: number) => {
      const scratch = path.join(dir, `strip-${label}`)
      const result = await stripLayerFiles(files, 'x86_64', scratch, inMemoryLimit)
      expect(result.warning).toBeUndefined()
      expect(result.stripped).toBe(1)
      return writeAssembledZip(result.files, path.join(dir, `${label}.zip`))
    }
    const small = await layer('small')
    // a limit of one byte: the stripped object is big, so it stays in the scratch folder
    const big = await layer('big', 1)
    expect(big.codeSha256).toBe(small.codeSha256)
    expect(existsSync(path.join(dir, 'strip-small'))).toBe(false)
    extractZip(big.zipPath, path.join(dir, 'out'))
    const stripped = path.join(dir, 'out/python/pkg/_ext.so')
    expect(sectionNames(stripped)).not.toContain('.debug_info')
    expect(statSync(stripped).size).toBeLessThan(statSync(object).size)
    rmSync(dir, { recursive: true, force: true })
  })
})
