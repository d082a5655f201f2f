import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfiguredRetryStrategy } from '@smithy/core/retry'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  GetFunctionConfigurationCommand,
  LambdaClient,
  UpdateFunctionConfigurationCommand
} from '@aws-sdk/client-lambda'
import { mockClient } from 'aws-sdk-client-mock'
import { startLambdaEmulator, type Emulator } from '../../emulator/lambda-api.js'
import { awsClients } from '../../src/aws/clients.js'
import { publishLayer } from '../../src/aws/publish.js'
import { attachToFunction, checkFit, placeFunctions, planLayers } from '../../src/aws/attach.js'
import { parseFunctionRef } from '../../src/names.js'
import { layerZipAt } from '../support/layer-zip.js'
import { targetOf } from '../support/target.js'

vi.mock('@actions/core')

const ACCOUNT = '123456789012'
const layer = (name: string, version: number, region = 'us-east-1', account = ACCOUNT) =>
  `arn:aws:lambda:${region}:${account}:layer:${name}:${version}`

describe('planLayers', () => {
  it('appends the layer after the layers a function already has, keeping their order', () => {
    expect(planLayers([layer('a', 1), layer('b', 7)], layer('deps', 3))).toEqual([
      layer('a', 1),
      layer('b', 7),
      layer('deps', 3)
    ])
  })

  it('replaces an older version of the same layer in place', () => {
    expect(planLayers([layer('a', 1), layer('deps', 2), layer('b', 7)], layer('deps', 3))).toEqual([
      layer('a', 1),
      layer('deps', 3),
      layer('b', 7)
    ])
  })

  it('never mistakes a layer whose name starts the same for this one', () => {
    expect(planLayers([layer('deps-2', 4), layer('dep', 1)], layer('deps', 3))).toEqual([
      layer('deps-2', 4),
      layer('dep', 1),
      layer('deps', 3)
    ])
  })

  it('does not replace a layer of the same name owned by another account', () => {
    const foreign = layer('deps', 9, 'us-east-1', '999999999999')
    expect(planLayers([foreign], layer('deps', 3))).toEqual([foreign, layer('deps', 3)])
  })

  it('refuses a sixth layer, naming the function and its layers', () => {
    const five = ['a', 'b', 'c', 'd', 'e'].map(name => layer(name, 1))
    expect(() => planLayers(five, layer('deps', 3), 'orders')).toThrow(
      /orders already has 5 layers \(arn:.*:layer:a:1, .*:layer:e:1\).*limit of 5/
    )
  })

  it('still replaces in place when the function is at the limit with an older version', () => {
    const four = ['a', 'b', 'c', 'd'].map(name => layer(name, 1))
    const planned = planLayers(
      [...four.slice(0, 2), layer('deps', 1), ...four.slice(2)],
      layer('deps', 2)
    )
    expect(planned).toHaveLength(5)
    expect(planned[2]).toBe(layer('deps', 2))
  })
})

