// layer-zip on the bundled action: a zip built in another job is checked (layout, entry names,
// shared objects, sizes) before any AWS call and published without building or running
// anything; a bad one is refused naming what is wrong.
import { copyFile, mkdtemp, mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startLambdaEmulator, type Emulator } from '../../emulator/lambda-api.js'
import { failure, runAction, type ActionRun } from '../support/action.js'
import { catalog } from '../support/catalog.js'
import { makeSharedObject } from '../support/elf.js'
import { startIndex, type PackageIndex } from '../support/index-server.js'
import { storedZip, type StoredEntry } from '../support/stored-zip.js'

let index: PackageIndex
let emulator: Emulator
let layerName: string
let counter = 0

beforeAll(async () => {
  index = await startIndex(catalog())
})
afterAll(async () => {
  await index?.close()
})
beforeEach(async () => {
  await emulator?.close()
  emulator = await startLambdaEmulator()
  layerName = `prebuilt-${++counter}`
})

const awsEnv = () => ({
  AWS_ACCESS_KEY_ID: 'AKIDTEST',
  AWS_SECRET_ACCESS_KEY: 'secret',
  AWS_REGION: 'us-east-1',
  AWS_ENDPOINT_URL_LAMBDA: emulator.endpoint,
  AWS_ENDPOINT_URL_S3: emulator.endpoint
})

/** The publishing job: a workspace holding only the downloaded zip, and a python that is not there. */
async function publishZip(
  zip: Buffer | string,
  inputs: Record<string, string> = {}
): Promise<ActionRun> {
  const workspace = await mkdtemp(path.join(os.tmpdir(), 'publish-job-'))
  await mkdir(path.join(workspace, 'artifact'))
  const zipPath = path.join(workspace, 'artifact', 'layer.zip')
  if (typeof zip === 'string') await copyFile(zip, zipPath)
  else await writeFile(zipPath, zip)
  return runAction(
    {
      'layer-zip': 'artifact/layer.zip',
      runtime: 'python3.12',
      'layer-name': layerName,
      // nothing may run: an interpreter that does not exist proves it
      python: '/nonexistent/python3',
      ...inputs
    },
    { cwd: workspace, env: awsEnv() }
  )
}

function metadata(name: string, version: string, files = [`${name}/__init__.py`]): StoredEntry[] {
  const info = `python/${name}-${version}.dist-info`
  return [
    { name: `${info}/METADATA`, data: Buffer.from(`Name: ${name}\nVersion: ${version}\n`) },
    { name: `${info}/RECORD`, data: Buffer.from(files.map(file => `${file},,\n`).join('')) }
  ]
}

describe('layer-zip: a zip built elsewhere', () => {
  it('publishes the zip an earlier build job made, byte for byte, running nothing', async () => {
    const buildJob = await mkdtemp(path.join(os.tmpdir(), 'build-job-'))
    await writeFile(path.join(buildJob, 'requirements.txt'), 'tinyjson==1.0.0\nfastmath==2.1.0\n')
    const built = await runAction(
      { 'index-url': index.url, runtime: 'python3.12', publish: 'false' },
      { cwd: buildJob, env: {} }
    )
    expect(built.exitCode, built.stdout).toBe(0)

    const result = await publishZip(built.outputs['zip-path'])
    expect(result.exitCode, result.stdout).toBe(0)
    expect(result.outputs['code-sha256']).toBe(built.outputs['code-sha256'])
    expect(result.outputs.published).toBe('true')
    const [version] = emulator.layerVersions(layerName)
    expect(version.codeSha256).toBe(built.outputs['code-sha256'])
    expect(
      JSON.parse(result.outputs.packages)
        .map((p: { name: string }) => p.name)
        .sort()
    ).toEqual(['fastmath', 'tinyjson'])
    expect(result.summary).toContain('**Verification:** passed')
    expect(result.summary).toContain('not run: a layer zip built elsewhere')
  })

  it('refuses an entry that climbs out with .., before any AWS call', async () => {
    const result = await publishZip(
      storedZip([
        { name: 'python/tinyjson/__init__.py', data: Buffer.from('') },
        ...metadata('tinyjson', '1.0.0'),
        { name: 'python/../../etc/cron.d/evil', data: Buffer.from('* * * * * root sh\n') }
      ])
    )
    expect(result.exitCode).not.toBe(0)
    expect(failure(result)).toContain('layer-zip:')
    expect(failure(result)).toContain(
      '"python/../../etc/cron.d/evil" climbs out of the layer with ..'
    )
    expect(emulator.calls).toEqual([])
  })

  it('refuses a shared object for the wrong architecture, naming the file', async () => {
    const result = await publishZip(
      storedZip([
        { name: 'python/fastmath/__init__.py', data: Buffer.from('') },
        {
          name: 'python/fastmath/_core.abi3.so',
          data: makeSharedObject({ machine: 'aarch64', glibc: ['GLIBC_2.17'] })
        },
        ...metadata('fastmath', '2.1.0', ['fastmath/__init__.py', 'fastmath/_core.abi3.so'])
      ])
    )
    expect(result.exitCode).not.toBe(0)
    expect(failure(result)).toMatch(
      /fastmath 2\.1\.0: fastmath\/_core\.abi3\.so is built for aarch64; the layer targets x86_64/
    )
    expect(emulator.calls).toEqual([])
  })

  it('refuses a zip without the python/ layout', async () => {
    const result = await publishZip(
      storedZip([
        { name: 'tinyjson/__init__.py', data: Buffer.from('') },
        { name: 'tinyjson-1.0.0.dist-info/METADATA', data: Buffer.from('Name: tinyjson\n') }
      ])
    )
    expect(result.exitCode).not.toBe(0)
    expect(failure(result)).toContain('nothing is under python/')
    expect(emulator.calls).toEqual([])
  })

  it('refuses a symbolic link and an absolute path, listing both', async () => {
    const result = await publishZip(
      storedZip([
        { name: 'python/tinyjson/__init__.py', data: Buffer.from('') },
        ...metadata('tinyjson', '1.0.0'),
        { name: 'python/tinyjson/secrets', data: Buffer.from('/etc/shadow'), mode: 0o120777 },
        { name: '/opt/python/x.py', data: Buffer.from('') }
      ])
    )
    expect(result.exitCode).not.toBe(0)
    expect(failure(result)).toContain('"python/tinyjson/secrets" is a symbolic link')
    expect(failure(result)).toContain('"/opt/python/x.py" is an absolute or Windows path')
    expect(emulator.calls).toEqual([])
  })
})
