// The Lambda API emulator, driven only through the real AWS SDK clients: if these pass, the
// action's own AWS code talks to the emulator exactly as it would talk to AWS.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { request } from 'node:http'
import { createReadStream } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import * as zlib from 'node:zlib'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  AddLayerVersionPermissionCommand,
  CreateAliasCommand,
  GetAliasCommand,
  InvokeCommand,
  paginateListFunctions,
  PublishVersionCommand,
  UpdateAliasCommand,
  DeleteLayerVersionCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  GetLayerVersionByArnCommand,
  GetLayerVersionCommand,
  GetLayerVersionPolicyCommand,
  InvalidParameterValueException,
  LambdaClient,
  ListFunctionsCommand,
  ListLayerVersionsCommand,
  paginateListLayerVersions,
  PreconditionFailedException,
  PublishLayerVersionCommand,
  RemoveLayerVersionPermissionCommand,
  ResourceConflictException,
  ResourceNotFoundException,
  Runtime,
  ServiceException,
  TooManyRequestsException,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdated,
  waitUntilFunctionUpdatedV2,
  type PublishLayerVersionCommandInput
} from '@aws-sdk/client-lambda'
import {
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client
} from '@aws-sdk/client-s3'
import {
  GetParameterCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient
} from '@aws-sdk/client-ssm'
import { startLambdaEmulator, type Emulator, type Fault } from './lambda-api.js'

const ACCOUNT = '123456789012'
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' }

let emulator: Emulator

beforeEach(async () => {
  emulator = await startLambdaEmulator()
})

afterEach(async () => {
  await emulator.close()
})

function lambda(region = 'us-east-1', maxAttempts?: number): LambdaClient {
  return new LambdaClient({ region, endpoint: emulator.endpoint, credentials, maxAttempts })
}

// No forcePathStyle: with an IP-address endpoint the SDK addresses buckets as paths by itself.
function s3(region = 'us-east-1'): S3Client {
  return new S3Client({ region, endpoint: emulator.endpoint, credentials })
}

/** The error a promise rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise
  } catch (error) {
    return error as Error & Record<string, unknown>
  }
  throw new Error('expected the call to fail, but it succeeded')
}

function status(error: Record<string, unknown>): number | undefined {
  return (error.$metadata as { httpStatusCode?: number } | undefined)?.httpStatusCode
}

// A minimal zip writer: stored entries, or deflated zeros of any size that stay tiny zipped.
interface ZipEntry {
  name: string
  method: 0 | 8
  data: Buffer
  crc: number
  size: number
}

function stored(name: string, content: string | Buffer): ZipEntry {
  const data = Buffer.from(content)
  return { name, method: 0, data, crc: zlib.crc32(data), size: data.length }
}

/** `mib` MiB of zeros, deflated as repeated full-flush blocks (about 1 KB per MiB). */
function zeros(name: string, mib: number): ZipEntry {
  const chunk = Buffer.alloc(1 << 20)
  const block = zlib.deflateRawSync(chunk, { finishFlush: zlib.constants.Z_FULL_FLUSH })
  let crc = 0
  for (let i = 0; i < mib; i++) crc = zlib.crc32(chunk, crc)
  const data = Buffer.concat([...Array<Buffer>(mib).fill(block), Buffer.from([0x03, 0x00])])
  return { name, method: 8, data, crc, size: mib << 20 }
}

function zipOf(...entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = []
  const central: Buffer[] = []
  let offset = 0
  for (const entry of entries) {
    const name = Buffer.from(entry.name)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt16LE(entry.method, 8)
    local.writeUInt32LE(entry.crc, 14)
    local.writeUInt32LE(entry.data.length, 18)
    local.writeUInt32LE(entry.size, 22)
    local.writeUInt16LE(name.length, 26)
    const header = Buffer.alloc(46)
    header.writeUInt32LE(0x02014b50, 0)
    header.writeUInt16LE(0x031e, 4)
    header.writeUInt16LE(20, 6)
    header.writeUInt16LE(entry.method, 10)
    header.writeUInt32LE(entry.crc, 16)
    header.writeUInt32LE(entry.data.length, 20)
    header.writeUInt32LE(entry.size, 24)
    header.writeUInt16LE(name.length, 28)
    header.writeUInt32LE((0o100644 << 16) >>> 0, 38)
    header.writeUInt32LE(offset, 42)
    locals.push(local, name, entry.data)
    central.push(header, name)
    offset += local.length + name.length + entry.data.length
  }
  const directory = Buffer.concat(central)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(entries.length, 8)
  end.writeUInt16LE(entries.length, 10)
  end.writeUInt32LE(directory.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, directory, end])
}

const layerZip = (text = 'x = 1\n') => zipOf(stored('python/mod.py', text))
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('base64')

async function publish(
  client: LambdaClient,
  input: Partial<PublishLayerVersionCommandInput> = {}
): Promise<{ arn: string; version: number }> {
  const out = await client.send(
    new PublishLayerVersionCommand({
      LayerName: 'deps',
      Content: { ZipFile: layerZip() },
      CompatibleRuntimes: ['python3.12'],
      CompatibleArchitectures: ['x86_64'],
      ...input
    })
  )
  return { arn: out.LayerVersionArn!, version: out.Version! }
}

describe('PublishLayerVersion', () => {
  it('creates versions 1, 2, … with the base64 SHA-256 and size of the zip', async () => {
    const zip = layerZip('a = 1\n')
    const first = await lambda().send(
      new PublishLayerVersionCommand({
        LayerName: 'deps',
        Description: 'numpy 2.1',
        LicenseInfo: 'MIT',
        Content: { ZipFile: zip },
        CompatibleRuntimes: ['python3.12', 'python3.13'],
        CompatibleArchitectures: ['arm64']
      })
    )
    const second = await publish(lambda())

    expect(first.$metadata.httpStatusCode).toBe(201)
    expect(first).toMatchObject({
      LayerArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:layer:deps`,
      LayerVersionArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:layer:deps:1`,
      Version: 1,
      Description: 'numpy 2.1',
      LicenseInfo: 'MIT',
      CompatibleRuntimes: ['python3.12', 'python3.13'],
      CompatibleArchitectures: ['arm64'],
      Content: { CodeSha256: sha256(zip), CodeSize: zip.length }
    })
    expect(first.CreatedDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/)
    expect(second.version).toBe(2)
    const versions = emulator.layerVersions('deps')
    expect(versions.map(v => v.version)).toEqual([1, 2])
    expect(versions[0]).toMatchObject({ codeSha256: sha256(zip), unzippedSize: 6 })
  })

  it('never hands out a deleted version number again', async () => {
    await publish(lambda())
    await publish(lambda())
    await lambda().send(new DeleteLayerVersionCommand({ LayerName: 'deps', VersionNumber: 2 }))
    expect((await publish(lambda())).version).toBe(3)
    expect(emulator.layerVersions('deps').map(v => v.version)).toEqual([1, 3])
  })

  it('accepts the layer ARN as LayerName, but not an ARN of another account', async () => {
    const arn = `arn:aws:lambda:us-east-1:${ACCOUNT}:layer:deps`
    expect((await publish(lambda(), { LayerName: arn })).arn).toBe(`${arn}:1`)
    const error = await failure(
      publish(lambda(), { LayerName: 'arn:aws:lambda:us-east-1:999999999999:layer:deps' })
    )
    expect(error).toBeInstanceOf(ResourceNotFoundException)
  })

  const sixteenRuntimes = Object.values(Runtime).slice(0, 16)
  // Loosely typed: the SDK's types would refuse some of these values before they are sent.
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a name with a space', { LayerName: 'my deps' }, /'layerName'.*regular expression/],
    [
      'a 141-character name',
      { LayerName: 'a'.repeat(141) },
      /'layerName'.*less than or equal to 140/
    ],
    ['a 257-character description', { Description: 'd'.repeat(257) }, /'description'/],
    ['a 513-character licence', { LicenseInfo: 'l'.repeat(513) }, /'licenseInfo'/],
    ['16 runtimes', { CompatibleRuntimes: sixteenRuntimes }, /'compatibleRuntimes'.*15/],
    ['an unknown runtime', { CompatibleRuntimes: ['python3.99'] }, /enum value set/],
    [
      'three architectures',
      { CompatibleArchitectures: ['x86_64', 'arm64', 'x86_64'] },
      /'compatibleArchitectures'.*less than or equal to 2/
    ],
    ['an unknown architecture', { CompatibleArchitectures: ['aarch64'] }, /x86_64, arm64/]
  ])('rejects %s with ValidationException', async (_, input, message) => {
    const error = await failure(
      publish(lambda(), input as Partial<PublishLayerVersionCommandInput>)
    )
    expect(error.name).toBe('ValidationException')
    expect(status(error)).toBe(400)
    expect(error.message).toMatch(message)
    expect(emulator.layerVersions('deps')).toEqual([])
  })

  it('rejects content that is not a zip', async () => {
    const error = await failure(
      publish(lambda(), { Content: { ZipFile: Buffer.from('not a zip at all') } })
    )
    expect(error).toBeInstanceOf(InvalidParameterValueException)
    expect(error.message).toMatch(/Could not unzip/)
  })

  it('rejects content with neither ZipFile nor S3 location', async () => {
    const error = await failure(publish(lambda(), { Content: {} }))
    expect(error).toBeInstanceOf(InvalidParameterValueException)
  })

  it('rejects a layer larger than 250 MB unzipped, however small the zip', async () => {
    const zip = zipOf(zeros('python/blob.bin', 251))
    expect(zip.length).toBeLessThan(1 << 20)
    const error = await failure(publish(lambda(), { Content: { ZipFile: zip } }))
    expect(error).toBeInstanceOf(InvalidParameterValueException)
    expect(error.message).toMatch(/262144000/)
  })

  it('answers 413 RequestEntityTooLargeException to a direct upload of 50 MB', async () => {
    const error = await failure(
      publish(lambda('us-east-1', 1), { Content: { ZipFile: Buffer.alloc(50 * 1024 * 1024) } })
    )
    expect(error.name).toBe('RequestEntityTooLargeException')
    expect(status(error)).toBe(413)
    expect(error.message).toMatch(/69905067 bytes for the PublishLayerVersion operation/)
  })
})