describe('parseFunctionRef and placeFunctions', () => {
  it('reads the region from a function ARN, and none from a plain name', () => {
    expect(parseFunctionRef(`arn:aws:lambda:eu-west-1:${ACCOUNT}:function:orders`).region).toBe(
      'eu-west-1'
    )
    expect(parseFunctionRef('orders').region).toBeUndefined()
    expect(parseFunctionRef(`${ACCOUNT}:function:orders`).region).toBeUndefined()
  })

  it('reads an alias to move from NAME:ALIAS and a qualified ARN, and refuses a version', () => {
    expect(parseFunctionRef(`arn:aws:lambda:eu-west-1:${ACCOUNT}:function:orders:prod`)).toEqual({
      name: `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:orders:prod`,
      functionName: 'orders',
      unqualified: `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:orders`,
      alias: 'prod',
      region: 'eu-west-1'
    })
    expect(parseFunctionRef('orders-api:live')).toMatchObject({
      functionName: 'orders-api',
      unqualified: 'orders-api',
      alias: 'live'
    })
    expect(() => parseFunctionRef('orders:3')).toThrow(/names version "3"/)
    expect(() => parseFunctionRef('orders:$LATEST')).toThrow(/names version "\$LATEST"/)
  })

  it('places a function named by name and by ARN once in its region', () => {
    const arn = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:api`
    const { byRegion } = placeFunctions(
      ['api', arn, `${ACCOUNT}:function:api`, 'api'],
      ['us-east-1', 'eu-west-1']
    )
    expect(byRegion.get('us-east-1')).toEqual(['api'])
    expect(byRegion.get('eu-west-1')).toEqual(['api'])
  })

  it('attaches a plain name in every region and an ARN only in its own', () => {
    const arn = `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:orders`
    const stray = `arn:aws:lambda:ap-south-1:${ACCOUNT}:function:billing`
    const placement = placeFunctions(['api', arn, stray], ['us-east-1', 'eu-west-1'])
    expect(placement.byRegion.get('us-east-1')).toEqual(['api'])
    expect(placement.byRegion.get('eu-west-1')).toEqual(['api', arn])
    expect(placement.unplaced).toHaveLength(1)
    expect(placement.unplaced[0].error).toMatch(/ap-south-1, which is not in regions/)
  })
})

describe('checkFit', () => {
  const fit = { runtimes: ['python3.12'], architectures: ['arm64'] }

  it('accepts a function on a runtime and architecture the layer was built for', () => {
    expect(() =>
      checkFit('api', { Runtime: 'python3.12', Architectures: ['arm64'] }, fit)
    ).not.toThrow()
  })

  it('refuses a function on another architecture, saying both', () => {
    expect(() => checkFit('api', { Runtime: 'python3.12' }, fit)).toThrow(
      /api runs python3.12 on x86_64, but the layer is for python3.12 on arm64/
    )
  })

  it('refuses a function on another runtime', () => {
    expect(() => checkFit('api', { Runtime: 'nodejs22.x', Architectures: ['arm64'] }, fit)).toThrow(
      /nodejs22.x/
    )
  })

  it('refuses a container image function', () => {
    expect(() => checkFit('api', { PackageType: 'Image', Architectures: ['arm64'] }, fit)).toThrow(
      /container image/
    )
  })
})

// The emulator cannot make Lambda report a Failed update, so this one path is mocked.
describe('attachToFunction when Lambda reports the update Failed', () => {
  // mockClient patches every LambdaClient, so it is set up and undone around this block only:
  // the emulator tests below need the real one.
  let lambda: ReturnType<typeof mockClient>
  beforeAll(() => {
    lambda = mockClient(LambdaClient)
  })
  afterAll(() => lambda.restore())

  it('reports the function as failed with LastUpdateStatusReason', async () => {
    const arn = layer('deps', 3)
    lambda.on(UpdateFunctionConfigurationCommand).resolves({ LastUpdateStatus: 'InProgress' })
    lambda
      .on(GetFunctionConfigurationCommand, { FunctionName: 'api' })
      .resolvesOnce({
        FunctionName: 'api',
        Runtime: 'python3.12',
        Architectures: ['x86_64'],
        RevisionId: 'r1',
        LastUpdateStatus: 'Successful',
        Layers: []
      })
      .resolves({
        LastUpdateStatus: 'Failed',
        LastUpdateStatusReason: 'Unzipped size must be smaller than 262144000 bytes'
      })
    const result = await attachToFunction(
      new LambdaClient({ region: 'us-east-1' }),
      'api',
      arn,
      { runtimes: ['python3.12'], architectures: ['x86_64'] },
      { region: 'us-east-1', waiter: { maxWaitTime: 2, minDelay: 0.01, maxDelay: 0.05 } }
    )
    expect(result.status).toBe('failed')
    expect(result.error).toContain('Unzipped size must be smaller')
    expect(lambda.commandCalls(UpdateFunctionConfigurationCommand)[0].args[0].input).toMatchObject({
      Layers: [arn],
      RevisionId: 'r1'
    })
  })
})

// Against the local Lambda API, driven by the real SDK.
describe('attachToFunction against the Lambda API', () => {
  let emulator: Emulator
  let lambda: LambdaClient
  let work: string
  let deps: string
  const region = 'us-east-1'
  const fit = { runtimes: ['python3.12'], architectures: ['x86_64'] }
  const waiter = { maxWaitTime: 20, minDelay: 0.05, maxDelay: 0.2 }
  // Public layers from other accounts, as functions commonly carry them.
  const powertools = `arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:7`
  const insights = 'arn:aws:lambda:us-east-1:580247275435:layer:LambdaInsightsExtension:53'
  const updates = () => emulator.calls.filter(c => c.operation === 'UpdateFunctionConfiguration')
  const attach = (name: string, arn = deps) =>
    attachToFunction(lambda, name, arn, fit, { region, waiter })

  /** Publishes a version of `name` in the emulator and returns its ARN. */
  async function publishVersion(name: string, source: string): Promise<string> {
    const clients = awsClients({ endpoint: emulator.endpoint })
    const zipPath = layerZip(work, source)
    const result = await publishLayer(clients, region, {
      layerName: name,
      zip: layerZipAt(zipPath),
      target: targetOf('python3.12', 'x86_64'),
      compatibleRuntimes: fit.runtimes,
      compatibleArchitectures: fit.architectures,
      skipUnchanged: false
    })
    return result.layerVersionArn
  }

  beforeAll(() => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDTEST')
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret')
    work = mkdtempSync(join(tmpdir(), 'attach-test-'))
  })
  afterAll(() => {
    vi.unstubAllEnvs()
    rmSync(work, { recursive: true, force: true })
  })
  beforeEach(async () => {
    emulator = await startLambdaEmulator({ idleTimeoutMs: 60_000 })
    lambda = new LambdaClient({
      region,
      endpoint: emulator.endpoint,
      retryStrategy: new ConfiguredRetryStrategy(5, () => 10)
    })
    await publishVersion('deps', 'V = 1\n')
    deps = await publishVersion('deps', 'V = 2\n')
  })
  afterEach(() => emulator.close())

  it('appends the layer after two other layers, keeping their order', async () => {
    emulator.createFunction({ name: 'api', runtime: 'python3.12', layers: [powertools, insights] })
    const result = await attach('api')
    expect(result).toMatchObject({
      status: 'updated',
      before: [powertools, insights],
      after: [powertools, insights, deps]
    })
    expect(emulator.getFunction('api')?.layers).toEqual([powertools, insights, deps])
  })

  it('replaces an older version of the same layer in place', async () => {
    const old = deps.replace(/:2$/, ':1')
    emulator.createFunction({
      name: 'api',
      runtime: 'python3.12',
      layers: [powertools, old, insights]
    })
    const result = await attach('api')
    expect(result.status).toBe('updated')
    expect(emulator.getFunction('api')?.layers).toEqual([powertools, deps, insights])
  })

  it('leaves a function already on the version alone, without an update', async () => {
    emulator.createFunction({ name: 'api', runtime: 'python3.12', layers: [deps] })
    const result = await attach('api')
    expect(result).toMatchObject({ status: 'unchanged', before: [deps], after: [deps] })
    expect(updates()).toEqual([])
  })

  it('refuses a function with 5 other layers, naming them, and makes no update call', async () => {
    const five = [1, 2, 3, 4, 5].map(
      n => `arn:aws:lambda:us-east-1:999999999999:layer:other-${n}:1`
    )
    emulator.createFunction({ name: 'crowded', runtime: 'python3.12', layers: five })
    const result = await attach('crowded')
    expect(result.status).toBe('failed')
    expect(result.error).toMatch(/crowded already has 5 layers .*other-1:1.*limit of 5/)
    expect(result.before).toEqual(five)
    expect(updates()).toEqual([])
    expect(emulator.getFunction('crowded')?.layers).toEqual(five)
  })

  it('refuses an arm64 function for an x86_64 layer, and makes no update call', async () => {
    emulator.createFunction({ name: 'graviton', runtime: 'python3.12', architecture: 'arm64' })
    const result = await attach('graviton')
    expect(result.status).toBe('failed')
    expect(result.error).toMatch(
      /graviton runs python3.12 on arm64, but the layer is for python3.12 on x86_64/
    )
    expect(updates()).toEqual([])
  })

  it('refuses a function on another Python runtime', async () => {
    emulator.createFunction({ name: 'legacy', runtime: 'python3.9' })
    const result = await attach('legacy')
    expect(result.error).toMatch(/legacy runs python3.9/)
    expect(updates()).toEqual([])
  })

  it('names a function that does not exist and the region it was looked for in', async () => {
    const result = await attach('ghost')
    expect(result.status).toBe('failed')
    expect(result.error).toMatch(/function ghost was not found in us-east-1/)
  })

  it('waits out an update already in progress instead of failing', async () => {
    emulator.createFunction({ name: 'busy', runtime: 'python3.12' })
    emulator.inject({ operation: 'GetFunctionConfiguration', kind: 'in-progress', durationMs: 400 })
    const result = await attach('busy')
    expect(result.status).toBe('updated')
    expect(emulator.getFunction('busy')?.layers).toEqual([deps])
    // The SDK waiter polled until the other update finished.
    const reads = emulator.calls.filter(c => c.operation === 'GetFunctionConfiguration')
    expect(reads.length).toBeGreaterThan(2)
    expect(updates().map(c => c.status)).toEqual([200])
  })

  it('waits with the SDK waiter until its own update has finished', async () => {
    await emulator.close()
    emulator = await startLambdaEmulator({ idleTimeoutMs: 60_000, updateDurationMs: 300 })
    lambda = new LambdaClient({ region, endpoint: emulator.endpoint })
    deps = await publishVersion('deps', 'V = 1\n')
    emulator.createFunction({ name: 'slow', runtime: 'python3.12' })
    const result = await attach('slow')
    expect(result.status).toBe('updated')
    expect(emulator.getFunction('slow')?.lastUpdateStatus).toBe('Successful')
    // One read before the update, then the waiter's polls until it settled.
    const polls = emulator.calls.filter(c => c.operation === 'GetFunctionConfiguration')
    expect(polls.length).toBeGreaterThan(2)
  })

  it('fails a function that stays busy past the waiting time, naming it', async () => {
    emulator.createFunction({ name: 'stuck', runtime: 'python3.12' })
    emulator.inject({
      operation: 'GetFunctionConfiguration',
      kind: 'in-progress',
      durationMs: 30_000
    })
    const result = await attachToFunction(lambda, 'stuck', deps, fit, {
      region,
      waiter: { maxWaitTime: 0.5, minDelay: 0.05, maxDelay: 0.1 }
    })
    expect(result.status).toBe('failed')
    expect(result.error).toMatch(/stuck was still busy after 0.5 s/)
    expect(updates()).toEqual([])
  })

  it('rides out a 409 conflict by waiting, reading again and retrying', async () => {
    emulator.createFunction({ name: 'api', runtime: 'python3.12', layers: [powertools] })
    emulator.inject({ operation: 'UpdateFunctionConfiguration', kind: 'conflict' })
    const result = await attach('api')
    expect(result.status).toBe('updated')
    expect(updates().map(c => c.status)).toEqual([409, 200])
    expect(emulator.getFunction('api')?.layers).toEqual([powertools, deps])
  })

  it('rereads and replans when the RevisionId went stale, keeping a layer added meanwhile', async () => {
    const fn = emulator.createFunction({ name: 'api', runtime: 'python3.12', layers: [powertools] })
    // Another deploy adds a layer between our read and our first update (new RevisionId).
    let raced = false
    lambda.middlewareStack.add(
      (next, context) => async args => {
        if (context.commandName === 'UpdateFunctionConfigurationCommand' && !raced) {
          raced = true
          fn.layers = [powertools, insights]
          fn.revisionId = 'changed-by-someone-else'
        }
        return next(args)
      },
      { step: 'initialize' }
    )
    const result = await attach('api')
    expect(result.status).toBe('updated')
    expect(updates().map(c => c.status)).toEqual([412, 200])
    expect(emulator.getFunction('api')?.layers).toEqual([powertools, insights, deps])
  })

  it('rereads after a stale RevisionId injected by the API', async () => {
    emulator.createFunction({ name: 'api', runtime: 'python3.12' })
    emulator.inject({ operation: 'UpdateFunctionConfiguration', kind: 'stale-revision' })
    const result = await attach('api')
    expect(result.status).toBe('updated')
    expect(updates().map(c => c.status)).toEqual([412, 200])
  })

  it('reports an update whose response was lost as updated, with the layers it replaced', async () => {
    emulator.createFunction({ name: 'api', runtime: 'python3.12', layers: [powertools] })
    // Lambda applies the update, then the connection drops; the SDK's resend meets a 412.
    emulator.inject({ operation: 'UpdateFunctionConfiguration', kind: 'drop-response' })
    const result = await attach('api')
    expect(result).toMatchObject({
      status: 'updated',
      before: [powertools],
      after: [powertools, deps]
    })
    expect(updates().map(c => c.status)).toEqual([0, 412])
    expect(emulator.getFunction('api')?.layers).toEqual([powertools, deps])
  })

  it('reports a lost-response update as updated even when no attempt is left to read it again', async () => {
    emulator.createFunction({ name: 'api', runtime: 'python3.12', layers: [powertools] })
    emulator.inject({ operation: 'UpdateFunctionConfiguration', kind: 'drop-response' })
    const result = await attachToFunction(lambda, 'api', deps, fit, {
      region,
      waiter,
      maxAttempts: 1
    })
    expect(result).toMatchObject({
      status: 'updated',
      before: [powertools],
      after: [powertools, deps]
    })
    expect(emulator.getFunction('api')?.layers).toEqual([powertools, deps])
  })

  it('gives up on a function that stays in conflict, saying so, and changes nothing', async () => {
    emulator.createFunction({ name: 'api', runtime: 'python3.12', layers: [powertools] })
    emulator.inject({ operation: 'UpdateFunctionConfiguration', kind: 'conflict', times: 10 })
    const result = await attach('api')
    expect(result.status).toBe('failed')
    expect(result.error).toMatch(/function api in us-east-1 is being changed by someone else/)
    expect(emulator.getFunction('api')?.layers).toEqual([powertools])
  })

  it('reports an update that Lambda marks Failed, with its reason', async () => {
    emulator.createFunction({ name: 'api', runtime: 'python3.12' })
    emulator.inject({ operation: 'UpdateFunctionConfiguration', kind: 'update-failed' })
    const result = await attach('api')
    expect(result.status).toBe('failed')
    expect(result.error).toMatch(/could not apply the new layers to api: .*could not be updated/)
  })

  it('sends the layers again to a function whose last update Failed, though they read as planned', async () => {
    emulator.createFunction({ name: 'api', runtime: 'python3.12' })
    emulator.inject({ operation: 'UpdateFunctionConfiguration', kind: 'update-failed' })
    expect((await attach('api')).status).toBe('failed')
    expect(emulator.getFunction('api')?.lastUpdateStatus).toBe('Failed')

    const rerun = await attach('api')
    expect(rerun).toMatchObject({ status: 'updated', after: [deps] })
    expect(updates().map(c => c.status)).toEqual([200, 200])
    expect(emulator.getFunction('api')?.lastUpdateStatus).toBe('Successful')
  })

  it('reports a resent update that fails again', async () => {
    emulator.createFunction({ name: 'api', runtime: 'python3.12' })
    emulator.inject({ operation: 'UpdateFunctionConfiguration', kind: 'update-failed', times: 2 })
    await attach('api')
    const rerun = await attach('api')
    expect(rerun.status).toBe('failed')
    expect(rerun.error).toMatch(/could not apply the new layers to api/)
  })

  it('stops waiting at once when the function can no longer be read, naming the permission', async () => {
    await emulator.close()
    emulator = await startLambdaEmulator({ idleTimeoutMs: 60_000, updateDurationMs: 300 })
    lambda = new LambdaClient({ region, endpoint: emulator.endpoint })
    deps = await publishVersion('deps', 'V = 1\n')
    emulator.createFunction({ name: 'api', runtime: 'python3.12' })
    // The role loses lambda:GetFunctionConfiguration while the update runs.
    lambda.middlewareStack.add(
      (next, context) => async args => {
        const output = await next(args)
        if (context.commandName === 'UpdateFunctionConfigurationCommand') {
          emulator.deny('lambda:GetFunctionConfiguration')
        }
        return output
      },
      { step: 'initialize' }
    )
    const result = await attachToFunction(lambda, 'api', deps, fit, {
      region,
      waiter: { maxWaitTime: 3, minDelay: 0.05, maxDelay: 0.1 }
    })
    expect(result.status).toBe('failed')
    expect(result.error).toMatch(/needs `lambda:GetFunctionConfiguration` on function api/)
    const deniedReads = emulator.calls.filter(
      c => c.operation === 'GetFunctionConfiguration' && c.status === 403
    )
    expect(deniedReads).toHaveLength(1)
  })

  it('names the missing IAM action when the update is denied', async () => {
    emulator.createFunction({ name: 'api', runtime: 'python3.12' })
    emulator.deny('lambda:UpdateFunctionConfiguration')
    const result = await attach('api')
    expect(result.status).toBe('failed')
    expect(result.error).toMatch(/needs `lambda:UpdateFunctionConfiguration` on function api/)
  })
})

/** A small, valid layer zip. */
function layerZip(dir: string, source: string): string {
  const root = mkdtempSync(join(dir, 'zip-'))
  mkdirSync(join(root, 'python'))
  writeFileSync(join(root, 'python', 'deps.py'), source)
  execFileSync('zip', ['-q', '-X', '-r', 'layer.zip', 'python'], { cwd: root })
  return join(root, 'layer.zip')
}
