import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { LayerFile } from '../../src/builder/layout.js'
import { isStrippable, stripLayerFiles, stripTool } from '../../src/builder/strip.js'
import { bytesOf, fileInMemory } from '../support/layer-files.js'

const SOURCE =
  'int answer(void) { return 42; }\nstatic int unused_helper(int x) { return x * 2; }\nint twice(int x) { return unused_helper(x); }\n'

/** A debug-built shared object in a package, a copy in its `.libs`, and a module. */
function layerWithDebugObject(compiler: string): LayerFile[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'strip-'))
  writeFileSync(path.join(dir, 'ext.c'), SOURCE)
  execFileSync(compiler, [
    '-g',
    '-shared',
    '-fPIC',
    '-o',
    path.join(dir, '_ext.so'),
    path.join(dir, 'ext.c')
  ])
  const object = readFileSync(path.join(dir, '_ext.so'))
  return [
    fileInMemory('pkg/__init__.py', 'from ._ext import *\n', { owner: 'pkg' }),
    fileInMemory('pkg/_ext.so', object, { owner: 'pkg' }),
    fileInMemory('pkg.libs/libbundled.so.1', object, { owner: 'pkg' })
  ]
}

function sectionNames(data: Buffer, readelf = 'readelf'): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'sections-')), 'object.so')
  writeFileSync(file, data)
  return execFileSync(readelf, ['-S', '-W', file], { encoding: 'utf8' })
}

describe('strip', () => {
  it.each([
    ['x86_64', 'gcc'],
    ['arm64', 'aarch64-linux-gnu-gcc']
  ] as const)(
    'removes debug info from %s shared objects and leaves *.libs alone',
    async (architecture, compiler) => {
      const files = layerWithDebugObject(compiler)
      const [module, object, bundled] = files
      expect(sectionNames(bytesOf(object))).toContain('.debug_info')
      const scratch = path.join(mkdtempSync(path.join(os.tmpdir(), 'strip-scratch-')), 'strip')

      const result = await stripLayerFiles(files, architecture, scratch)

      expect(result.warning).toBeUndefined()
      expect(result.stripped).toBe(1)
      const [keptModule, stripped, keptBundled] = result.files
      expect(sectionNames(bytesOf(stripped))).not.toContain('.debug_info')
      expect(stripped).toMatchObject({ path: 'pkg/_ext.so', size: bytesOf(stripped).length })
      expect(keptModule).toBe(module)
      expect(keptBundled).toBe(bundled)
      expect(result.savedBytes).toBe(object.size - stripped.size)
      expect(result.savedBytes).toBeGreaterThan(0)
      // the scratch folder the objects were stripped in is gone
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
