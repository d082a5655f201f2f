// publish: plan on the bundled action: build, verify, then compare with the newest published
// version of the lineage (read over HTTP range requests from the emulator's Content.Location),
// with no write call; and the same comparison in the summary of a real publish.
import { mkdtemp, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startLambdaEmulator, type Emulator } from '../../emulator/lambda-api.js'
import { runAction, type ActionRun } from '../support/action.js'
import { catalog } from '../support/catalog.js'
import { startIndex, type PackageIndex } from '../support/index-server.js'

const ACCOUNT = '123456789012'
/** Every call a plan may make: the three IAM actions it documents, and the zip's URL. */
const READ_ONLY = [
  'ListLayerVersions',
  'GetLayerVersion',
  'GetFunctionConfiguration',
  'DownloadLayerContent'
]
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
  layerName = `plan-${++counter}`
})

async function run(
  requirements: string,
  inputs: Record<string, string> = {},
  env: Record<string, string | undefined> = {}
): Promise<ActionRun> {
  const project = await mkdtemp(path.join(os.tmpdir(), 'plan-project-'))
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
        AWS_ENDPOINT_URL_S3: emulator.endpoint,
        ...env
      }
    }
  )
}

const plan = (requirements: string, inputs: Record<string, string> = {}) =>
  run(requirements, { publish: 'plan', ...inputs })

interface RegionJson {
  region: string
  previous: { version: number; layerVersionArn: string } | null
  added?: Array<{ name: string; version: string }>
  removed?: Array<{ name: string; version: string }>
  upgraded?: Array<{ name: string; from: string; to: string; bytesDelta: number }>
  downgraded?: Array<{ name: string; from: string; to: string }>
  native?: Array<{ name: string; tagsBefore: string[]; tagsAfter: string[] }>
  functions: Array<{ function: string; layerVersionArn?: string }>
  bytesRead: number
}

function changesOf(result: ActionRun): {
  mode: string
  unavailable?: string
  regions: RegionJson[]
  markdown: string
} {
  expect(result.outputs.changes, result.stdout).toBeDefined()
  return JSON.parse(result.outputs.changes)
}

/** What the emulator holds that a write call would change. */
function snapshot(functions: string[] = []) {
  return JSON.stringify({
    versions: emulator.layerVersions(layerName).map(v => [v.version, v.codeSha256, v.policy]),
    functions: functions.map(name => {
      const fn = emulator.getFunction(name)
      return [fn?.layers, fn?.revisionId]
    }),
    objects: [...emulator.s3Objects().keys()]
  })
}

/** Two runs of the action (publish, then plan) on a shared, busy machine. */
const TWO_RUNS = 300_000

const arnOf = (version: number) =>
  `arn:aws:lambda:us-east-1:${ACCOUNT}:layer:${layerName}:${version}`

