// The bundled action on Node 24, publishing to the local Lambda API emulator with the real
// AWS SDK (pointed at it with AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL_S3, as a user would
// point it at a VPC endpoint), and real pip against the test index.
import { LambdaClient, PublishLayerVersionCommand } from '@aws-sdk/client-lambda'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startLambdaEmulator, type Emulator } from '../../emulator/lambda-api.js'
import { failure, runAction, type ActionRun } from '../support/action.js'
import { bigblob, catalog } from '../support/catalog.js'
import { startIndex, type PackageIndex } from '../support/index-server.js'
import { closedPort } from '../support/loopback.js'

const ACCOUNT = '123456789012'
let index: PackageIndex
let emulator: Emulator
let layerName: string
let counter = 0

beforeAll(async () => {
  index = await startIndex([...catalog(), bigblob()])
})
afterAll(async () => {
  await index?.close()
})
beforeEach(async () => {
  await emulator?.close()
  emulator = await startLambdaEmulator({ updateDurationMs: 300 })
  layerName = `deps-${++counter}`
})

async function deploy(
  requirements: string,
  inputs: Record<string, string> = {},
  env: Record<string, string | undefined> = {}
): Promise<ActionRun> {
  const project = await mkdtemp(path.join(os.tmpdir(), 'project-'))
  await writeFile(path.join(project, 'requirements.txt'), requirements)
  return runAction(
    {
      'index-url': index.url,
      runtime: 'python3.12',
      'layer-name': layerName,
      ...inputs
    },
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

/** Another team's layer, already on the function: the action must keep it where it is. */
async function otherLayer(name: string, region = 'us-east-1'): Promise<string> {
  const client = new LambdaClient({
    region,
    endpoint: emulator.endpoint,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }
  })
  const zip = catalog().find(d => d.filename.startsWith('tinyjson-1.0.0'))!.bytes
  const result = await client.send(
    new PublishLayerVersionCommand({ LayerName: name, Content: { ZipFile: zip } })
  )
  return result.LayerVersionArn!
}

const arnOf = (name: string, version: number, region = 'us-east-1') =>
  `arn:aws:lambda:${region}:${ACCOUNT}:layer:${name}:${version}`

describe('publishing', () => {
  it('publishes a first version and outputs its ARN', async () => {
    const run = await deploy('tinyjson==1.0.0\n')
    expect(run.exitCode, run.stdout).toBe(0)
    expect(run.outputs['layer-version-arn']).toBe(arnOf(layerName, 1))
    expect(run.outputs['layer-arn']).toBe(`arn:aws:lambda:us-east-1:${ACCOUNT}:layer:${layerName}`)
    expect(run.outputs['layer-version']).toBe('1')
    expect(run.outputs.published).toBe('true')
    const [version] = emulator.layerVersions(layerName)
    expect(version.codeSha256).toBe(run.outputs['code-sha256'])
    expect(version.compatibleRuntimes).toEqual(['python3.12'])
    expect(version.compatibleArchitectures).toEqual(['x86_64'])
    expect(run.summary).toContain('new version')
  })

  it('publishes nothing when rerun with nothing changed, and a new version when a pin changes', async () => {
    await deploy('tinyjson==1.0.0\n')
    const rerun = await deploy('tinyjson==1.0.0\n')
    expect(rerun.exitCode, rerun.stdout).toBe(0)
    expect(rerun.outputs.published).toBe('false')
    expect(rerun.outputs['layer-version-arn']).toBe(arnOf(layerName, 1))
    expect(emulator.layerVersions(layerName)).toHaveLength(1)
    expect(emulator.calls.filter(c => c.operation === 'PublishLayerVersion')).toHaveLength(1)

    const changed = await deploy('tinyjson==1.1.0\n')
    expect(changed.outputs.published).toBe('true')
    expect(changed.outputs['layer-version-arn']).toBe(arnOf(layerName, 2))
  })

  it('publishes to two regions and reports each', async () => {
    const run = await deploy('tinyjson==1.0.0\n', { regions: 'us-east-1, eu-west-1' })
    expect(run.exitCode, run.stdout).toBe(0)
    expect(JSON.parse(run.outputs.regions)).toEqual({
      'us-east-1': { layerVersionArn: arnOf(layerName, 1), published: true },
      'eu-west-1': { layerVersionArn: arnOf(layerName, 1, 'eu-west-1'), published: true }
    })
    expect(emulator.layerVersions(layerName, 'eu-west-1')).toHaveLength(1)
  })

  it('sends a zip above the direct-upload limit through S3', async () => {
    const run = await deploy('bigblob\n', { 's3-bucket': 'layers-{region}', 's3-prefix': 'ci/' })
    expect(run.exitCode, run.stdout).toBe(0)
    const keys = [...emulator.s3Objects('us-east-1').keys()]
    expect(keys).toHaveLength(1)
    expect(keys[0]).toMatch(new RegExp(`^layers-us-east-1/ci/${layerName}/[0-9a-f]{64}\\.zip$`))
    expect(emulator.layerVersions(layerName)[0].codeSha256).toBe(run.outputs['code-sha256'])
  })

  it('refuses a zip above the direct-upload limit without s3-bucket, before any AWS call', async () => {
    const run = await deploy('bigblob\n')
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toMatch(/above the 50\.0 MiB direct-upload limit: set s3-bucket/)
    expect(emulator.calls).toEqual([])
  })
})

describe('moving functions onto the new version', () => {
  it('replaces its own layer in place and keeps the others in order', async () => {
    const first = await otherLayer('team-a')
    const last = await otherLayer('team-b')
    await deploy('tinyjson==1.0.0\n')
    emulator.createFunction({
      name: 'orders',
      runtime: 'python3.12',
      layers: [first, arnOf(layerName, 1), last]
    })
    const run = await deploy('tinyjson==1.1.0\n', { functions: 'orders' })
    expect(run.exitCode, run.stdout).toBe(0)
    expect(emulator.getFunction('orders')?.layers).toEqual([first, arnOf(layerName, 2), last])
    expect(JSON.parse(run.outputs.functions)).toEqual({
      orders: {
        before: [first, arnOf(layerName, 1), last],
        after: [first, arnOf(layerName, 2), last],
        status: 'updated'
      }
    })
  })

  it('attaches an unchanged layer to a function that lacks it', async () => {
    await deploy('tinyjson==1.0.0\n')
    emulator.createFunction({ name: 'late', runtime: 'python3.12' })
    const run = await deploy('tinyjson==1.0.0\n', { functions: 'late' })
    expect(run.outputs.published).toBe('false')
    expect(emulator.getFunction('late')?.layers).toEqual([arnOf(layerName, 1)])
  })

  it('updates the others when one of three functions cannot take the layer, then fails naming it', async () => {
    const five = await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map(name => otherLayer(`full-${name}`))
    )
    emulator.createFunction({ name: 'one', runtime: 'python3.12' })
    emulator.createFunction({ name: 'full', runtime: 'python3.12', layers: five })
    emulator.createFunction({ name: 'three', runtime: 'python3.12', architecture: 'x86_64' })
    const run = await deploy('tinyjson==1.0.0\n', { functions: 'one\nfull\nthree' })
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toContain('full (us-east-1):')
    expect(failure(run)).toContain('5')
    expect(emulator.getFunction('one')?.layers).toEqual([arnOf(layerName, 1)])
    expect(emulator.getFunction('three')?.layers).toEqual([arnOf(layerName, 1)])
    expect(emulator.getFunction('full')?.layers).toEqual(five)
    expect(run.outputs['layer-version-arn']).toBe(arnOf(layerName, 1))
  })

  it('refuses a function of another architecture and leaves it alone', async () => {
    emulator.createFunction({ name: 'graviton', runtime: 'python3.12', architecture: 'arm64' })
    const run = await deploy('tinyjson==1.0.0\n', { functions: 'graviton' })
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toMatch(/graviton \(us-east-1\): .*arm64/)
    expect(emulator.getFunction('graviton')?.layers).toEqual([])
  })

  it('reports a function as updated when Lambda applied the update but its response was lost', async () => {
    emulator.createFunction({ name: 'orders', runtime: 'python3.12' })
    emulator.inject({
      operation: 'UpdateFunctionConfiguration',
      kind: 'drop-response',
      function: 'orders'
    })
    const run = await deploy('tinyjson==1.0.0\n', { functions: 'orders' })
    expect(run.exitCode, run.stdout).toBe(0)
    expect(emulator.calls.find(c => c.operation === 'UpdateFunctionConfiguration')?.status).toBe(0)
    expect(JSON.parse(run.outputs.functions)).toEqual({
      orders: { before: [], after: [arnOf(layerName, 1)], status: 'updated' }
    })
    expect(emulator.getFunction('orders')?.layers).toEqual([arnOf(layerName, 1)])
  })

  it('waits out an update already in progress instead of failing', async () => {
    emulator.createFunction({ name: 'busy', runtime: 'python3.12' })
    emulator.inject({
      operation: 'UpdateFunctionConfiguration',
      kind: 'conflict',
      function: 'busy'
    })
    const run = await deploy('tinyjson==1.0.0\n', { functions: 'busy' })
    expect(run.exitCode, run.stdout).toBe(0)
    expect(emulator.getFunction('busy')?.layers).toEqual([arnOf(layerName, 1)])
  })
})

