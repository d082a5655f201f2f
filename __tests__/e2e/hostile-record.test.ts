// The bundled action against wheels whose RECORD names files outside the layer folder: the
// files stay as they were, the zip's RECORD does not name them, and the log says which lines
// were ignored. publish: false: this is about the build on the runner.
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runAction } from '../support/action.js'
import {
  debugSharedObject,
  harmedCanaries,
  plantCanaries,
  type Canaries
} from '../support/canaries.js'
import { startIndex, type PackageIndex } from '../support/index-server.js'
import { buildWheel } from '../support/wheels.js'

let index: PackageIndex
let canaries: Canaries
let trapLines: string[]

/** `from` then enough `..` to reach / from any site folder, then the absolute path. */
function climbing(from: string, file: string): string {
  return `${from}${'../'.repeat(40)}${file.slice(1)}`
}

beforeAll(async () => {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'hostile-record-'))
  canaries = plantCanaries(path.join(scratch, 'outside'))
  const { knownHosts, source, sharedObject } = canaries.files
  trapLines = [
    climbing('recordtrap/', knownHosts),
    climbing('recordtrap/', source),
    climbing('recordtrap/', sharedObject),
    climbing('../../', sharedObject),
    knownHosts
  ]
  const native = await readFile(debugSharedObject(scratch, 'native'))
  const recordtrap = buildWheel({
    name: 'recordtrap',
    version: '1.0.0',
    tag: 'py3-none-manylinux_2_17_x86_64',
    files: { 'recordtrap/__init__.py': 'ANSWER = 42\n', 'recordtrap/_native.so': native },
    // a wrong size makes the RECORD rewrite read and hash the file it names
    extraRecordLines: trapLines.map(line => `${line},sha256=AAAA,1`)
  })
  const dropme = buildWheel({
    name: 'dropme',
    version: '1.0.0',
    files: { 'dropme/__init__.py': '' },
    extraRecordLines: Object.values(canaries.files).map(file => climbing('dropme/', file) + ',,')
  })
  index = await startIndex([recordtrap, dropme])
})
afterAll(async () => {
  await index?.close()
})

describe('a wheel whose RECORD names files outside the layer', () => {
  it('cannot make the build remove, strip or publish them', async () => {
    const project = await mkdtemp(path.join(os.tmpdir(), 'project-'))
    await writeFile(path.join(project, 'requirements.txt'), 'recordtrap\ndropme\n')

    const run = await runAction(
      {
        publish: 'false',
        'index-url': index.url,
        runtime: 'python3.12',
        exclude: 'dropme',
        slim: 'true',
        strip: 'true',
        'import-check': 'false'
      },
      { cwd: project }
    )

    expect(run.exitCode, run.stdout).toBe(0)
    expect(harmedCanaries(canaries)).toEqual([])
    const record = execFileSync(
      'unzip',
      ['-p', run.outputs['zip-path'], 'python/recordtrap-1.0.0.dist-info/RECORD'],
      { encoding: 'utf8' }
    )
    expect(record).toMatch(/^recordtrap\/_native\.so,sha256=/m)
    expect(record).not.toContain(canaries.dir)
    expect(record).not.toContain('../../../')
    for (const line of trapLines) {
      expect(run.warnings).toContain(
        `recordtrap 1.0.0: RECORD names ${line}, outside the layer; ignored`
      )
    }
    expect(run.stdout).toContain('strip: 1 shared objects')
  })
})