describe('publish: plan', () => {
  it('on a first layer builds, verifies and says there is nothing to compare with', async () => {
    const result = await plan('tinyjson==1.0.0\n')
    expect(result.exitCode, result.stdout).toBe(0)
    const changes = changesOf(result)
    expect(changes.mode).toBe('plan')
    expect(changes.regions).toMatchObject([{ region: 'us-east-1', previous: null }])
    expect(result.summary).toContain('nothing to compare with')
    expect(result.summary).toContain('Nothing was published')
    expect(result.outputs['zip-path']).toMatch(/\.zip$/)
    expect(emulator.layerVersions(layerName)).toEqual([])
    expect(result.outputs['layer-version-arn']).toBeUndefined()
  })

  it(
    'on an upgrade names old and new versions, the native code that moved, and what functions use, with no write call',
    async () => {
      const first = await run('tinyjson==1.0.0\nfastmath==2.0.0\n')
      expect(first.exitCode, first.stdout).toBe(0)
      emulator.createFunction({ name: 'orders', runtime: 'python3.12', layers: [arnOf(1)] })
      const before = snapshot(['orders'])
      const callsBefore = emulator.calls.length
      // the role a plan needs: everything else denied
      for (const action of [
        'lambda:PublishLayerVersion',
        'lambda:UpdateFunctionConfiguration',
        'lambda:AddLayerVersionPermission',
        'lambda:DeleteLayerVersion',
        's3:PutObject'
      ]) {
        emulator.deny(action)
      }

      const result = await plan('tinyjson==1.1.0\nfastmath==2.1.0\n', { functions: 'orders' })
      expect(result.exitCode, result.stdout).toBe(0)
      const [region] = changesOf(result).regions
      expect(region.previous).toEqual({ version: 1, layerVersionArn: arnOf(1) })
      expect(region.upgraded?.map(p => [p.name, p.from, p.to])).toEqual([
        ['fastmath', '2.0.0', '2.1.0'],
        ['tinyjson', '1.0.0', '1.1.0']
      ])
      expect(region.added).toEqual([])
      expect(region.removed).toEqual([])
      const [fastmath] = region.native ?? []
      expect(fastmath.name).toBe('fastmath')
      expect(fastmath.tagsBefore.join()).toContain('manylinux_2_17_x86_64')
      expect(fastmath.tagsAfter.join()).toContain('manylinux_2_28_x86_64')
      expect(region.functions).toEqual([
        { function: 'orders', region: 'us-east-1', layerVersionArn: arnOf(1) }
      ])
      expect(result.summary).toContain('| tinyjson | upgraded | 1.0.0 | 1.1.0 |')
      expect(result.summary).toContain('glibc 2.17 → 2.28')
      expect(result.summary).toContain('```mermaid\nxychart-beta')

      const made = emulator.calls.slice(callsBefore).map(call => call.operation)
      expect(made.filter(operation => !READ_ONLY.includes(operation))).toEqual([])
      expect(made).toContain('DownloadLayerContent')
      expect(snapshot(['orders'])).toBe(before)
      // a zip this small comes whole with the central directory's read; the 200 MB case is
      // measured in __tests__/aws/previous.test.ts
      const served = emulator.calls
        .slice(callsBefore)
        .reduce((sum, call) => sum + (call.bytes ?? 0), 0)
      expect(served).toBe(region.bytesRead)
      expect(region.bytesRead).toBeLessThanOrEqual(emulator.layerVersions(layerName)[0].codeSize)
    },
    TWO_RUNS
  )

  it(
    'on a downgrade says downgraded, with both versions',
    async () => {
      expect((await run('tinyjson==1.1.0\n')).exitCode).toBe(0)
      const result = await plan('tinyjson==1.0.0\n')
      expect(result.exitCode, result.stdout).toBe(0)
      const [region] = changesOf(result).regions
      expect(region.downgraded?.map(p => [p.name, p.from, p.to])).toEqual([
        ['tinyjson', '1.1.0', '1.0.0']
      ])
      expect(result.summary).toContain('| tinyjson | downgraded | 1.1.0 | 1.0.0 |')
    },
    TWO_RUNS
  )

  it(
    'on a removed package names it and its version',
    async () => {
      expect((await run('greeter==1.0.0\n')).exitCode).toBe(0)
      const result = await plan('tinyjson==1.0.0\n')
      expect(result.exitCode, result.stdout).toBe(0)
      const [region] = changesOf(result).regions
      expect(region.removed?.map(p => [p.name, p.version])).toEqual([['greeter', '1.0.0']])
      expect(region.upgraded).toEqual([])
      expect(result.summary).toMatch(/\| greeter \| removed \| 1\.0\.0 \| {2}\| −\d/)
    },
    TWO_RUNS
  )

  it('without credentials still builds, verifies and reports, and says the comparison needs read access', async () => {
    const result = await run(
      'tinyjson==1.0.0\n',
      { publish: 'plan' },
      { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_PROFILE: 'none' }
    )
    expect(result.exitCode, result.stdout).toBe(0)
    const changes = changesOf(result)
    expect(changes.unavailable).toContain('needs read access')
    expect(changes.unavailable).toContain('lambda:GetLayerVersion')
    expect(result.summary).toContain('**Not compared:**')
    expect(result.outputs['code-sha256']).toBeTruthy()
    expect(emulator.calls).toEqual([])
  })
})

describe('a real publish', () => {
  it(
    'shows what this version changes against the one before',
    async () => {
      expect((await run('tinyjson==1.0.0\n')).exitCode).toBe(0)
      const result = await run('tinyjson==1.1.0\n')
      expect(result.exitCode, result.stdout).toBe(0)
      expect(result.outputs['layer-version-arn']).toBe(arnOf(2))
      expect(result.summary).toContain('### What this version changes')
      expect(result.summary).toContain('against version 1')
      const [region] = changesOf(result).regions
      expect(region.upgraded?.map(p => p.name)).toEqual(['tinyjson'])
    },
    TWO_RUNS
  )
})