describe('sharing and old versions', () => {
  it('shares each new version with the accounts and organization asked, harmlessly on rerun', async () => {
    const inputs = { 'share-with': '210987654321\no-abcdefghij' }
    const first = await deploy('tinyjson==1.0.0\n', inputs)
    expect(first.exitCode, first.stdout).toBe(0)
    await deploy('tinyjson==1.0.0\n', inputs)
    const statements = emulator.layerVersions(layerName)[0].policy.statements
    expect(statements.map(s => s.Principal)).toEqual([
      { AWS: 'arn:aws:iam::210987654321:root' },
      '*'
    ])
    expect(statements[1].Condition).toEqual({
      StringEquals: { 'aws:PrincipalOrgID': 'o-abcdefghij' }
    })
  })

  it('never shares publicly unless asked', async () => {
    await deploy('tinyjson==1.0.0\n')
    expect(emulator.layerVersions(layerName)[0].policy.statements).toEqual([])
  })

  it('deletes versions beyond keep-versions but keeps one a named function still uses', async () => {
    await deploy('tinyjson==1.0.0\n')
    emulator.createFunction({
      name: 'pinned',
      runtime: 'python3.11',
      layers: [arnOf(layerName, 1)]
    })
    await deploy('tinyjson==1.1.0\n')
    await deploy('greeter\n')
    const run = await deploy('onlysdist\n', { 'keep-versions': '1', functions: 'pinned' })
    expect(run.exitCode).toBe(1) // pinned runs python3.11: refused, so it keeps version 1
    expect(emulator.layerVersions(layerName).map(v => v.version)).toEqual([1, 4])
    expect(run.summary).toMatch(/kept 1: .*pinned/)
  })
})