describe('publishing from S3', () => {
  it('publishes an object uploaded to a bucket in the same region', async () => {
    const zip = zipOf(stored('python/a.py', 'a'), zeros('python/zeros.bin', 3))
    await s3('eu-west-1').send(
      new PutObjectCommand({ Bucket: 'layer-staging', Key: 'layers/deps.zip', Body: zip })
    )
    const out = await lambda('eu-west-1').send(
      new PublishLayerVersionCommand({
        LayerName: 'deps',
        Content: { S3Bucket: 'layer-staging', S3Key: 'layers/deps.zip' }
      })
    )
    expect(out.Content).toMatchObject({ CodeSha256: sha256(zip), CodeSize: zip.length })
    expect(emulator.layerVersions('deps', 'eu-west-1')[0]!.unzippedSize).toBe(1 + 3 * (1 << 20))
  })

  it('names the S3 problem when the object is missing, elsewhere, or unreadable', async () => {
    await s3('eu-west-1').send(
      new PutObjectCommand({ Bucket: 'eu-bucket', Key: 'deps.zip', Body: layerZip() })
    )
    const from = (bucket: string, key: string, region = 'eu-west-1') =>
      failure(
        lambda(region).send(
          new PublishLayerVersionCommand({
            LayerName: 'deps',
            Content: { S3Bucket: bucket, S3Key: key }
          })
        )
      )
    expect((await from('eu-bucket', 'other.zip')).message).toMatch(/NoSuchKey/)
    expect((await from('no-such-bucket', 'deps.zip')).message).toMatch(/NoSuchBucket/)
    const elsewhere = await from('eu-bucket', 'deps.zip', 'us-east-1')
    expect(elsewhere).toBeInstanceOf(InvalidParameterValueException)
    expect(elsewhere.message).toMatch(/PermanentRedirect.*eu-west-1/)
    emulator.deny('s3:GetObject')
    expect((await from('eu-bucket', 'deps.zip')).message).toMatch(/denied by S3/)
  })
})

describe('S3 objects', () => {
  it('stores a buffer and a streamed (aws-chunked, 100-continue) upload byte for byte', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'emulator-'))
    try {
      const big = Buffer.alloc(3 * 1024 * 1024 + 7, 'layer-bytes')
      const file = path.join(dir, 'layer.zip')
      await writeFile(file, big)
      const client = s3()
      await client.send(new PutObjectCommand({ Bucket: 'b', Key: 'small.zip', Body: 'hello' }))
      await client.send(
        new PutObjectCommand({
          Bucket: 'b',
          Key: 'dir/big layer.zip',
          Body: createReadStream(file),
          ContentLength: big.length
        })
      )
      expect(emulator.s3Objects().get('b/small.zip')?.toString()).toBe('hello')
      expect(emulator.s3Objects().get('b/dir/big layer.zip')?.equals(big)).toBe(true)

      const head = await client.send(
        new HeadObjectCommand({ Bucket: 'b', Key: 'dir/big layer.zip' })
      )
      expect(head.ContentLength).toBe(big.length)
      const got = await client.send(new GetObjectCommand({ Bucket: 'b', Key: 'dir/big layer.zip' }))
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(big)).toBe(true)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('reports missing objects the way S3 does', async () => {
    await s3().send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' }))
    expect(
      await failure(s3().send(new GetObjectCommand({ Bucket: 'b', Key: 'nope' })))
    ).toBeInstanceOf(NoSuchKey)
    expect(
      await failure(s3().send(new HeadObjectCommand({ Bucket: 'b', Key: 'nope' })))
    ).toBeInstanceOf(NotFound)
  })

  it('also serves virtual-hosted requests to bucket.localhost', async () => {
    await s3().send(new PutObjectCommand({ Bucket: 'vhost', Key: 'a/b.zip', Body: 'zip bytes' }))
    const { port } = new URL(emulator.endpoint)
    const response = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/a/b.zip',
          headers: {
            host: `vhost.localhost:${port}`,
            authorization:
              'AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/s3/aws4_request, ' +
              'SignedHeaders=host, Signature=0'
          }
        },
        res => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', chunk => (body += chunk))
          res.on('end', () => resolve({ status: res.statusCode, body }))
        }
      )
      req.on('error', reject)
      req.end()
    })
    expect(response).toEqual({ status: 200, body: 'zip bytes' })
  })

  it('refuses a body whose checksum does not match', async () => {
    const error = await failure(
      s3().send(
        new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'hello', ChecksumCRC32: 'AAAAAA==' })
      )
    )
    expect(error.name).toBe('BadDigest')
    expect(emulator.s3Objects().has('b/k')).toBe(false)
  })
})

