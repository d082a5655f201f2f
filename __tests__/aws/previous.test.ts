// Reading the published version for a plan: against the emulator, whose Content.Location
// answers HTTP range requests as S3 does, a 200 MB layer is compared by reading its central
// directory and dist-info files only. The bytes the emulator served are counted.
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { LambdaClient, PublishLayerVersionCommand } from '@aws-sdk/client-lambda'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLambdaEmulator, type Emulator } from '../../emulator/lambda-api.js'
import { compareRegion, rangeSource } from '../../src/aws/previous.js'
import type { LayerManifest } from '../../src/changes.js'
import { findRuntime } from '../../src/facts.js'
import { storedZip } from '../support/stored-zip.js'

const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }
const MB = 1024 * 1024
let emulator: Emulator

beforeAll(async () => {
  emulator = await startLambdaEmulator()
})
afterAll(async () => {
  await emulator?.close()
})

function distribution(name: string, version: string, files: Record<string, Buffer>) {
  const info = `python/${name}-${version}.dist-info`
  return [
    ...Object.entries(files).map(([file, data]) => ({ name: `python/${file}`, data })),
    {
      name: `${info}/METADATA`,
      data: Buffer.from(`Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n\nLong text\n`)
    },
    {
      name: `${info}/WHEEL`,
      data: Buffer.from('Wheel-Version: 1.0\nTag: cp312-cp312-manylinux_2_17_x86_64\n')
    },
    { name: `${info}/RECORD`, data: Buffer.from('x'.repeat(4096)) }
  ]
}

const nothing: LayerManifest = {
  packages: [],
  otherBytes: 0,
  unzippedSize: 0,
  zipSize: 0,
  fileCount: 0
}

describe('reading the published version by range requests', () => {
  it('compares a 200 MB layer reading its central directory and METADATA entries only', async () => {
    const region = 'us-east-1'
    const small = Array.from({ length: 40 }, (_, i) =>
      distribution(`dep${i}`, `1.${i}.0`, { [`dep${i}/__init__.py`]: randomBytes(20_000) })
    ).flat()
    const zip = storedZip([
      ...distribution('bigmodel', '3.0.0', {
        'bigmodel/weights.bin': randomBytes(200 * MB),
        'bigmodel/_native.cpython-312-x86_64-linux-gnu.so': randomBytes(64 * 1024)
      }),
      ...small
    ])
    const s3 = new S3Client({
      region,
      endpoint: emulator.endpoint,
      credentials,
      forcePathStyle: true
    })
    await s3.send(new CreateBucketCommand({ Bucket: 'layers' }))
    await s3.send(new PutObjectCommand({ Bucket: 'layers', Key: 'big.zip', Body: zip }))
    const lambda = new LambdaClient({ region, endpoint: emulator.endpoint, credentials })
    await lambda.send(
      new PublishLayerVersionCommand({
        LayerName: 'big',
        Content: { S3Bucket: 'layers', S3Key: 'big.zip' },
        CompatibleRuntimes: ['python3.12'],
        CompatibleArchitectures: ['x86_64']
      })
    )
    const before = emulator.calls.length

    const result = await compareRegion(lambda, region, {
      layerName: 'big',
      lineage: {
        target: { runtime: findRuntime('python3.12')!, architecture: 'x86_64' },
        compatibleRuntimes: ['python3.12'],
        compatibleArchitectures: ['x86_64']
      },
      after: nothing,
      owners: new Map(),
      functions: []
    })

    expect(result.error).toBeUndefined()
    const removed = result.changes!.packages.filter(p => p.kind === 'removed')
    expect(removed).toHaveLength(41)
    const big = removed.find(p => p.name === 'bigmodel')!
    expect(big.before!.version).toBe('3.0.0')
    // sizes come from the central directory, so the 200 MB entry counts without being read
    expect(big.before!.bytes).toBeGreaterThan(200 * MB)
    expect(removed.find(p => p.name === 'dep7')!.before!.version).toBe('1.7.0')

    const downloads = emulator.calls
      .slice(before)
      .filter(c => c.operation === 'DownloadLayerContent')
    const served = downloads.reduce((sum, call) => sum + (call.bytes ?? 0), 0)
    expect(served).toBe(result.bytesRead)
    console.log(
      `plan against a ${(zip.length / MB).toFixed(1)} MB layer: ${served} bytes in ${downloads.length} range requests`
    )
    expect(served).toBeLessThan(128 * 1024)
    expect(downloads.every(call => call.status === 206)).toBe(true)
  }, 120_000)

  it('refuses a download URL that ignores Range rather than download the whole layer', async () => {
    const { createServer } = await import('node:http')
    const server = createServer((_req, res) => res.end(Buffer.alloc(1000)))
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    const source = rangeSource(`http://127.0.0.1:${port}/layer.zip?X-Amz-Signature=secret`, 1000)
    await expect(source.read(0, 10)).rejects.toThrow(/answered HTTP 200 to a range request/)
    await expect(source.read(0, 10)).rejects.not.toThrow(/secret/)
    server.close()
  })
})