describe('bad input changes nothing in AWS', () => {
  it('refuses an emptied requirements file, so a function keeps the version it has', async () => {
    emulator.createFunction({ name: 'orders', runtime: 'python3.12' })
    const first = await deploy('tinyjson==1.0.0\n', { functions: 'orders' })
    expect(first.exitCode, first.stdout).toBe(0)
    const since = emulator.calls.length

    const run = await deploy('# moved into the function image\n', { functions: 'orders' })
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toBe(
      'requirements: requirements.txt gives no packages for python3.12 x86_64 (it lists no ' +
        'requirement, or every one is excluded by its marker); the layer would be empty and ' +
        'functions moved onto it would lose their dependencies. Fix the requirements, or set ' +
        'allow-empty: true'
    )
    const operations = emulator.calls.slice(since).map(c => c.operation)
    expect(operations).not.toContain('PublishLayerVersion')
    expect(operations).not.toContain('UpdateFunctionConfiguration')
    expect(emulator.layerVersions(layerName)).toHaveLength(1)
    expect(emulator.getFunction('orders')?.layers).toEqual([arnOf(layerName, 1)])
  })

  it('refuses a bad share-with before any call', async () => {
    const run = await deploy('tinyjson\n', { 'share-with': 'everyone' })
    expect(run.exitCode).toBe(1)
    expect(emulator.calls).toEqual([])
  })

  it('refuses a function ARN in a region not published to, before any call', async () => {
    const run = await deploy('tinyjson\n', {
      functions: 'arn:aws:lambda:eu-central-1:123456789012:function:orders'
    })
    expect(failure(run)).toMatch(
      /^functions: .*eu-central-1, which is not in regions \(us-east-1\)/
    )
    expect(emulator.calls).toEqual([])
  })
})