describe('ListLayerVersions', () => {
  it('lists newest first, without CodeSha256, in pages that follow NextMarker', async () => {
    for (let i = 0; i < 5; i++) await publish(lambda())
    const first = await lambda().send(
      new ListLayerVersionsCommand({ LayerName: 'deps', MaxItems: 2 })
    )
    expect(first.LayerVersions!.map(v => v.Version)).toEqual([5, 4])
    expect(first.LayerVersions![0]).not.toHaveProperty('CodeSha256')
    expect(first.LayerVersions![0]).not.toHaveProperty('Content')
    expect(first.NextMarker).toBeDefined()

    const all: number[] = []
    for await (const page of paginateListLayerVersions(
      { client: lambda(), pageSize: 2 },
      { LayerName: 'deps' }
    )) {
      all.push(...page.LayerVersions!.map(v => v.Version!))
    }
    expect(all).toEqual([5, 4, 3, 2, 1])
  })

  it('filters by compatible runtime and architecture', async () => {
    await publish(lambda(), {
      CompatibleRuntimes: ['python3.11'],
      CompatibleArchitectures: ['x86_64']
    })
    await publish(lambda(), {
      CompatibleRuntimes: ['python3.12'],
      CompatibleArchitectures: ['arm64']
    })
    await publish(lambda(), {
      CompatibleRuntimes: ['python3.12'],
      CompatibleArchitectures: ['x86_64']
    })
    const list = (input: {
      CompatibleRuntime?: Runtime
      CompatibleArchitecture?: 'x86_64' | 'arm64'
    }) =>
      lambda()
        .send(new ListLayerVersionsCommand({ LayerName: 'deps', ...input }))
        .then(out => out.LayerVersions!.map(v => v.Version))
    expect(await list({ CompatibleRuntime: 'python3.12' })).toEqual([3, 2])
    expect(await list({ CompatibleArchitecture: 'x86_64' })).toEqual([3, 1])
    expect(
      await list({ CompatibleRuntime: 'python3.12', CompatibleArchitecture: 'arm64' })
    ).toEqual([2])
  })

  it('lists a version that names no runtime or architecture only when unfiltered', async () => {
    // AWS lists under a filter only "versions that indicate that they're compatible".
    await publish(lambda(), { CompatibleRuntimes: undefined, CompatibleArchitectures: undefined })
    await publish(lambda())
    const list = (input: { CompatibleRuntime?: Runtime; CompatibleArchitecture?: 'x86_64' }) =>
      lambda()
        .send(new ListLayerVersionsCommand({ LayerName: 'deps', ...input }))
        .then(out => out.LayerVersions!.map(v => v.Version))
    expect(await list({})).toEqual([2, 1])
    expect(await list({ CompatibleArchitecture: 'x86_64' })).toEqual([2])
    expect(await list({ CompatibleRuntime: 'python3.12' })).toEqual([2])
  })

  it('pages through filtered versions only', async () => {
    for (const architecture of ['x86_64', 'arm64', 'x86_64', 'arm64', 'x86_64'] as const) {
      await publish(lambda(), { CompatibleArchitectures: [architecture] })
    }
    const all: number[] = []
    for await (const page of paginateListLayerVersions(
      { client: lambda(), pageSize: 1 },
      { LayerName: 'deps', CompatibleArchitecture: 'arm64' }
    )) {
      all.push(...page.LayerVersions!.map(v => v.Version!))
    }
    expect(all).toEqual([4, 2])
  })

  it('returns an empty list for a layer that was never published', async () => {
    const out = await lambda().send(new ListLayerVersionsCommand({ LayerName: 'nothing' }))
    expect(out.LayerVersions).toEqual([])
  })

  it.each([0, 51])('rejects MaxItems %i', async maxItems => {
    const error = await failure(
      lambda().send(new ListLayerVersionsCommand({ LayerName: 'deps', MaxItems: maxItems }))
    )
    expect(error.name).toBe('ValidationException')
    expect(error.message).toMatch(/'maxItems'/)
  })
})

describe('GetLayerVersion and DeleteLayerVersion', () => {
  it('returns the content hash, size and a Location that serves the zip', async () => {
    const zip = layerZip('b = 2\n')
    await publish(lambda(), { Content: { ZipFile: zip } })
    const out = await lambda().send(
      new GetLayerVersionCommand({ LayerName: 'deps', VersionNumber: 1 })
    )
    expect(out.Content).toMatchObject({ CodeSha256: sha256(zip), CodeSize: zip.length })
    const download = await fetch(out.Content!.Location!)
    expect(Buffer.from(await download.arrayBuffer()).equals(zip)).toBe(true)

    const byArn = await lambda().send(new GetLayerVersionByArnCommand({ Arn: out.LayerVersionArn }))
    expect(byArn.Content!.CodeSha256).toBe(sha256(zip))
  })

  it('serves byte ranges of the zip at Location as S3 does, and counts the bytes sent', async () => {
    const zip = layerZip('c = 3\n'.repeat(50))
    await publish(lambda(), { Content: { ZipFile: zip } })
    const { Content } = await lambda().send(
      new GetLayerVersionCommand({ LayerName: 'deps', VersionNumber: 1 })
    )
    const get = (range: string) => fetch(Content!.Location!, { headers: { Range: range } })

    const middle = await get('bytes=10-19')
    expect(middle.status).toBe(206)
    expect(middle.headers.get('content-range')).toBe(`bytes 10-19/${zip.length}`)
    expect(Buffer.from(await middle.arrayBuffer()).equals(zip.subarray(10, 20))).toBe(true)

    const tail = await get('bytes=-22')
    expect(tail.status).toBe(206)
    expect(Buffer.from(await tail.arrayBuffer()).equals(zip.subarray(zip.length - 22))).toBe(true)

    const open = await get(`bytes=${zip.length - 5}-`)
    expect(Buffer.from(await open.arrayBuffer()).equals(zip.subarray(zip.length - 5))).toBe(true)

    const past = await get(`bytes=${zip.length}-`)
    expect(past.status).toBe(416)
    expect(past.headers.get('content-range')).toBe(`bytes */${zip.length}`)
    expect(await past.text()).toContain('<Code>InvalidRange</Code>')

    const downloads = emulator.calls.filter(c => c.operation === 'DownloadLayerContent')
    expect(downloads.slice(0, 3).map(c => c.bytes)).toEqual([10, 22, 5])
  })

  it('serves the whole zip when the Range header is one S3 ignores (several ranges)', async () => {
    const zip = layerZip('d = 4\n')
    await publish(lambda(), { Content: { ZipFile: zip } })
    const { Content } = await lambda().send(
      new GetLayerVersionCommand({ LayerName: 'deps', VersionNumber: 1 })
    )
    const both = await fetch(Content!.Location!, { headers: { Range: 'bytes=0-1,4-5' } })
    expect(both.status).toBe(200)
    expect(both.headers.get('accept-ranges')).toBe('bytes')
    expect(Buffer.from(await both.arrayBuffer()).equals(zip)).toBe(true)
  })

  it('deletes idempotently with 204, after which the version is not found', async () => {
    await publish(lambda())
    const remove = () =>
      lambda().send(new DeleteLayerVersionCommand({ LayerName: 'deps', VersionNumber: 1 }))
    expect((await remove()).$metadata.httpStatusCode).toBe(204)
    expect((await remove()).$metadata.httpStatusCode).toBe(204)
    const error = await failure(
      lambda().send(new GetLayerVersionCommand({ LayerName: 'deps', VersionNumber: 1 }))
    )
    expect(error).toBeInstanceOf(ResourceNotFoundException)
    expect(status(error)).toBe(404)
  })
})

