import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfiguredRetryStrategy } from '@smithy/core/retry'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { startLambdaEmulator, type Emulator } from '../../emulator/lambda-api.js'
import { awsClients, type AwsClients } from '../../src/aws/clients.js'
import { LIMITS } from '../../src/facts.js'
import { sameSet } from '../../src/aws/lineage.js'
import { publishLayer, type LayerRequest, planUpload, s3Location } from '../../src/aws/publish.js'
import { checkLayerRegion, layerArnRegion } from '../../src/names.js'
import { layerZipAt } from '../support/layer-zip.js'
import { targetOf } from '../support/target.js'

vi.mock('@actions/core')

describe('planUpload', () => {
  it('uploads a zip up to the limit directly, even when a bucket is set', () => {
    expect(planUpload(LIMITS.directUploadBytes)).toBe('direct')
    expect(planUpload(1000, 'bucket')).toBe('direct')
  })

  it('sends a bigger zip through S3 when a bucket is set', () => {
    expect(planUpload(LIMITS.directUploadBytes + 1, 'layers-{region}')).toBe('s3')
  })

  it('fails a bigger zip without a bucket, saying to set s3-bucket', () => {
    expect(() => planUpload(60 * 1024 * 1024)).toThrow(
      /60\.0 MB, above the 50\.0 MB limit.*`s3-bucket`/
    )
  })
})

describe('s3Location', () => {
  it('puts the region into the bucket and keys the object by layer and content', () => {
    expect(
      s3Location(
        { s3Bucket: 'layers-{region}', s3Prefix: 'ci/', layerName: 'deps' },
        'eu-west-1',
        'ab12'
      )
    ).toEqual({ bucket: 'layers-eu-west-1', key: 'ci/deps/ab12.zip' })
  })

  it('uses the bare name of a layer given as an ARN', () => {
    const layerName = 'arn:aws:lambda:eu-west-1:123456789012:layer:deps'
    expect(s3Location({ s3Bucket: 'b', layerName }, 'eu-west-1', 'ab12').key).toBe('deps/ab12.zip')
  })
})

describe('layer ARNs and regions', () => {
  const arn = 'arn:aws:lambda:eu-west-1:123456789012:layer:deps'

  it('reads the region of a layer ARN', () => {
    expect(layerArnRegion(arn)).toBe('eu-west-1')
    expect(layerArnRegion('deps')).toBeUndefined()
  })

  it('refuses to publish a layer ARN into another region', () => {
    expect(() => checkLayerRegion(arn, 'us-east-1')).toThrow(/ARN in eu-west-1.*us-east-1/)
    expect(() => checkLayerRegion(arn, 'eu-west-1')).not.toThrow()
    expect(() => checkLayerRegion('deps', 'us-east-1')).not.toThrow()
  })
})

describe('sameSet', () => {
  it('ignores order and repeats', () => {
    expect(sameSet(['arm64', 'x86_64'], ['x86_64', 'arm64', 'arm64'])).toBe(true)
    expect(sameSet(['python3.12'], ['python3.12', 'python3.13'])).toBe(false)
  })
})