describe('outputs when publishing fails', () => {
  it("keeps the build's code-sha256, written once, when the Lambda API refuses connections", async () => {
    const closed = await closedPort()
    const run = await deploy(
      'six==1.16.0\n',
      {},
      {
        AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${closed}`,
        AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${closed}`
      }
    )
    expect(run.exitCode, run.stdout).toBe(1)
    expect(failure(run)).toMatch(/Could not reach AWS for lambda:ListLayerVersions/)
    const zip = await readFile(run.outputs['zip-path'])
    expect(run.outputs['code-sha256']).toBe(createHash('sha256').update(zip).digest('base64'))
    // every output is written once: a second, empty code-sha256 would win on the runner
    expect(Object.entries(run.outputWrites).filter(([, times]) => times !== 1)).toEqual([])
    expect(run.outputWrites['code-sha256']).toBe(1)
  })
})

describe('outputs when the first region fails', () => {
  it('leaves layer-version-arn empty rather than give the second region’s', async () => {
    emulator.inject({
      operation: 'PublishLayerVersion',
      kind: 'server-error',
      region: 'us-east-1',
      times: 50
    })
    const run = await deploy('tinyjson==1.0.0\n', { regions: 'us-east-1, eu-west-1' })
    expect(run.exitCode).toBe(1)
    expect(run.outputs['layer-version-arn']).toBe('')
    expect(run.outputs['layer-version']).toBe('')
    expect(JSON.parse(run.outputs.regions)).toEqual({
      'eu-west-1': { layerVersionArn: arnOf(layerName, 1, 'eu-west-1'), published: true }
    })
  })
})

describe('AWS set-up problems', () => {
  it('says how to configure credentials when there are none, before building', async () => {
    const run = await deploy(
      'tinyjson\n',
      {},
      { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, HOME: os.tmpdir() }
    )
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toMatch(/configure-aws-credentials/)
    expect(run.stdout).not.toContain('pip install')
    expect(emulator.calls).toEqual([])
  })

  it('names the IAM action that is missing', async () => {
    emulator.deny('lambda:PublishLayerVersion')
    const run = await deploy('tinyjson\n')
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toContain('lambda:PublishLayerVersion')
    expect(emulator.layerVersions(layerName)).toEqual([])
  })

  it('survives throttling and a 503 on publish', async () => {
    emulator.inject({ operation: 'PublishLayerVersion', kind: 'throttle', durationMs: 10 })
    emulator.inject({ operation: 'PublishLayerVersion', kind: 'unavailable' })
    const run = await deploy('tinyjson\n')
    expect(run.exitCode, run.stdout).toBe(0)
    expect(emulator.layerVersions(layerName)).toHaveLength(1)
  })
})
