// The layer's bytes, and so its CodeSha256, depend on the wheels and the action's own rules,
// not on the Node that runs it: the same build on Node 22 and on Node 24 gives the same zip,
// also where the action compresses anew (a wheel's stored entry that deflate shrinks, a
// stripped shared object, a file of the `files` input). publish: false throughout.
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NODE22, NODE24, runAction } from '../support/action.js'
import { debugSharedObject } from '../support/canaries.js'
import { startIndex, type PackageIndex } from '../support/index-server.js'
import { listZip, testZip } from '../support/unzip.js'
import { buildWheel } from '../support/wheels.js'

let index: PackageIndex

/** Text that deflates well: a wheel writer that stores big entries leaves this to the action. */
function bigText(lines: number): string {
  return Array.from({ length: lines }, (_, i) => `ROW_${i} = ${(i * 7919) % 100_003}\n`).join('')
}

beforeAll(async () => {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'node-versions-'))
  const native = await readFile(debugSharedObject(scratch, 'native'))
  const tables = buildWheel({
    name: 'bigtables',
    version: '1.0.0',
    tag: 'py3-none-manylinux_2_17_x86_64',
    files: {
      'bigtables/__init__.py': 'from bigtables import data\n',
      // over 4 MiB: the test world's wheel writer stores it, as some real wheels do
      'bigtables/data.py': bigText(260_000),
      'bigtables/_native.so': native
    }
  })
  index = await startIndex([tables])
})
afterAll(async () => {
  await index?.close()
})

describe('the same layer whatever Node runs the action', () => {
  it('gives the same CodeSha256 on Node 22 and Node 24, with entries the action deflated itself', async () => {
    const build = async (node: string) => {
      const project = await mkdtemp(path.join(os.tmpdir(), 'project-'))
      await writeFile(path.join(project, 'requirements.txt'), 'bigtables\n')
      await mkdir(path.join(project, 'config'))
      await writeFile(path.join(project, 'config', 'settings.py'), bigText(5_000))
      return runAction(
        {
          publish: 'false',
          'index-url': index.url,
          runtime: 'python3.12',
          strip: 'true',
          files: 'config/settings.py -> python/',
          'import-check': 'false'
        },
        { cwd: project, node }
      )
    }
    const [on22, on24] = [await build(NODE22), await build(NODE24)]
    expect(execFileSync(NODE22, ['--version'], { encoding: 'utf8' })).toMatch(/^v22\./)
    expect(on22.exitCode, on22.stdout).toBe(0)
    expect(on24.exitCode, on24.stdout).toBe(0)
    expect(on24.stdout).toContain('strip: 1 shared objects')

    // each of these went through the action's own deflate, not copied from the wheel
    const zipPath = on24.outputs['zip-path']
    testZip(zipPath)
    const method = new Map(listZip(zipPath).map(entry => [entry.name, entry.method]))
    expect(method.get('python/bigtables/data.py')).toBe(8)
    expect(method.get('python/bigtables/_native.so')).toBe(8)
    expect(method.get('python/settings.py')).toBe(8)

    expect(on22.outputs['code-sha256']).toBe(on24.outputs['code-sha256'])
  })
})