describe('layer version permissions', () => {
  const grant = (input: Record<string, string | number>) =>
    lambda().send(
      new AddLayerVersionPermissionCommand({
        LayerName: 'deps',
        VersionNumber: 1,
        StatementId: 'share',
        Action: 'lambda:GetLayerVersion',
        Principal: '210987654321',
        ...input
      })
    )

  it('adds, reads and removes a statement for another account', async () => {
    await publish(lambda())
    const added = await grant({})
    expect(added.$metadata.httpStatusCode).toBe(201)
    expect(JSON.parse(added.Statement!)).toEqual({
      Sid: 'share',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::210987654321:root' },
      Action: 'lambda:GetLayerVersion',
      Resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:layer:deps:1`
    })
    const policy = await lambda().send(
      new GetLayerVersionPolicyCommand({ LayerName: 'deps', VersionNumber: 1 })
    )
    expect(JSON.parse(policy.Policy!).Statement).toHaveLength(1)
    expect(policy.RevisionId).toBe(added.RevisionId)
    expect(emulator.layerVersions('deps')[0]!.policy.statements[0]!.Sid).toBe('share')

    await lambda().send(
      new RemoveLayerVersionPermissionCommand({
        LayerName: 'deps',
        VersionNumber: 1,
        StatementId: 'share'
      })
    )
    const gone = await failure(
      lambda().send(new GetLayerVersionPolicyCommand({ LayerName: 'deps', VersionNumber: 1 }))
    )
    expect(gone).toBeInstanceOf(ResourceNotFoundException)
  })

  it('shares with an organisation only through the "*" principal', async () => {
    await publish(lambda())
    const org = await grant({ StatementId: 'org', Principal: '*', OrganizationId: 'o-abcdef1234' })
    expect(JSON.parse(org.Statement!)).toMatchObject({
      Principal: '*',
      Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abcdef1234' } }
    })
    expect(
      await failure(grant({ StatementId: 'x', OrganizationId: 'o-abcdef1234' }))
    ).toBeInstanceOf(InvalidParameterValueException)
  })

  it('refuses a statement id that is already used', async () => {
    await publish(lambda())
    await grant({})
    const error = await failure(grant({ Principal: '*' }))
    expect(error).toBeInstanceOf(ResourceConflictException)
    expect(status(error)).toBe(409)
  })

  it.each<[string, Record<string, string>]>([
    ['an action other than lambda:GetLayerVersion', { Action: 'lambda:InvokeFunction' }],
    ['a principal that is not an account or *', { Principal: '12345' }],
    ['a statement id with a space', { StatementId: 'my share' }],
    ['an organisation id without o- prefix', { Principal: '*', OrganizationId: 'abcdef1234' }]
  ])('rejects %s with ValidationException', async (_, input) => {
    await publish(lambda())
    expect((await failure(grant(input))).name).toBe('ValidationException')
  })

  it('refuses a stale RevisionId and a missing version', async () => {
    await publish(lambda())
    await grant({})
    expect(await failure(grant({ StatementId: 'two', RevisionId: 'stale' }))).toBeInstanceOf(
      PreconditionFailedException
    )
    expect(await failure(grant({ VersionNumber: 9 }))).toBeInstanceOf(ResourceNotFoundException)
  })

  it('removes a statement only under the current RevisionId, and a missing one is not found', async () => {
    await publish(lambda())
    await grant({})
    await grant({ StatementId: 'two', Principal: '*' })
    const remove = (StatementId: string, RevisionId?: string) =>
      lambda().send(
        new RemoveLayerVersionPermissionCommand({
          LayerName: 'deps',
          VersionNumber: 1,
          StatementId,
          RevisionId
        })
      )
    expect(await failure(remove('share', 'stale'))).toBeInstanceOf(PreconditionFailedException)
    const { RevisionId } = await lambda().send(
      new GetLayerVersionPolicyCommand({ LayerName: 'deps', VersionNumber: 1 })
    )
    expect((await remove('share', RevisionId)).$metadata.httpStatusCode).toBe(204)
    expect(await failure(remove('share'))).toBeInstanceOf(ResourceNotFoundException)
    const policy = await lambda().send(
      new GetLayerVersionPolicyCommand({ LayerName: 'deps', VersionNumber: 1 })
    )
    expect(JSON.parse(policy.Policy!).Statement.map((s: { Sid: string }) => s.Sid)).toEqual(['two'])
    expect(policy.RevisionId).not.toBe(RevisionId)
  })
})

describe('functions', () => {
  it('reports runtime, architecture, layers with sizes, revision and state', async () => {
    const { arn } = await publish(lambda())
    const fn = emulator.createFunction({
      name: 'orders',
      runtime: 'python3.12',
      architecture: 'arm64',
      layers: [arn],
      codeSize: 5000
    })
    const { Configuration: config } = await lambda().send(
      new GetFunctionCommand({ FunctionName: 'orders' })
    )
    expect(config).toMatchObject({
      FunctionName: 'orders',
      FunctionArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:orders`,
      Runtime: 'python3.12',
      Architectures: ['arm64'],
      Layers: [{ Arn: arn, CodeSize: layerZip().length }],
      RevisionId: fn.revisionId,
      State: 'Active',
      LastUpdateStatus: 'Successful',
      CodeSize: 5000
    })
    const byArn = await lambda().send(new GetFunctionConfigurationCommand({ FunctionName: fn.arn }))
    expect(byArn.FunctionName).toBe('orders')
  })

  it('answers ResourceNotFoundException for an unknown function', async () => {
    const error = await failure(lambda().send(new GetFunctionCommand({ FunctionName: 'ghost' })))
    expect(error).toBeInstanceOf(ResourceNotFoundException)
    expect(error.message).toMatch(/function:ghost/)
  })

  it('replaces the whole ordered layer list and changes the RevisionId', async () => {
    const a = await publish(lambda(), { LayerName: 'a' })
    const b = await publish(lambda(), { LayerName: 'b' })
    const fn = emulator.createFunction({ name: 'orders', runtime: 'python3.12', layers: [a.arn] })
    const before = fn.revisionId
    const out = await lambda().send(
      new UpdateFunctionConfigurationCommand({ FunctionName: 'orders', Layers: [b.arn, a.arn] })
    )
    expect(out.Layers!.map(layer => layer.Arn)).toEqual([b.arn, a.arn])
    expect(out.RevisionId).not.toBe(before)
    expect(emulator.getFunction('orders')!.layers).toEqual([b.arn, a.arn])

    await lambda().send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'orders',
        Description: 'no layer change'
      })
    )
    expect(emulator.getFunction('orders')!.layers).toEqual([b.arn, a.arn])
    await lambda().send(
      new UpdateFunctionConfigurationCommand({ FunctionName: 'orders', Layers: [] })
    )
    expect(emulator.getFunction('orders')!.layers).toEqual([])
  })

  it('refuses a sixth layer', async () => {
    const arns: string[] = []
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f'])
      arns.push((await publish(lambda(), { LayerName: name })).arn)
    emulator.createFunction({ name: 'orders', runtime: 'python3.12' })
    const update = (layers: string[]) =>
      lambda().send(
        new UpdateFunctionConfigurationCommand({ FunctionName: 'orders', Layers: layers })
      )
    await update(arns.slice(0, 5))
    const error = await failure(update(arns))
    expect(error).toBeInstanceOf(InvalidParameterValueException)
    expect(error.message).toBe('Cannot reference more than 5 layers.')
    expect(emulator.getFunction('orders')!.layers).toEqual(arns.slice(0, 5))
  })

  it('refuses two versions of one layer, and versions that do not exist here', async () => {
    const one = await publish(lambda())
    const two = await publish(lambda())
    const deleted = await publish(lambda())
    await lambda().send(
      new DeleteLayerVersionCommand({ LayerName: 'deps', VersionNumber: deleted.version })
    )
    const elsewhere = await publish(lambda('eu-west-1'))
    emulator.createFunction({ name: 'orders', runtime: 'python3.12' })
    const update = (layers: string[]) =>
      failure(
        lambda().send(
          new UpdateFunctionConfigurationCommand({ FunctionName: 'orders', Layers: layers })
        )
      )
    expect((await update([one.arn, two.arn])).message).toMatch(
      /Two different versions of the same layer/
    )
    for (const arn of [`${one.arn.slice(0, -2)}:9`, deleted.arn, elsewhere.arn]) {
      const error = await update([arn])
      expect(error).toBeInstanceOf(InvalidParameterValueException)
      expect(error.message).toBe(`Layer version ${arn} does not exist.`)
    }
    expect((await update(['arn:aws:lambda:us-east-1:1:layer:x'])).name).toBe('ValidationException')
  })

  it("keeps another account's layer the function already has, but cannot add a new one", async () => {
    const foreign = 'arn:aws:lambda:us-east-1:999999999999:layer:shared:4'
    const mine = await publish(lambda())
    emulator.createFunction({ name: 'orders', runtime: 'python3.12', layers: [foreign] })
    const update = (layers: string[]) =>
      lambda().send(
        new UpdateFunctionConfigurationCommand({ FunctionName: 'orders', Layers: layers })
      )
    await update([foreign, mine.arn])
    expect(emulator.getFunction('orders')!.layers).toEqual([foreign, mine.arn])
    const other = 'arn:aws:lambda:us-east-1:999999999999:layer:other:1'
    expect(await failure(update([foreign, other]))).toBeInstanceOf(InvalidParameterValueException)
  })

  it('counts layers unzipped against the 250 MB limit with the function code', async () => {
    const zip = zipOf(zeros('python/data.bin', 2))
    const { arn } = await publish(lambda(), { Content: { ZipFile: zip } })
    emulator.createFunction({
      name: 'fits',
      runtime: 'python3.12',
      codeSize: 262_144_000 - (2 << 20)
    })
    emulator.createFunction({
      name: 'full',
      runtime: 'python3.12',
      codeSize: 262_144_000 - (1 << 20)
    })
    await lambda().send(
      new UpdateFunctionConfigurationCommand({ FunctionName: 'fits', Layers: [arn] })
    )
    const error = await failure(
      lambda().send(new UpdateFunctionConfigurationCommand({ FunctionName: 'full', Layers: [arn] }))
    )
    expect(error).toBeInstanceOf(InvalidParameterValueException)
    expect(error.message).toBe(
      'Function code combined with layers exceeds the maximum allowed size of 262144000 bytes. ' +
        `The actual size is ${262_144_000 + (1 << 20)} bytes.`
    )
  })

  it('refuses an update with a stale RevisionId and accepts the current one', async () => {
    const fn = emulator.createFunction({ name: 'orders', runtime: 'python3.12' })
    const update = (revisionId: string) =>
      lambda().send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: 'orders',
          Layers: [],
          RevisionId: revisionId
        })
      )
    const error = await failure(update('not-the-revision'))
    expect(error).toBeInstanceOf(PreconditionFailedException)
    expect(status(error)).toBe(412)
    await update(fn.revisionId)
  })

  it('reports a function still being created as Pending until it is Active', async () => {
    emulator.createFunction({ name: 'fresh', runtime: 'python3.12', pendingMs: 600 })
    const client = lambda()
    const error = await failure(
      client.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'fresh', Layers: [] }))
    )
    expect(error).toBeInstanceOf(ResourceConflictException)
    expect(error.message).toMatch(/state: Pending/)
    const active = await waitUntilFunctionActiveV2(
      { client, maxWaitTime: 30, minDelay: 0.2, maxDelay: 0.5 },
      { FunctionName: 'fresh' }
    )
    expect(active.state).toBe('SUCCESS')
  })

  describe('while an update is in progress', () => {
    beforeEach(async () => {
      await emulator.close()
      emulator = await startLambdaEmulator({ updateDurationMs: 1500 })
    })

    it('answers ResourceConflictException to a second update', async () => {
      const fn = emulator.createFunction({ name: 'orders', runtime: 'python3.12' })
      const update = () =>
        lambda().send(
          new UpdateFunctionConfigurationCommand({ FunctionName: 'orders', Layers: [] })
        )
      expect((await update()).LastUpdateStatus).toBe('InProgress')
      const error = await failure(update())
      expect(error).toBeInstanceOf(ResourceConflictException)
      expect(error.message).toContain(`An update is in progress for resource: ${fn.arn}`)
    })

    it('lets waitUntilFunctionUpdatedV2 and waitUntilFunctionUpdated wait it out', async () => {
      emulator.createFunction({ name: 'orders', runtime: 'python3.12' })
      const client = lambda()
      const update = () =>
        client.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'orders', Layers: [] }))
      await update()
      const v2 = await waitUntilFunctionUpdatedV2(
        { client, maxWaitTime: 30, minDelay: 0.2, maxDelay: 0.5 },
        { FunctionName: 'orders' }
      )
      expect(v2.state).toBe('SUCCESS')
      expect(emulator.getFunction('orders')!.lastUpdateStatus).toBe('Successful')

      await update()
      const v1 = await waitUntilFunctionUpdated(
        { client, maxWaitTime: 30, minDelay: 0.2, maxDelay: 0.5 },
        { FunctionName: 'orders' }
      )
      expect(v1.state).toBe('SUCCESS')
      expect(emulator.calls.filter(c => c.operation === 'GetFunction').length).toBeGreaterThan(1)
    })

    it('lets the waiter report an update that ends Failed', async () => {
      emulator.createFunction({ name: 'orders', runtime: 'python3.12' })
      emulator.inject({ operation: 'UpdateFunctionConfiguration', kind: 'update-failed' })
      const client = lambda()
      await client.send(
        new UpdateFunctionConfigurationCommand({ FunctionName: 'orders', Layers: [] })
      )
      const error = await failure(
        waitUntilFunctionUpdatedV2(
          { client, maxWaitTime: 30, minDelay: 0.2, maxDelay: 0.5 },
          { FunctionName: 'orders' }
        )
      )
      expect(error.message).toMatch(/FAILURE/)
      expect(emulator.getFunction('orders')!.lastUpdateStatus).toBe('Failed')
    })
  })
})

