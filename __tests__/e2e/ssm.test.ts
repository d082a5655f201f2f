// The bundled action writing the newest layer version ARN to an SSM parameter in each region,
// against the emulator's Parameter Store (reached with AWS_ENDPOINT_URL_SSM, as a user would
// point the SDK at a VPC endpoint), with real pip against the test index.
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startLambdaEmulator, type Emulator } from '../../emulator/lambda-api.js'
import { BUNDLE, failure, runAction, type ActionRun } from '../support/action.js'
import { catalog } from '../support/catalog.js'
import { startIndex, type PackageIndex } from '../support/index-server.js'

const ACCOUNT = '123456789012'
const TWO_REGIONS = 'us-east-1, eu-west-1'
let index: PackageIndex
let emulator: Emulator
let layerName: string
let counter = 0

beforeAll(async () => {
  index = await startIndex(catalog())
})
afterAll(async () => {
  await index?.close()
  await emulator?.close()
})
beforeEach(async () => {
  await emulator?.close()
  emulator = await startLambdaEmulator()
  layerName = `shared-deps-${++counter}`
})

/** The bundle's files that Node loaded during a run, through a module load hook. */
interface WatchedRun extends ActionRun {
  loaded: string[]
}

async function deploy(
  inputs: Record<string, string>,
  env: Record<string, string> = {}
): Promise<WatchedRun> {
  const project = await mkdtemp(path.join(os.tmpdir(), 'project-'))
  const loadedLog = path.join(project, 'loaded.log')
  const hook = path.join(project, 'log-loads.mjs')
  await writeFile(loadedLog, '')
  await writeFile(
    hook,
    `import { registerHooks } from 'node:module'
import { appendFileSync } from 'node:fs'
registerHooks({
  load(url, context, nextLoad) {
    appendFileSync(${JSON.stringify(loadedLog)}, url + '\\n')
    return nextLoad(url, context)
  }
})
`
  )
  await writeFile(path.join(project, 'requirements.txt'), 'tinyjson==1.0.0\n')
  const run = await runAction(
    { 'index-url': index.url, runtime: 'python3.12', 'layer-name': layerName, ...inputs },
    {
      cwd: project,
      env: {
        AWS_ACCESS_KEY_ID: 'AKIDTEST',
        AWS_SECRET_ACCESS_KEY: 'secret',
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_LAMBDA: emulator.endpoint,
        AWS_ENDPOINT_URL_S3: emulator.endpoint,
        // the SDK reads the SSM endpoint by itself: no code in the action names it
        AWS_ENDPOINT_URL_SSM: emulator.endpoint,
        NODE_OPTIONS: `--import=${pathToFileURL(hook).href}`,
        ...env
      }
    }
  )
  const loaded = (await readFile(loadedLog, 'utf8')).split('\n').filter(Boolean)
  return { ...run, loaded: loaded.map(url => path.basename(new URL(url).pathname)) }
}

/** The bundle's lazy chunk that holds @aws-sdk/client-ssm. */
async function ssmChunk(): Promise<string> {
  const dist = path.dirname(BUNDLE)
  for (const file of await readdir(dist)) {
    if (!file.endsWith('.js')) continue
    if ((await readFile(path.join(dist, file), 'utf8')).includes('AmazonSSM')) return file
  }
  throw new Error('no chunk of dist/ holds the SSM client')
}

const arnOf = (region: string, version = 1) =>
  `arn:aws:lambda:${region}:${ACCOUNT}:layer:${layerName}:${version}`
const parameterOf = (region: string) => `/layers/${layerName}/python3.12/x86_64/${region}`

