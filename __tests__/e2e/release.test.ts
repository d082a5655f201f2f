// Releasing with a safety net, on the bundled action against the emulator: an alias moves only
// after the new layer passed a smoke test that really imports it (the handler runs in CPython
// with the function's layers on its path); a failed one puts the previous layers back.
import {
  CreateAliasCommand,
  LambdaClient,
  PublishLayerVersionCommand,
  PublishVersionCommand
} from '@aws-sdk/client-lambda'
import { mkdtemp, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startLambdaEmulator, type Emulator } from '../../emulator/lambda-api.js'
import { failure, runAction, type ActionRun } from '../support/action.js'
import { catalog } from '../support/catalog.js'
import { startIndex, type PackageIndex } from '../support/index-server.js'
import { writeZip } from '../support/wheels.js'

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
  emulator = await startLambdaEmulator({ updateDurationMs: 200 })
  layerName = `deps-${++counter}`
})

function lambda(): LambdaClient {
  return new LambdaClient({
    region: 'us-east-1',
    endpoint: emulator.endpoint,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }
  })
}

async function deploy(requirements: string, inputs: Record<string, string>): Promise<ActionRun> {
  const project = await mkdtemp(path.join(os.tmpdir(), 'project-'))
  await writeFile(path.join(project, 'requirements.txt'), requirements)
  return runAction(
    { 'index-url': index.url, runtime: 'python3.12', 'layer-name': layerName, ...inputs },
    {
      cwd: project,
      env: {
        AWS_ACCESS_KEY_ID: 'AKIDTEST',
        AWS_SECRET_ACCESS_KEY: 'secret',
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_LAMBDA: emulator.endpoint,
        AWS_ENDPOINT_URL_S3: emulator.endpoint
      }
    }
  )
}

/** A layer version published outside the action, holding `files` under python/. */
async function layerWith(name: string, files: Record<string, string>): Promise<string> {
  const zip = writeZip(
    Object.entries(files).map(([file, text]) => ({
      path: `python/${file}`,
      data: Buffer.from(text),
      mode: 0o644
    }))
  )
  const out = await lambda().send(
    new PublishLayerVersionCommand({
      LayerName: name,
      Content: { ZipFile: zip },
      CompatibleRuntimes: ['python3.12'],
      CompatibleArchitectures: ['x86_64']
    })
  )
  return out.LayerVersionArn!
}

// The function's own code needs `greeter` from the layer, at import time as most code does.
const ORDERS_CODE = {
  'app.py':
    'import greeter\n\n\ndef handler(event, context):\n    return {"body": greeter.greet(event["name"])}\n'
}
const GREETER_FILES = {
  'greeter/__init__.py':
    "from tinyjson import dumps\n\n\ndef greet(name):\n    return dumps({'hello': name})\n",
  'tinyjson/__init__.py': "__version__ = '1.0.0'\n\nfrom json import dumps, loads\n"
}

/** orders-api on [team-a, this layer v1], version 1 published and `live` pointing at it. */
async function liveOrdersApi(): Promise<{ layers: string[] }> {
  const teamLayer = await layerWith('team-a', { 'team_a.py': 'X = 1\n' })
  const ours = await layerWith(layerName, GREETER_FILES)
  const layers = [teamLayer, ours]
  emulator.createFunction({ name: 'orders-api', runtime: 'python3.12', layers, code: ORDERS_CODE })
  await lambda().send(new PublishVersionCommand({ FunctionName: 'orders-api' }))
  await lambda().send(
    new CreateAliasCommand({ FunctionName: 'orders-api', Name: 'live', FunctionVersion: '1' })
  )
  return { layers }
}

const arnOf = (name: string, version: number) =>
  `arn:aws:lambda:us-east-1:123456789012:layer:${name}:${version}`