// Against the local Lambda API, driven by the real SDK.
describe('publishLayer against the Lambda API', () => {
  let emulator: Emulator
  let clients: AwsClients
  let work: string
  const region = 'us-east-1'
  const request = (zipPath: string, extra: Partial<LayerRequest> = {}): LayerRequest => ({
    layerName: 'deps',
    zip: layerZipAt(zipPath),
    target: targetOf('python3.12', 'x86_64'),
    compatibleRuntimes: ['python3.12'],
    compatibleArchitectures: ['x86_64'],
    skipUnchanged: true,
    ...extra
  })
  const operations = (since = 0) => emulator.calls.slice(since).map(call => call.operation)

  beforeAll(() => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDTEST')
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret')
    work = mkdtempSync(join(tmpdir(), 'publish-test-'))
  })
  afterAll(() => {
    vi.unstubAllEnvs()
    rmSync(work, { recursive: true, force: true })
  })
  beforeEach(async () => {
    emulator = await startLambdaEmulator({ idleTimeoutMs: 60_000 })
    clients = awsClients({ endpoint: emulator.endpoint, retryStrategy: FAST_RETRY })
  })
  afterEach(() => emulator.close())

  it('publishes a first version holding exactly the zip', async () => {
    const zip = layerZip(work, 'VALUE = 1\n')
    const result = await publishLayer(
      clients,
      region,
      request(zip, { description: 'deps for api' })
    )

    expect(result).toMatchObject({
      version: 1,
      published: true,
      layerVersionArn: 'arn:aws:lambda:us-east-1:123456789012:layer:deps:1',
      codeSha256: sha256Base64(zip)
    })
    const [stored] = emulator.layerVersions('deps')
    expect(stored.content.equals(readFileSync(zip))).toBe(true)
    expect(stored.compatibleRuntimes).toEqual(['python3.12'])
    expect(stored.compatibleArchitectures).toEqual(['x86_64'])
    expect(stored.description).toBe('deps for api')
  })

  it('publishes nothing when the newest version already holds the same zip', async () => {
    const zip = layerZip(work, 'VALUE = 1\n')
    await publishLayer(clients, region, request(zip))
    const before = emulator.calls.length

    const rerun = await publishLayer(clients, region, request(zip))

    expect(rerun).toMatchObject({ version: 1, published: false, codeSha256: sha256Base64(zip) })
    expect(operations(before)).not.toContain('PublishLayerVersion')
    expect(emulator.layerVersions('deps')).toHaveLength(1)
  })

  it('publishes a new version when the zip changed', async () => {
    await publishLayer(clients, region, request(layerZip(work, 'VALUE = 1\n')))
    const changed = await publishLayer(clients, region, request(layerZip(work, 'VALUE = 2\n')))
    expect(changed).toMatchObject({ version: 2, published: true })
    expect(emulator.layerVersions('deps')).toHaveLength(2)
  })

  it('publishes a new version when the same zip is meant for other architectures', async () => {
    const zip = layerZip(work, 'VALUE = 1\n')
    await publishLayer(clients, region, request(zip))
    const both = await publishLayer(
      clients,
      region,
      request(zip, { compatibleArchitectures: ['arm64', 'x86_64'] })
    )
    expect(both).toMatchObject({ version: 2, published: true })
  })

  it('reuses its own version when the same layer name also carries a newer arm64 build', async () => {
    const zip = layerZip(work, 'VALUE = 1\n')
    await publishLayer(clients, region, request(zip))
    await publishLayer(
      clients,
      region,
      request(layerZip(work, 'ARM = 1\n'), {
        target: targetOf('python3.12', 'arm64'),
        compatibleArchitectures: ['arm64']
      })
    )
    const rerun = await publishLayer(clients, region, request(zip))
    expect(rerun).toMatchObject({ version: 1, published: false })
    expect(emulator.layerVersions('deps')).toHaveLength(2)
  })

  it('publishes every time when skip-unchanged is off', async () => {
    const zip = layerZip(work, 'VALUE = 1\n')
    await publishLayer(clients, region, request(zip))
    const again = await publishLayer(clients, region, request(zip, { skipUnchanged: false }))
    expect(again).toMatchObject({ version: 2, published: true })
  })

  it('sends a zip above the direct-upload limit through the region’s bucket', async () => {
    const zip = layerZip(work, 'VALUE = 1\n')
    const result = await publishLayer(
      clients,
      'eu-west-1',
      request(zip, { s3Bucket: 'layers-{region}', s3Prefix: 'ci/', directUploadLimit: 64 })
    )

    const key = `layers-eu-west-1/ci/deps/${sha256Hex(zip)}.zip`
    expect(emulator.s3Objects('eu-west-1').get(key)?.equals(readFileSync(zip))).toBe(true)
    expect(result).toMatchObject({ published: true, codeSha256: sha256Base64(zip) })
    expect(emulator.layerVersions('deps', 'eu-west-1')[0].content.equals(readFileSync(zip))).toBe(
      true
    )
  })

  it('survives a throttled and a dropped S3 upload', async () => {
    emulator.inject({ operation: 'PutObject', kind: 'throttle', durationMs: 10 })
    emulator.inject({ operation: 'PutObject', kind: 'drop' })
    const zip = layerZip(work, 'VALUE = 1\n')
    const result = await publishLayer(
      clients,
      region,
      request(zip, { s3Bucket: 'layers', directUploadLimit: 64 })
    )
    expect(result.published).toBe(true)
    expect(emulator.calls.filter(c => c.operation === 'PutObject').map(c => c.status)).toEqual([
      503, 0, 200
    ])
    expect(emulator.layerVersions('deps')[0].codeSha256).toBe(sha256Base64(zip))
  })

  it('says to put {region} in s3-bucket when one bucket serves two regions', async () => {
    const zip = layerZip(work, 'VALUE = 1\n')
    const big = { s3Bucket: 'one-bucket', directUploadLimit: 64 }
    await publishLayer(clients, 'us-east-1', request(zip, big))
    await expect(publishLayer(clients, 'eu-west-1', request(zip, big))).rejects.toThrow(
      /not in eu-west-1.*same region.*\{region\}/
    )
  })

  it('refuses a zip too big for a direct upload without a bucket, before any call', async () => {
    const zip = layerZip(work, 'VALUE = 1\n')
    await expect(
      publishLayer(clients, region, request(zip, { directUploadLimit: 64 }))
    ).rejects.toThrow(/s3-bucket/)
    expect(emulator.calls).toEqual([])
  })

  it('publishes a real zip above 50 MB through S3', async () => {
    const zip = layerZip(work, 'VALUE = 1\n', randomBytes(LIMITS.directUploadBytes + 1024))
    expect(planUpload(statSync(zip).size, 'big')).toBe('s3')
    const result = await publishLayer(clients, region, request(zip, { s3Bucket: 'big' }))
    expect(result.codeSha256).toBe(sha256Base64(zip))
    expect(operations()).toEqual(['ListLayerVersions', 'PutObject', 'PublishLayerVersion'])
  })

  it('publishes to a layer named by its ARN in that ARN’s region', async () => {
    const zip = layerZip(work, 'VALUE = 1\n')
    const layerName = 'arn:aws:lambda:us-east-1:123456789012:layer:deps'
    const result = await publishLayer(clients, region, request(zip, { layerName }))
    expect(result.layerVersionArn).toBe(`${layerName}:1`)
  })
})

const FAST_RETRY = new ConfiguredRetryStrategy(5, () => 10)

/** A small, valid layer zip; `blob` adds a stored (incompressible) data file. */
function layerZip(dir: string, source: string, blob?: Buffer): string {
  const root = mkdtempSync(join(dir, 'zip-'))
  mkdirSync(join(root, 'python'))
  writeFileSync(join(root, 'python', 'deps.py'), source)
  if (blob) writeFileSync(join(root, 'python', 'data.bin'), blob)
  execFileSync('zip', ['-q', '-X', '-0', '-r', 'layer.zip', 'python'], { cwd: root })
  return join(root, 'layer.zip')
}

function sha256Base64(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('base64')
}

function sha256Hex(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex')
}
