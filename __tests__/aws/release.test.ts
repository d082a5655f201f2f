// releaseFunction and restoreLayers against the emulator with the real SDK: the races a bundle
// run cannot stage on cue (someone else's update between ours and PublishVersion or rollback).
import { ConfiguredRetryStrategy } from '@smithy/core/retry'
import {
  CreateAliasCommand,
  LambdaClient,
  PublishLayerVersionCommand,
  PublishVersionCommand
} from '@aws-sdk/client-lambda'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { startLambdaEmulator, type Emulator } from '../../emulator/lambda-api.js'
import { releaseFunction, restoreLayers } from '../../src/aws/release.js'
import { parseFunctionRef } from '../../src/names.js'
import { writeZip } from '../support/wheels.js'

vi.mock('@actions/core')

const region = 'us-east-1'
const fit = { runtimes: ['python3.12'], architectures: ['x86_64'] }
const waiter = { maxWaitTime: 20, minDelay: 0.05, maxDelay: 0.2 }
let emulator: Emulator
let lambda: LambdaClient

beforeEach(async () => {
  emulator = await startLambdaEmulator({ idleTimeoutMs: 60_000 })
  lambda = new LambdaClient({
    region,
    endpoint: emulator.endpoint,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
    retryStrategy: new ConfiguredRetryStrategy(5, () => 10)
  })
})
afterEach(async () => {
  await emulator.close()
})

async function layerWith(name: string, files: Record<string, string>): Promise<string> {
  const zip = writeZip(
    Object.entries(files).map(([file, text]) => ({
      path: `python/${file}`,
      data: Buffer.from(text),
      mode: 0o644
    }))
  )
  const out = await lambda.send(
    new PublishLayerVersionCommand({ LayerName: name, Content: { ZipFile: zip } })
  )
  return out.LayerVersionArn!
}

/** `orders` on deps:1 with `live` on version 1, and deps:2 ready to release. */
async function ordersOnLive(code: Record<string, string>, timeout?: number) {
  const v1 = await layerWith('deps', { 'mod.py': 'X = 1\n' })
  const v2 = await layerWith('deps', { 'mod.py': 'X = 2\n' })
  emulator.createFunction({ name: 'orders', runtime: 'python3.12', layers: [v1], code, timeout })
  await lambda.send(new PublishVersionCommand({ FunctionName: 'orders' }))
  await lambda.send(
    new CreateAliasCommand({ FunctionName: 'orders', Name: 'live', FunctionVersion: '1' })
  )
  return { v1, v2 }
}

const IMPORTS_MOD = { 'app.py': 'import mod\n\ndef handler(event, context):\n    return mod.X\n' }

describe('releaseFunction', () => {
  it('never moves the alias when the layers change between the update and PublishVersion', async () => {
    const { v2 } = await ordersOnLive(IMPORTS_MOD)
    const theirs = await layerWith('theirs', { 'other.py': '' })
    emulator.inject({ operation: 'PublishVersion', kind: 'layers-changed', layers: [theirs] })
    const result = await releaseFunction(lambda, parseFunctionRef('orders:live'), v2, fit, {
      region,
      waiter
    })
    expect(result.status).toBe('failed')
    expect(result.error).toMatch(/kept changing between reading and updating it/)
    const fn = emulator.getFunction('orders')!
    expect(fn.aliases.get('live')?.functionVersion).toBe('1')
    expect([...fn.versions.values()].map(v => v.layers)).not.toContainEqual([theirs])
    expect(result.release?.alias).toEqual({ name: 'live', moved: false })
  })

  it('counts a smoke test that outlives the function timeout as failed and restores the layers', async () => {
    const { v1, v2 } = await ordersOnLive(
      { 'app.py': 'import time\n\ndef handler(event, context):\n    time.sleep(5)\n' },
      1
    )
    const result = await releaseFunction(lambda, parseFunctionRef('orders:live'), v2, fit, {
      region,
      waiter,
      smokePayload: '{}'
    })
    expect(result.status).toBe('failed')
    expect(result.error).toMatch(/^smoke test failed: Sandbox\.Timedout: .*timed out after 1\.00/)
    expect(result.release?.smoke).toMatchObject({ passed: false, qualifier: '2' })
    expect(result.release?.rolledBack).toBe(true)
    expect(result.after).toEqual([v1])
    const fn = emulator.getFunction('orders')!
    expect(fn.layers).toEqual([v1])
    expect(fn.aliases.get('live')?.functionVersion).toBe('1')
  })

  it('updates, smoke-tests and reports a function without an alias on $LATEST, publishing nothing', async () => {
    const { v2 } = await ordersOnLive(IMPORTS_MOD)
    const result = await releaseFunction(lambda, parseFunctionRef('orders'), v2, fit, {
      region,
      waiter,
      smokePayload: '{}'
    })
    expect(result.status).toBe('updated')
    expect(result.release?.smoke).toMatchObject({ passed: true, qualifier: '$LATEST' })
    expect(emulator.getFunction('orders')!.versions.size).toBe(1)
  })

  it('names both the smoke test and the race when someone else changed the layers before the rollback', async () => {
    const { v2 } = await ordersOnLive({
      'app.py': 'import gone\n\ndef handler(event, context):\n    return 1\n'
    })
    const theirs = await layerWith('theirs', { 'other.py': '' })
    emulator.inject({ operation: 'Invoke', kind: 'layers-changed', layers: [theirs] })
    const result = await releaseFunction(lambda, parseFunctionRef('orders:live'), v2, fit, {
      region,
      waiter,
      smokePayload: '{}'
    })
    expect(result.status).toBe('failed')
    expect(result.error).toMatch(
      /^smoke test failed: Runtime\.ImportModuleError: Unable to import module 'app': No module named 'gone'\. Its layers were changed by someone else .* Alias live was not moved\.$/
    )
    const fn = emulator.getFunction('orders')!
    expect(fn.layers).toEqual([theirs])
    expect(fn.aliases.get('live')?.functionVersion).toBe('1')
  })
})

describe('restoreLayers', () => {
  it('leaves alone a function whose layers someone else changed after our update', async () => {
    const { v1, v2 } = await ordersOnLive(IMPORTS_MOD)
    const theirs = await layerWith('theirs', { 'other.py': '' })
    emulator.getFunction('orders')!.layers = [theirs]
    await expect(restoreLayers(lambda, 'orders', [v1], [v2], { region, waiter })).rejects.toThrow(
      /changed by someone else after the update .*not restored/
    )
    expect(emulator.getFunction('orders')!.layers).toEqual([theirs])
  })
})