describe('an alias moved only after a smoke test', () => {
  it('publishes a version with the new layer, smoke-tests it and moves the alias to it', async () => {
    const { layers } = await liveOrdersApi()
    const run = await deploy('greeter==1.0.0\n', {
      functions: 'orders-api:live',
      'smoke-test-payload': '{"name": "ci"}'
    })
    expect(run.exitCode, run.stdout).toBe(0)
    const fn = emulator.getFunction('orders-api')!
    const planned = [layers[0], arnOf(layerName, 2)]
    expect(fn.layers).toEqual(planned)
    expect(fn.versions.get(2)?.layers).toEqual(planned)
    expect(fn.aliases.get('live')?.functionVersion).toBe('2')
    // the smoke test ran version 2, not $LATEST
    expect(run.summary).toMatch(/\| 2 \| live: 1 → 2 \| passed on 2 \(\d+\.\d\d s\) \|/)
    expect(run.summary).toContain(`\`${arnOf(layerName, 1)}\`<br>→<br>`)
    expect(JSON.parse(run.outputs.functions)['orders-api:live']).toEqual({
      before: layers,
      after: planned,
      status: 'updated',
      version: '2',
      alias: { name: 'live', from: '1', to: '2', moved: true },
      smoke: { passed: true, qualifier: '2', durationMs: expect.any(Number) }
    })
  })

  it('puts the previous layers back and leaves the alias when the new layer fails to import', async () => {
    const { layers } = await liveOrdersApi()
    const aliasBefore = { ...emulator.getFunction('orders-api')!.aliases.get('live')! }
    // the new layer drops greeter, which the function imports
    const run = await deploy('tinyjson==1.1.0\n', {
      functions: 'orders-api:live',
      'smoke-test-payload': '{"name": "ci"}'
    })
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toContain(
      "orders-api:live (us-east-1): smoke test failed: Runtime.ImportModuleError: Unable to import module 'app': No module named 'greeter'"
    )
    const fn = emulator.getFunction('orders-api')!
    expect(fn.layers).toEqual(layers)
    expect(fn.lastUpdateStatus).toBe('Successful')
    expect(fn.aliases.get('live')).toEqual(aliasBefore)
    expect(run.summary).toContain('previous layers restored')
    expect(run.summary).toContain('live: not moved')
  })

  it('ends with the layers exactly as before when the rollback’s response is lost', async () => {
    const { layers } = await liveOrdersApi()
    const aliasBefore = { ...emulator.getFunction('orders-api')!.aliases.get('live')! }
    // the first update (the new layer) goes through; the second (the rollback) is applied
    // but its response never arrives, so the SDK resends with a RevisionId now stale
    emulator.inject({
      operation: 'UpdateFunctionConfiguration',
      kind: 'drop-response',
      function: 'orders-api',
      after: 1
    })
    const run = await deploy('tinyjson==1.1.0\n', {
      functions: 'orders-api:live',
      'smoke-test-payload': '{"name": "ci"}'
    })
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toMatch(/smoke test failed: Runtime\.ImportModuleError/)
    expect(failure(run)).toContain('Its previous layers are back')
    const updates = emulator.calls.filter(c => c.operation === 'UpdateFunctionConfiguration')
    expect(updates.map(c => c.status)).toContain(0)
    const fn = emulator.getFunction('orders-api')!
    expect(fn.layers).toEqual(layers)
    expect(fn.aliases.get('live')).toEqual(aliasBefore)
  })

  it('smoke-tests $LATEST when no alias is named, and restores it on a handler error', async () => {
    const ours = await layerWith(layerName, GREETER_FILES)
    emulator.createFunction({
      name: 'billing',
      runtime: 'python3.12',
      layers: [ours],
      code: ORDERS_CODE
    })
    // the event lacks "name": the handler raises KeyError
    const run = await deploy('greeter==1.0.0\n', {
      functions: 'billing',
      'smoke-test-payload': '{}'
    })
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toContain("billing (us-east-1): smoke test failed: KeyError: 'name'")
    expect(emulator.getFunction('billing')!.layers).toEqual([ours])
    expect(emulator.getFunction('billing')!.versions.size).toBe(0)
  })
})

describe('functions: * (every function using this layer)', () => {
  it('updates the users that fit, lists and leaves alone those that do not, ignores the rest', async () => {
    const old = await layerWith(layerName, GREETER_FILES)
    emulator.createFunction({ name: 'api', runtime: 'python3.12', layers: [old] })
    emulator.createFunction({ name: 'legacy', runtime: 'python3.11', layers: [old] })
    emulator.createFunction({
      name: 'graviton',
      runtime: 'python3.12',
      architecture: 'arm64',
      layers: [old]
    })
    // enough others that ListFunctions answers in more than one page
    for (let i = 0; i < 55; i++) {
      emulator.createFunction({ name: `other-${i}`, runtime: 'python3.12' })
    }
    const run = await deploy('tinyjson==1.1.0\n', { functions: '*' })
    expect(run.exitCode, run.stdout).toBe(0)
    expect(emulator.getFunction('api')!.layers).toEqual([arnOf(layerName, 2)])
    expect(emulator.getFunction('legacy')!.layers).toEqual([old])
    expect(emulator.getFunction('graviton')!.layers).toEqual([old])
    expect(emulator.getFunction('other-0')!.layers).toEqual([])
    const listed = emulator.calls.filter(c => c.operation === 'ListFunctions')
    expect(listed.length).toBeGreaterThanOrEqual(2)
    expect(run.summary).toMatch(/\| api \(found\) \| us-east-1 \| updated \|/)
    expect(run.summary).toMatch(
      /\| legacy \(found\) \| us-east-1 \| left alone: legacy runs python3\.11 on x86_64/
    )
    expect(run.summary).toMatch(
      /\| graviton \(found\) \| us-east-1 \| left alone: graviton runs python3\.12 on arm64/
    )
    expect(run.summary).not.toContain('other-0')
    const functions = JSON.parse(run.outputs.functions)
    expect(functions.legacy).toMatchObject({
      status: 'skipped',
      discovered: true,
      reason: expect.stringMatching(/^legacy runs python3\.11 on x86_64/)
    })
    expect(functions.api).toMatchObject({ status: 'updated', discovered: true })
  })
})