describe('ssm-parameter', () => {
  it('writes the layer version ARN to the parameter in each region and lists them in the summary', async () => {
    const run = await deploy({
      regions: TWO_REGIONS,
      'ssm-parameter': '/layers/{layer}/{runtime}/{architecture}/{region}'
    })
    expect(run.exitCode, run.stdout).toBe(0)
    for (const region of ['us-east-1', 'eu-west-1']) {
      expect(emulator.ssmParameter(parameterOf(region), region)).toMatchObject({
        type: 'String',
        value: arnOf(region),
        version: 1
      })
    }
    expect(run.summary).toContain('### SSM parameters')
    expect(run.summary).toContain(`| eu-west-1 | \`${parameterOf('eu-west-1')}\` | version 1 |`)
    expect(run.summary).toContain(`| us-east-1 | \`${parameterOf('us-east-1')}\` | version 1 |`)
    expect(run.loaded).toContain(await ssmChunk())
  })

  it('never loads the SSM client when ssm-parameter is not set', async () => {
    const run = await deploy({})
    expect(run.exitCode, run.stdout).toBe(0)
    // the hook saw the bundle and its AWS chunk load, so its silence about SSM means something
    expect(run.loaded).toContain('index.js')
    expect(run.loaded.length).toBeGreaterThan(2)
    expect(run.loaded).not.toContain(await ssmChunk())
    expect(emulator.calls.map(call => call.operation)).not.toContain('PutParameter')
    expect(run.summary).not.toContain('SSM parameters')
  })

  it('rewrites the parameter when an unchanged layer is reused: version 2, the same ARN', async () => {
    const inputs = { 'ssm-parameter': '/layers/{layer}' }
    const first = await deploy(inputs)
    expect(first.exitCode, first.stdout).toBe(0)
    const rerun = await deploy(inputs)
    expect(rerun.exitCode, rerun.stdout).toBe(0)
    expect(rerun.outputs.published).toBe('false')
    expect(emulator.layerVersions(layerName)).toHaveLength(1)
    expect(emulator.ssmParameter(`/layers/${layerName}`)).toMatchObject({
      value: arnOf('us-east-1'),
      version: 2
    })
    expect(rerun.summary).toContain(`| us-east-1 | \`/layers/${layerName}\` | version 2 |`)
  })

  it('fails the step naming ssm:PutParameter and the parameter when denied, after publishing and moving the functions everywhere', async () => {
    emulator.createFunction({ name: 'orders', runtime: 'python3.12', region: 'eu-west-1' })
    emulator.inject({ operation: 'PutParameter', kind: 'access-denied', region: 'eu-west-1' })
    const run = await deploy({
      regions: TWO_REGIONS,
      functions: 'orders',
      'ssm-parameter': '/layers/{layer}/{region}'
    })
    expect(run.exitCode).toBe(1)
    const message = failure(run)
    expect(message).toContain(`eu-west-1: ssm-parameter: Access denied in eu-west-1`)
    expect(message).toContain('`ssm:PutParameter`')
    expect(message).toContain(`/layers/${layerName}/eu-west-1`)
    // the layer is published in both regions, the function moved onto it, the other region written
    expect(emulator.layerVersions(layerName, 'eu-west-1')).toHaveLength(1)
    expect(emulator.getFunction('orders', 'eu-west-1')?.layers).toEqual([arnOf('eu-west-1')])
    expect(emulator.ssmParameter(`/layers/${layerName}/eu-west-1`, 'eu-west-1')).toBeUndefined()
    expect(emulator.ssmParameter(`/layers/${layerName}/us-east-1`, 'us-east-1')?.value).toBe(
      arnOf('us-east-1')
    )
    expect(run.outputs['layer-version-arn']).toBe(arnOf('us-east-1'))
    expect(run.summary).toMatch(/\| eu-west-1 \| `[^`]+` \| failed: Access denied/)
  })

  it('refuses a name SSM would refuse before any AWS call', async () => {
    const run = await deploy({ 'ssm-parameter': 'ssm-{layer}' })
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toBe(
      `ssm-parameter: "ssm-${layerName}" is not an SSM parameter name: SSM reserves names starting with aws or ssm (any case)`
    )
    expect(emulator.calls).toEqual([])
    expect(emulator.layerVersions(layerName)).toEqual([])
  })

  it('checks the name again in the region from the SDK chain, before any AWS call', async () => {
    // 44 characters of ARN before it in us-east-1 make 1011; ap-southeast-2 adds five
    const name = `/${'x'.repeat(966)}`
    const run = await deploy({ 'ssm-parameter': name }, { AWS_REGION: 'ap-southeast-2' })
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toBe(
      `ssm-parameter: "${name}" is not an SSM parameter name: its ARN in ap-southeast-2 would be 1016 characters; SSM allows 1011`
    )
    expect(emulator.calls).toEqual([])
  })

  it('refuses an unknown placeholder in one line before any AWS call', async () => {
    const run = await deploy({ 'ssm-parameter': '/layers/{stage}/{layer}' })
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toBe(
      'ssm-parameter: unknown placeholder {stage} in "/layers/{stage}/{layer}"; use {region}, {runtime}, {architecture}, {layer}'
    )
    expect(emulator.calls).toEqual([])
  })
})