describe('versions and aliases', () => {
  it('publishes $LATEST as numbered versions that keep their layers, and reuses an unchanged one', async () => {
    const a = await publish(lambda(), { LayerName: 'a' })
    const b = await publish(lambda(), { LayerName: 'b' })
    const fn = emulator.createFunction({ name: 'orders', runtime: 'python3.12', layers: [a.arn] })
    const v1 = await lambda().send(new PublishVersionCommand({ FunctionName: 'orders' }))
    expect(v1).toMatchObject({
      Version: '1',
      FunctionArn: `${fn.arn}:1`,
      Layers: [{ Arn: a.arn }]
    })
    expect(v1.$metadata.httpStatusCode).toBe(201)
    const again = await lambda().send(new PublishVersionCommand({ FunctionName: 'orders' }))
    expect(again.Version).toBe('1')

    await lambda().send(
      new UpdateFunctionConfigurationCommand({ FunctionName: 'orders', Layers: [b.arn] })
    )
    const v2 = await lambda().send(new PublishVersionCommand({ FunctionName: 'orders' }))
    expect(v2.Version).toBe('2')
    const old = await lambda().send(
      new GetFunctionConfigurationCommand({ FunctionName: 'orders', Qualifier: '1' })
    )
    expect(old.Layers!.map(layer => layer.Arn)).toEqual([a.arn])
  })

  it('refuses to publish against a stale RevisionId or another CodeSha256, or while updating', async () => {
    const fn = emulator.createFunction({ name: 'orders', runtime: 'python3.12' })
    const stale = await failure(
      lambda().send(new PublishVersionCommand({ FunctionName: 'orders', RevisionId: 'old' }))
    )
    expect(stale).toBeInstanceOf(PreconditionFailedException)
    const sha = await failure(
      lambda().send(new PublishVersionCommand({ FunctionName: 'orders', CodeSha256: 'AAAA' }))
    )
    expect(sha).toBeInstanceOf(InvalidParameterValueException)
    fn.updateInProgressUntil = Date.now() + 10_000
    const busy = await failure(lambda().send(new PublishVersionCommand({ FunctionName: 'orders' })))
    expect(busy).toBeInstanceOf(ResourceConflictException)
    expect(fn.versions.size).toBe(0)
  })

  it('creates, reads and moves an alias, guarded by its RevisionId', async () => {
    emulator.createFunction({ name: 'orders', runtime: 'python3.12' })
    await lambda().send(new PublishVersionCommand({ FunctionName: 'orders' }))
    await lambda().send(
      new UpdateFunctionConfigurationCommand({ FunctionName: 'orders', Description: 'v2' })
    )
    await lambda().send(new PublishVersionCommand({ FunctionName: 'orders' }))
    const created = await lambda().send(
      new CreateAliasCommand({ FunctionName: 'orders', Name: 'live', FunctionVersion: '1' })
    )
    expect(created).toMatchObject({
      AliasArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:orders:live`,
      FunctionVersion: '1'
    })
    const conflict = await failure(
      lambda().send(
        new CreateAliasCommand({ FunctionName: 'orders', Name: 'live', FunctionVersion: '1' })
      )
    )
    expect(conflict).toBeInstanceOf(ResourceConflictException)
    const stale = await failure(
      lambda().send(
        new UpdateAliasCommand({
          FunctionName: 'orders',
          Name: 'live',
          FunctionVersion: '2',
          RevisionId: 'old'
        })
      )
    )
    expect(stale).toBeInstanceOf(PreconditionFailedException)
    const moved = await lambda().send(
      new UpdateAliasCommand({
        FunctionName: 'orders',
        Name: 'live',
        FunctionVersion: '2',
        RevisionId: created.RevisionId
      })
    )
    expect(moved.FunctionVersion).toBe('2')
    const read = await lambda().send(new GetAliasCommand({ FunctionName: 'orders', Name: 'live' }))
    expect(read).toMatchObject({ FunctionVersion: '2', RevisionId: moved.RevisionId })
    const missing = await failure(
      lambda().send(new GetAliasCommand({ FunctionName: 'orders', Name: 'beta' }))
    )
    expect(missing).toBeInstanceOf(ResourceNotFoundException)
    const noVersion = await failure(
      lambda().send(
        new UpdateAliasCommand({ FunctionName: 'orders', Name: 'live', FunctionVersion: '9' })
      )
    )
    expect(noVersion).toBeInstanceOf(ResourceNotFoundException)
    const byAlias = await lambda().send(
      new GetFunctionConfigurationCommand({ FunctionName: 'orders:live' })
    )
    expect(byAlias).toMatchObject({ Version: '2', Description: 'v2' })
  })
})

describe('Invoke', () => {
  const decode = (payload: Uint8Array | undefined) =>
    JSON.parse(Buffer.from(payload ?? []).toString('utf8')) as Record<string, unknown>

  it("runs the handler in CPython with the function's layers on sys.path", async () => {
    const { arn } = await publish(lambda(), { Content: { ZipFile: layerZip('x = 41\n') } })
    emulator.createFunction({
      name: 'orders',
      runtime: 'python3.12',
      layers: [arn],
      code: {
        'app.py':
          'import mod\n\ndef handler(event, context):\n    return {"x": mod.x + event["add"]}\n'
      }
    })
    const out = await lambda().send(
      new InvokeCommand({ FunctionName: 'orders', Payload: JSON.stringify({ add: 1 }) })
    )
    expect(out.StatusCode).toBe(200)
    expect(out.FunctionError).toBeUndefined()
    expect(out.ExecutedVersion).toBe('$LATEST')
    expect(decode(out.Payload)).toEqual({ x: 42 })
  })

  it('answers an import failure at init as Runtime.ImportModuleError, Unhandled', async () => {
    emulator.createFunction({
      name: 'orders',
      runtime: 'python3.12',
      code: { 'app.py': 'import mod\n\ndef handler(event, context):\n    return 1\n' }
    })
    const out = await lambda().send(new InvokeCommand({ FunctionName: 'orders' }))
    expect(out.StatusCode).toBe(200)
    expect(out.FunctionError).toBe('Unhandled')
    expect(decode(out.Payload)).toMatchObject({
      errorType: 'Runtime.ImportModuleError',
      errorMessage: "Unable to import module 'app': No module named 'mod'"
    })
  })

  it("answers a handler's exception with its class and message, and a timeout as Sandbox.Timedout", async () => {
    emulator.createFunction({
      name: 'orders',
      runtime: 'python3.12',
      timeout: 1,
      code: {
        'app.py':
          'import time\n\ndef handler(event, context):\n    if event.get("sleep"):\n        time.sleep(5)\n    raise KeyError("total")\n'
      }
    })
    const thrown = await lambda().send(new InvokeCommand({ FunctionName: 'orders' }))
    expect(thrown.FunctionError).toBe('Unhandled')
    expect(decode(thrown.Payload)).toMatchObject({ errorType: 'KeyError', errorMessage: "'total'" })
    const slow = await lambda().send(
      new InvokeCommand({ FunctionName: 'orders', Payload: JSON.stringify({ sleep: true }) })
    )
    expect(slow.FunctionError).toBe('Unhandled')
    expect(decode(slow.Payload)).toMatchObject({ errorType: 'Sandbox.Timedout' })
  })

  it('runs the version an alias points at, with that version’s layers', async () => {
    const good = await publish(lambda(), { Content: { ZipFile: layerZip('x = 1\n') } })
    const other = await publish(lambda(), {
      LayerName: 'other',
      Content: { ZipFile: zipOf(stored('python/other.py', 'y = 1\n')) }
    })
    emulator.createFunction({
      name: 'orders',
      runtime: 'python3.12',
      layers: [good.arn],
      code: { 'app.py': 'import mod\n\ndef handler(event, context):\n    return mod.x\n' }
    })
    await lambda().send(new PublishVersionCommand({ FunctionName: 'orders' }))
    await lambda().send(
      new CreateAliasCommand({ FunctionName: 'orders', Name: 'live', FunctionVersion: '1' })
    )
    await lambda().send(
      new UpdateFunctionConfigurationCommand({ FunctionName: 'orders', Layers: [other.arn] })
    )
    const live = await lambda().send(
      new InvokeCommand({ FunctionName: 'orders', Qualifier: 'live' })
    )
    expect(live.ExecutedVersion).toBe('1')
    expect(decode(live.Payload)).toBe(1)
    const latest = await lambda().send(new InvokeCommand({ FunctionName: 'orders' }))
    expect(latest.FunctionError).toBe('Unhandled')
  })
})

describe('ListFunctions', () => {
  it('lists every function of the region in pages that follow NextMarker', async () => {
    for (const name of ['c', 'a', 'b', 'e', 'd']) {
      emulator.createFunction({ name, runtime: 'python3.12' })
    }
    emulator.createFunction({ name: 'elsewhere', runtime: 'python3.12', region: 'eu-west-1' })
    const first = await lambda().send(new ListFunctionsCommand({ MaxItems: 2 }))
    expect(first.Functions!.map(fn => fn.FunctionName)).toEqual(['a', 'b'])
    expect(first.NextMarker).toBeDefined()
    const names: string[] = []
    for await (const page of paginateListFunctions({ client: lambda(), pageSize: 2 }, {})) {
      names.push(...page.Functions!.map(fn => fn.FunctionName!))
    }
    expect(names).toEqual(['a', 'b', 'c', 'd', 'e'])
    const tooMany = await failure(lambda().send(new ListFunctionsCommand({ MaxItems: 10_001 })))
    expect(tooMany.name).toBe('ValidationException')
  })
})

describe('faults', () => {
  it.each<[Fault['kind'], number]>([
    ['throttle', 429],
    ['server-error', 500],
    ['unavailable', 503],
    ['drop', 0]
  ])("the SDK's default retry rides out one %s (status %i)", async (kind, failedStatus) => {
    emulator.inject({ operation: 'PublishLayerVersion', kind, durationMs: 10 })
    expect((await publish(lambda())).version).toBe(1)
    expect(emulator.calls.map(call => call.status)).toEqual([failedStatus, 201])
  })

  it('lets `after` matching requests through before playing the fault', async () => {
    emulator.inject({ operation: 'PublishLayerVersion', kind: 'server-error', after: 1 })
    await publish(lambda())
    await publish(lambda())
    expect(emulator.calls.map(call => call.status)).toEqual([201, 500, 201])
  })

  it('fails with the mapped exception once the retries run out', async () => {
    emulator.inject({ operation: 'PublishLayerVersion', kind: 'server-error', times: 3 })
    const error = await failure(publish(lambda()))
    expect(error).toBeInstanceOf(ServiceException)
    expect((error.$metadata as { attempts: number }).attempts).toBe(3)
    expect(emulator.layerVersions('deps')).toEqual([])
  })

  it('sends Retry-After with a throttle', async () => {
    emulator.inject({ operation: 'GetFunction', kind: 'throttle', durationMs: 2000 })
    emulator.createFunction({ name: 'orders', runtime: 'python3.12' })
    const error = await failure(
      lambda('us-east-1', 1).send(new GetFunctionCommand({ FunctionName: 'orders' }))
    )
    expect(error).toBeInstanceOf(TooManyRequestsException)
    expect(error.retryAfterSeconds).toBe('2')
  })

  it('answers a conflict with ResourceConflictException, which the SDK does not retry', async () => {
    emulator.createFunction({ name: 'orders', runtime: 'python3.12' })
    emulator.inject({ operation: 'UpdateFunctionConfiguration', kind: 'conflict' })
    const error = await failure(
      lambda().send(new UpdateFunctionConfigurationCommand({ FunctionName: 'orders', Layers: [] }))
    )
    expect(error).toBeInstanceOf(ResourceConflictException)
    expect(emulator.calls).toHaveLength(1)
  })

  it('changes the RevisionId under a caller that read it (stale-revision)', async () => {
    emulator.createFunction({ name: 'orders', runtime: 'python3.12' })
    const read = await lambda().send(new GetFunctionCommand({ FunctionName: 'orders' }))
    emulator.inject({ operation: 'UpdateFunctionConfiguration', kind: 'stale-revision' })
    const error = await failure(
      lambda().send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: 'orders',
          Layers: [],
          RevisionId: read.Configuration!.RevisionId
        })
      )
    )
    expect(error).toBeInstanceOf(PreconditionFailedException)
  })

  it('makes a function busy for durationMs (in-progress)', async () => {
    emulator.createFunction({ name: 'orders', runtime: 'python3.12' })
    emulator.inject({ operation: 'GetFunction', kind: 'in-progress', durationMs: 60_000 })
    const read = await lambda().send(new GetFunctionCommand({ FunctionName: 'orders' }))
    expect(read.Configuration!.LastUpdateStatus).toBe('InProgress')
    expect(
      await failure(
        lambda().send(
          new UpdateFunctionConfigurationCommand({ FunctionName: 'orders', Layers: [] })
        )
      )
    ).toBeInstanceOf(ResourceConflictException)
  })

  it('fires only for the named region and function, and only `times` times', async () => {
    emulator.createFunction({ name: 'a', runtime: 'python3.12' })
    emulator.createFunction({ name: 'b', runtime: 'python3.12' })
    emulator.inject({ operation: 'GetFunction', kind: 'conflict', function: 'b', times: 2 })
    emulator.inject({ operation: 'PublishLayerVersion', kind: 'conflict', region: 'eu-west-1' })
    await publish(lambda())
    await lambda().send(new GetFunctionCommand({ FunctionName: 'a' }))
    const get = () => failure(lambda().send(new GetFunctionCommand({ FunctionName: 'b' })))
    expect(await get()).toBeInstanceOf(ResourceConflictException)
    expect(await get()).toBeInstanceOf(ResourceConflictException)
    await lambda().send(new GetFunctionCommand({ FunctionName: 'b' }))
    expect(await failure(publish(lambda('eu-west-1')))).toBeInstanceOf(ResourceConflictException)
  })

  it('applies an update and then loses its response (drop-response)', async () => {
    emulator.createFunction({ name: 'orders', runtime: 'python3.12' })
    const { arn } = await publish(lambda())
    const read = await lambda().send(new GetFunctionCommand({ FunctionName: 'orders' }))
    emulator.inject({ operation: 'UpdateFunctionConfiguration', kind: 'drop-response' })
    const error = await failure(
      lambda('us-east-1', 1).send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: 'orders',
          Layers: [arn],
          RevisionId: read.Configuration!.RevisionId
        })
      )
    )
    expect(status(error)).toBeUndefined()
    // The caller saw no answer, yet Lambda holds the update, under a new RevisionId.
    expect(emulator.getFunction('orders')?.layers).toEqual([arn])
    expect(emulator.getFunction('orders')?.revisionId).not.toBe(read.Configuration!.RevisionId)
    expect(emulator.calls.at(-1)).toMatchObject({
      operation: 'UpdateFunctionConfiguration',
      status: 0
    })
  })

  it('sets a function’s layers before another request is handled (layers-changed)', async () => {
    const fn = emulator.createFunction({ name: 'orders', runtime: 'python3.12' })
    const { arn } = await publish(lambda())
    const revision = fn.revisionId
    emulator.inject({
      operation: 'ListLayerVersions',
      kind: 'layers-changed',
      function: 'orders',
      layers: [arn]
    })
    const listed = await lambda().send(new ListLayerVersionsCommand({ LayerName: 'deps' }))
    expect(listed.LayerVersions).toHaveLength(1)
    expect(fn.layers).toEqual([arn])
    expect(fn.revisionId).not.toBe(revision)
  })

  it('plays S3 faults too', async () => {
    emulator.inject({ operation: 'PutObject', kind: 'unavailable' })
    await s3().send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' }))
    expect(emulator.calls.map(c => [c.operation, c.status])).toEqual([
      ['PutObject', 503],
      ['PutObject', 200]
    ])
  })

  it('denies a Lambda or S3 action in one region only (access-denied)', async () => {
    emulator.inject({
      operation: 'PublishLayerVersion',
      kind: 'access-denied',
      region: 'eu-west-1'
    })
    emulator.inject({ operation: 'PutObject', kind: 'access-denied' })
    const denied = await failure(publish(lambda('eu-west-1')))
    expect(denied.name).toBe('AccessDeniedException')
    expect(denied.message).toContain(
      `not authorized to perform: lambda:PublishLayerVersion on resource: arn:aws:lambda:eu-west-1:${ACCOUNT}:layer:deps`
    )
    expect((await publish(lambda('us-east-1'))).version).toBe(1)
    expect(emulator.layerVersions('deps', 'eu-west-1')).toEqual([])
    const s3Denied = await failure(
      s3().send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' }))
    )
    expect(s3Denied.name).toBe('AccessDenied')
  })
})

describe('authentication, access and regions', () => {
  it('refuses requests without a SigV4 Authorization header', async () => {
    const response = await fetch(`${emulator.endpoint}/2018-10-31/layers/deps/versions`)
    expect(response.status).toBe(403)
    expect(response.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException')
    expect(await response.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' })
  })

  it('answers AccessDeniedException to a denied action, naming it', async () => {
    emulator.deny('lambda:PublishLayerVersion')
    const error = await failure(publish(lambda()))
    expect(error.name).toBe('AccessDeniedException')
    expect(status(error)).toBe(403)
    expect(error.message).toMatch(/not authorized to perform: lambda:PublishLayerVersion/)
    expect(
      (await lambda().send(new ListLayerVersionsCommand({ LayerName: 'deps' }))).LayerVersions
    ).toEqual([])

    emulator.deny('s3:PutObject')
    const s3Error = await failure(
      s3().send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' }))
    )
    expect(s3Error.name).toBe('AccessDenied')
  })

  it('keeps each region apart', async () => {
    const east = await publish(lambda('us-east-1'))
    const west = await publish(lambda('eu-west-1'))
    expect(east).toEqual({ arn: `arn:aws:lambda:us-east-1:${ACCOUNT}:layer:deps:1`, version: 1 })
    expect(west).toEqual({ arn: `arn:aws:lambda:eu-west-1:${ACCOUNT}:layer:deps:1`, version: 1 })
    await lambda('eu-west-1').send(
      new DeleteLayerVersionCommand({ LayerName: 'deps', VersionNumber: 1 })
    )
    expect(emulator.layerVersions('deps', 'us-east-1')).toHaveLength(1)
    expect(emulator.layerVersions('deps', 'eu-west-1')).toHaveLength(0)
    expect(emulator.calls.map(c => c.region)).toEqual(['us-east-1', 'eu-west-1', 'eu-west-1'])
  })

  it('is reached through AWS_ENDPOINT_URL_LAMBDA and AWS_ENDPOINT_URL_S3 alone', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_LAMBDA', emulator.endpoint)
    vi.stubEnv('AWS_ENDPOINT_URL_S3', emulator.endpoint)
    try {
      await new S3Client({ region: 'us-west-2', credentials }).send(
        new PutObjectCommand({ Bucket: 'staging', Key: 'deps.zip', Body: layerZip() })
      )
      const out = await new LambdaClient({ region: 'us-west-2', credentials }).send(
        new PublishLayerVersionCommand({
          LayerName: 'deps',
          Content: { S3Bucket: 'staging', S3Key: 'deps.zip' }
        })
      )
      expect(out.LayerVersionArn).toBe(`arn:aws:lambda:us-west-2:${ACCOUNT}:layer:deps:1`)
    } finally {
      vi.unstubAllEnvs()
    }
  })
})

describe('SSM Parameter Store (JSON 1.1)', () => {
  function ssm(region = 'us-east-1', maxAttempts?: number): SSMClient {
    return new SSMClient({ region, endpoint: emulator.endpoint, credentials, maxAttempts })
  }
  const put = (client: SSMClient, Name: string, Value: string, Overwrite?: boolean) =>
    client.send(new PutParameterCommand({ Name, Value, Type: 'String', Overwrite }))

  it('creates a parameter at version 1 and GetParameter returns it with its ARN', async () => {
    const written = await put(ssm(), '/layers/deps', 'arn:one')
    expect(written.Version).toBe(1)
    const { Parameter } = await ssm().send(new GetParameterCommand({ Name: '/layers/deps' }))
    expect(Parameter).toMatchObject({
      Name: '/layers/deps',
      Type: 'String',
      Value: 'arn:one',
      Version: 1,
      ARN: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/layers/deps`,
      DataType: 'text'
    })
    expect(Parameter?.LastModifiedDate).toBeInstanceOf(Date)
    expect(emulator.calls.map(c => c.operation)).toEqual(['PutParameter', 'GetParameter'])
  })

  it('refuses to replace a parameter without Overwrite, and counts versions with it', async () => {
    await put(ssm(), 'deps-arn', 'arn:one')
    const refused = await failure(put(ssm(), 'deps-arn', 'arn:two'))
    expect(refused).toBeInstanceOf(ParameterAlreadyExists)
    expect(status(refused)).toBe(400)
    expect(emulator.ssmParameter('deps-arn')?.value).toBe('arn:one')

    expect((await put(ssm(), 'deps-arn', 'arn:two', true)).Version).toBe(2)
    expect((await put(ssm(), 'deps-arn', 'arn:two', true)).Version).toBe(3)
    expect(emulator.ssmParameter('deps-arn')).toMatchObject({ value: 'arn:two', version: 3 })
  })

  it('answers ParameterNotFound for a missing parameter, and keeps each region apart', async () => {
    await put(ssm('eu-west-1'), '/layers/deps', 'arn:eu')
    const missing = await failure(
      ssm('us-east-1').send(new GetParameterCommand({ Name: '/layers/deps' }))
    )
    expect(missing).toBeInstanceOf(ParameterNotFound)
    expect(emulator.ssmParameter('/layers/deps', 'eu-west-1')?.arn).toBe(
      `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/layers/deps`
    )
  })

  it('refuses names SSM refuses with ValidationException, storing nothing', async () => {
    for (const name of ['/layers/with space', 'awsLayer', '/SSM/deps', 'layers/deps', '/a//b']) {
      const error = await failure(put(ssm(), name, 'arn'))
      expect(error.name, name).toBe('ValidationException')
      expect(status(error)).toBe(400)
    }
    const deep = await failure(put(ssm(), `/${Array(16).fill('l').join('/')}`, 'arn'))
    expect(deep.name).toBe('HierarchyLevelLimitExceededException')
    const long = await failure(put(ssm(), `/${'x'.repeat(1000)}`, 'arn'))
    expect(long.name).toBe('ValidationException')
    expect(long.message).toMatch(/1011/)
    expect(emulator.ssmParameter('layers/deps')).toBeUndefined()
  })

  it('speaks JSON 1.1: POST / with X-Amz-Target, errors as __type and message', async () => {
    const client = ssm()
    const seen: Record<string, string>[] = []
    client.middlewareStack.add(
      next => async args => {
        const request = args.request as {
          method: string
          path: string
          headers: Record<string, string>
        }
        seen.push({ method: request.method, path: request.path, ...request.headers })
        return next(args)
      },
      { step: 'finalizeRequest' }
    )
    await put(client, '/layers/deps', 'arn:one')
    expect(seen[0]).toMatchObject({
      method: 'POST',
      path: '/',
      'x-amz-target': 'AmazonSSM.PutParameter',
      'content-type': 'application/x-amz-json-1.1'
    })
    const response = await fetch(emulator.endpoint, {
      method: 'POST',
      headers: {
        'X-Amz-Target': 'AmazonSSM.PutParameter',
        'Content-Type': 'application/x-amz-json-1.1',
        Authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDTEST/20261130/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=0'
      },
      body: JSON.stringify({ Name: '/layers/deps', Value: 'arn:two', Type: 'String' })
    })
    expect(response.status).toBe(400)
    expect(response.headers.get('content-type')).toBe('application/x-amz-json-1.1')
    expect(await response.json()).toEqual({
      __type: 'ParameterAlreadyExists',
      message: expect.stringContaining('overwrite')
    })
  })

  it('answers AccessDeniedException naming ssm:PutParameter and the parameter ARN', async () => {
    emulator.deny('ssm:PutParameter')
    const error = await failure(put(ssm(), '/layers/deps', 'arn:one'))
    expect(error.name).toBe('AccessDeniedException')
    expect(error.message).toContain(
      `not authorized to perform: ssm:PutParameter on resource: arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/layers/deps`
    )
    expect(emulator.ssmParameter('/layers/deps')).toBeUndefined()
    emulator.allow('ssm:PutParameter')
    expect((await put(ssm(), '/layers/deps', 'arn:one')).Version).toBe(1)
  })

  it('plays the access-denied fault in one region only, and a throttle the SDK retries', async () => {
    emulator.inject({ operation: 'PutParameter', kind: 'access-denied', region: 'eu-west-1' })
    emulator.inject({ operation: 'PutParameter', kind: 'throttle', region: 'us-east-1' })
    const denied = await failure(put(ssm('eu-west-1'), '/layers/deps', 'arn:eu'))
    expect(denied.name).toBe('AccessDeniedException')
    expect(denied.message).toContain(`arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/layers/deps`)
    expect((await put(ssm('us-east-1'), '/layers/deps', 'arn:us')).Version).toBe(1)
    expect(emulator.calls.map(c => `${c.region} ${c.status}`)).toEqual([
      'eu-west-1 400',
      'us-east-1 400',
      'us-east-1 200'
    ])
    // once: the fault is spent
    expect((await put(ssm('eu-west-1'), '/layers/deps', 'arn:eu')).Version).toBe(1)
  })

  it('is reached through AWS_ENDPOINT_URL_SSM alone', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_SSM', emulator.endpoint)
    try {
      const out = await new SSMClient({ region: 'us-west-2', credentials }).send(
        new PutParameterCommand({ Name: '/layers/deps', Value: 'arn', Type: 'String' })
      )
      expect(out.Version).toBe(1)
      expect(emulator.ssmParameter('/layers/deps', 'us-west-2')?.value).toBe('arn')
    } finally {
      vi.unstubAllEnvs()
    }
  })
})

describe('lifetime', () => {
  it('stops by itself after the idle timeout', async () => {
    const idle = await startLambdaEmulator({ idleTimeoutMs: 50 })
    await idle.closed
    expect(await failure(fetch(idle.endpoint))).toBeInstanceOf(Error)
  })

  it('runs standalone from the command line with functions given as flags', async () => {
    const cli = spawn(
      path.resolve('node_modules/.bin/tsx'),
      [
        'emulator/cli.ts',
        '--function',
        'orders:python3.12:arm64',
        '--function',
        'eu:python3.13:x86_64:eu-west-1'
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] }
    )
    try {
      let output = ''
      cli.stdout.setEncoding('utf8')
      while (!/http:\/\/127\.0\.0\.1:\d+/.test(output)) {
        const [chunk] = (await once(cli.stdout, 'data')) as [string]
        output += chunk
      }
      const endpoint = /http:\/\/127\.0\.0\.1:\d+/.exec(output)![0]
      const client = (region: string) => new LambdaClient({ region, endpoint, credentials })
      const orders = await client('us-east-1').send(
        new GetFunctionCommand({ FunctionName: 'orders' })
      )
      expect(orders.Configuration).toMatchObject({
        Runtime: 'python3.12',
        Architectures: ['arm64']
      })
      const eu = await client('eu-west-1').send(new GetFunctionCommand({ FunctionName: 'eu' }))
      expect(eu.Configuration!.Runtime).toBe('python3.13')
    } finally {
      cli.kill('SIGINT')
      await once(cli, 'exit')
    }
  })
})
