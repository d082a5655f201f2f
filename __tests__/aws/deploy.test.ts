import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfiguredRetryStrategy } from '@smithy/core/retry'
import * as core from '@actions/core'
import { AddLayerVersionPermissionCommand } from '@aws-sdk/client-lambda'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { startLambdaEmulator, type Emulator } from '../../emulator/lambda-api.js'
import { ACTION_VERSION, awsClients, defaultRegion } from '../../src/aws/clients.js'
import { planCleanup } from '../../src/aws/cleanup.js'
import {
  deployLayer,
  versionUse,
  type DeployPlan,
  type DeployResult
} from '../../src/aws/deploy.js'
import { deployOutputs } from '../../src/report/outputs.js'
import { deploySummary } from '../../src/report/summary.js'
import { layerZipAt } from '../support/layer-zip.js'
import { targetOf } from '../support/target.js'
import { ACTION_NAME } from '../../src/facts.js'
import { mapLimit } from '../../src/concurrency.js'
import { parseShareWith } from '../../src/aws/share.js'

vi.mock('@actions/core')

const ACCOUNT = '123456789012'
const LAYER = `arn:aws:lambda:us-east-1:${ACCOUNT}:layer:deps`

describe('the AWS clients', () => {
  it('carry the action name and the package version in the user agent', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
    expect(ACTION_VERSION).toBe(pkg.version)
    const client = awsClients().lambda('us-east-1')
    expect(client.config.customUserAgent).toEqual([[ACTION_NAME, ACTION_VERSION]])
  })

  it('take the default region from AWS_REGION, then AWS_DEFAULT_REGION, else say how to set one', async () => {
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/config')
    vi.stubEnv('AWS_PROFILE', 'none')
    try {
      vi.stubEnv('AWS_REGION', 'ap-southeast-2')
      vi.stubEnv('AWS_DEFAULT_REGION', 'eu-central-1')
      expect(await defaultRegion()).toBe('ap-southeast-2')
      delete process.env.AWS_REGION
      expect(await defaultRegion()).toBe('eu-central-1')
      delete process.env.AWS_DEFAULT_REGION
      await expect(defaultRegion()).rejects.toThrow(/`regions` input.*AWS_REGION/)
    } finally {
      vi.unstubAllEnvs()
    }
  })

  it('are created once per region', () => {
    const clients = awsClients()
    expect(clients.lambda('us-east-1')).toBe(clients.lambda('us-east-1'))
    expect(clients.lambda('eu-west-1')).not.toBe(clients.lambda('us-east-1'))
  })
})

describe('parseShareWith', () => {
  it('turns accounts, organizations and public into grants with stable statement ids', () => {
    expect(parseShareWith(['111122223333', 'o-abcdef1234', 'public', '111122223333'])).toEqual([
      { statementId: 'layer-share-111122223333', principal: '111122223333' },
      { statementId: 'layer-share-o-abcdef1234', principal: '*', organizationId: 'o-abcdef1234' },
      { statementId: 'layer-share-public', principal: '*' }
    ])
  })

  it('refuses anything else, naming it', () => {
    expect(() => parseShareWith(['everyone'])).toThrow(
      /^share-with: "everyone" is not accepted; use a 12-digit account id/
    )
    expect(() => parseShareWith(['12345'])).toThrow(/"12345"/)
  })
})

describe('planCleanup', () => {
  const own = (...versions: number[]) =>
    versions.map(version => ({
      version,
      ours: true,
      compatibleRuntimes: ['python3.12'],
      compatibleArchitectures: ['x86_64']
    }))

  it('deletes versions older than the newest N', () => {
    const plan = planCleanup({
      versions: own(1, 2, 3, 4, 5),
      keep: 2,
      current: 5,
      inUse: new Map()
    })
    expect(plan.deleted).toEqual([3, 2, 1])
    expect(plan.kept.map(k => k.version)).toEqual([5, 4])
  })

  it('keeps an old version a named function still uses, saying which', () => {
    const plan = planCleanup({
      versions: own(1, 2, 3, 4),
      keep: 1,
      current: 4,
      inUse: new Map([[2, ['billing']]])
    })
    expect(plan.deleted).toEqual([3, 1])
    expect(plan.kept).toContainEqual({ version: 2, reason: 'still used by billing' })
  })

  it('never deletes the version this run reused, even when it is not among the newest', () => {
    const plan = planCleanup({ versions: own(1, 2, 3), keep: 1, current: 1, inUse: new Map() })
    expect(plan.deleted).toEqual([2])
    expect(plan.kept.map(k => k.version)).toEqual([3, 1])
  })

  it('deletes nothing old when some function could not be read', () => {
    const plan = planCleanup({
      versions: own(1, 2, 3),
      keep: 1,
      current: 3,
      inUse: new Map(),
      unknownUse: 'layers of api unknown'
    })
    expect(plan.deleted).toEqual([])
  })

  it("keeps another build's versions, saying whose, and does not count them among the newest", () => {
    const widened = {
      version: 3,
      ours: false,
      compatibleRuntimes: ['python3.12', 'python3.13'],
      compatibleArchitectures: ['x86_64']
    }
    const plan = planCleanup({
      versions: [...own(1, 2, 4), widened],
      keep: 2,
      current: 4,
      inUse: new Map()
    })
    expect(plan.deleted).toEqual([1])
    expect(plan.kept).toEqual([
      { version: 4, reason: 'the version this run published or reused' },
      {
        version: 3,
        reason: "published for python3.12, python3.13 on x86_64 (another build's lineage)"
      },
      { version: 2, reason: 'among the newest 2' }
    ])
  })
})

describe('versionUse', () => {
  it('counts the layers after an update, and before a failed one', () => {
    const use = versionUse(LAYER, [
      {
        function: 'a',
        region: 'us-east-1',
        before: [`${LAYER}:1`],
        after: [`${LAYER}:3`],
        status: 'updated'
      },
      { function: 'b', region: 'us-east-1', before: [`${LAYER}:2`], after: [], status: 'failed' },
      {
        function: 'c',
        region: 'us-east-1',
        before: [`${LAYER}-2:1`],
        after: [`${LAYER}-2:1`, `${LAYER}:3`],
        status: 'updated'
      }
    ])
    expect(use.inUse).toEqual(
      new Map([
        [3, ['a', 'c']],
        [2, ['b']]
      ])
    )
    expect(use.unknownUse).toBeUndefined()
  })

  it('marks use unknown when a function was never read', () => {
    const use = versionUse(LAYER, [
      {
        function: 'a',
        region: 'us-east-1',
        before: [],
        after: [],
        status: 'failed',
        layersUnknown: true
      }
    ])
    expect(use.unknownUse).toContain('a')
  })
})

describe('deployOutputs', () => {
  const result: DeployResult = {
    regions: [
      {
        region: 'us-east-1',
        layer: {
          region: 'us-east-1',
          layerArn: LAYER,
          layerVersionArn: `${LAYER}:4`,
          version: 4,
          published: true,
          codeSha256: 'abc='
        },
        shared: [],
        functions: [
          {
            function: 'api',
            region: 'us-east-1',
            before: [],
            after: [`${LAYER}:4`],
            status: 'updated'
          }
        ],
        errors: []
      }
    ],
    failures: []
  }

  it('gives the version ARN, the version and the per-region and per-function JSON', () => {
    const outputs = deployOutputs(result)
    expect(outputs).toMatchObject({
      'layer-arn': LAYER,
      'layer-version-arn': `${LAYER}:4`,
      'layer-version': '4',
      published: 'true'
    })
    // the build sets code-sha256 once; a failed publish must not blank it
    expect(outputs).not.toHaveProperty('code-sha256')
    expect(JSON.parse(outputs.regions)).toEqual({
      'us-east-1': { layerVersionArn: `${LAYER}:4`, published: true }
    })
    expect(JSON.parse(outputs.functions)).toEqual({
      api: { before: [], after: [`${LAYER}:4`], status: 'updated' }
    })
  })
})

describe('mapLimit', () => {
  it('runs at most `limit` at once and keeps the order of results', async () => {
    let running = 0
    let peak = 0
    const results = await mapLimit([5, 1, 3, 2, 4], 2, async n => {
      running++
      peak = Math.max(peak, running)
      await new Promise(resolve => setTimeout(resolve, n))
      running--
      return n * 10
    })
    expect(results).toEqual([50, 10, 30, 20, 40])
    expect(peak).toBe(2)
  })
})

// The whole AWS half against the local Lambda API with the real SDK. The endpoint comes from
// AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL_S3, as in the bundled action.
describe('deployLayer against the Lambda API', () => {
  let emulator: Emulator
  let work: string
  const waiter = { maxWaitTime: 20, minDelay: 0.05, maxDelay: 0.2 }
  const fastClients = () => awsClients({ retryStrategy: new ConfiguredRetryStrategy(5, () => 10) })
  const plan = (zipPath: string, extra: Partial<DeployPlan> = {}): DeployPlan => ({
    layerName: 'deps',
    zip: layerZipAt(zipPath),
    target: targetOf('python3.12', 'x86_64'),
    compatibleRuntimes: ['python3.12'],
    compatibleArchitectures: ['x86_64'],
    skipUnchanged: true,
    regions: ['us-east-1'],
    functions: [],
    shareWith: [],
    ...extra
  })
  const deploy = (p: DeployPlan) => deployLayer(p, { clients: fastClients(), waiter })
  const layerArn = (region = 'us-east-1') => `arn:aws:lambda:${region}:${ACCOUNT}:layer:deps`

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'deploy-test-'))
  })
  afterAll(() => rmSync(work, { recursive: true, force: true }))
  beforeEach(async () => {
    emulator = await startLambdaEmulator({ idleTimeoutMs: 60_000 })
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDTEST')
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret')
    vi.stubEnv('AWS_ENDPOINT_URL_LAMBDA', emulator.endpoint)
    vi.stubEnv('AWS_ENDPOINT_URL_S3', emulator.endpoint)
  })
  afterEach(async () => {
    vi.unstubAllEnvs()
    await emulator.close()
  })

  it('updates two of three functions when the third cannot take the layer, and names it', async () => {
    for (const name of ['api', 'worker']) emulator.createFunction({ name, runtime: 'python3.12' })
    emulator.createFunction({ name: 'graviton', runtime: 'python3.12', architecture: 'arm64' })
    const result = await deploy(
      plan(layerZip(work, 'V = 1\n'), { functions: ['api', 'graviton', 'worker'] })
    )

    const statuses = result.regions[0].functions.map(fn => [fn.function, fn.status])
    expect(statuses).toEqual([
      ['api', 'updated'],
      ['graviton', 'failed'],
      ['worker', 'updated']
    ])
    expect(emulator.getFunction('api')?.layers).toEqual([`${layerArn()}:1`])
    expect(emulator.getFunction('worker')?.layers).toEqual([`${layerArn()}:1`])
    expect(result.failures).toHaveLength(1)
    expect(result.failures[0]).toMatch(/^graviton \(us-east-1\): graviton runs python3.12 on arm64/)
    // The published ARN is still in the outputs.
    expect(deployOutputs(result)['layer-version-arn']).toBe(`${layerArn()}:1`)
  })

  it('reuses an unchanged version on a rerun and still attaches it where it is missing', async () => {
    const zip = layerZip(work, 'V = 1\n')
    await deploy(plan(zip))
    emulator.createFunction({ name: 'api', runtime: 'python3.12' })
    const rerun = await deploy(plan(zip, { functions: ['api'] }))
    expect(rerun.regions[0].layer).toMatchObject({ version: 1, published: false })
    expect(emulator.getFunction('api')?.layers).toEqual([`${layerArn()}:1`])
    expect(emulator.layerVersions('deps')).toHaveLength(1)
  })

  it('shares with an account, an organization and everyone, and a rerun is harmless', async () => {
    const zip = layerZip(work, 'V = 1\n')
    const shareWith = ['111122223333', 'o-abcdef1234', 'public']
    const first = await deploy(plan(zip, { shareWith }))
    const rerun = await deploy(plan(zip, { shareWith }))

    expect(first.failures).toEqual([])
    expect(rerun.failures).toEqual([])
    expect(rerun.regions[0].shared).toEqual([
      'layer-share-111122223333',
      'layer-share-o-abcdef1234',
      'layer-share-public'
    ])
    const statements = emulator.layerVersions('deps')[0].policy.statements
    expect(statements).toHaveLength(3)
    expect(statements).toContainEqual(
      expect.objectContaining({
        Sid: 'layer-share-111122223333',
        Principal: { AWS: expect.stringContaining('111122223333') }
      })
    )
    expect(statements).toContainEqual(
      expect.objectContaining({
        Sid: 'layer-share-o-abcdef1234',
        Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abcdef1234' } }
      })
    )
  })

  it('stops sharing a reused version with what share-with no longer names, sparing other grants', async () => {
    const zip = layerZip(work, 'V = 1\n')
    await deploy(plan(zip, { shareWith: ['public', '111122223333'] }))
    // A grant someone added by hand is not this action's to remove.
    await fastClients()
      .lambda('us-east-1')
      .send(
        new AddLayerVersionPermissionCommand({
          LayerName: 'deps',
          VersionNumber: 1,
          StatementId: 'partner',
          Action: 'lambda:GetLayerVersion',
          Principal: '444455556666'
        })
      )
    const sids = () => emulator.layerVersions('deps')[0].policy.statements.map(s => s.Sid)

    const narrowed = await deploy(plan(zip, { shareWith: ['111122223333'] }))
    expect(narrowed.regions[0].layer?.published).toBe(false)
    expect(narrowed.regions[0].revoked).toEqual(['layer-share-public'])
    expect(sids()).toEqual(['layer-share-111122223333', 'partner'])

    const unshared = await deploy(plan(zip))
    expect(unshared.failures).toEqual([])
    expect(sids()).toEqual(['partner'])
  })

  it('warns, without failing, when it may not read the policy to revoke old grants', async () => {
    const zip = layerZip(work, 'V = 1\n')
    await deploy(plan(zip, { shareWith: ['public'] }))
    emulator.deny('lambda:GetLayerVersionPolicy')
    vi.mocked(core.warning).mockClear()
    const result = await deploy(plan(zip))
    expect(result.failures).toEqual([])
    expect(vi.mocked(core.warning)).toHaveBeenCalledWith(
      expect.stringMatching(/grants of earlier runs.*needs `lambda:GetLayerVersionPolicy`/)
    )
  })

  it('fails the region when share-with is set and an old grant cannot be revoked', async () => {
    const zip = layerZip(work, 'V = 1\n')
    await deploy(plan(zip, { shareWith: ['public'] }))
    emulator.deny('lambda:RemoveLayerVersionPermission')
    const result = await deploy(plan(zip, { shareWith: ['111122223333'] }))
    expect(result.failures).toEqual([
      expect.stringMatching(/^us-east-1: share-with: .*needs `lambda:RemoveLayerVersionPermission`/)
    ])
    expect(emulator.layerVersions('deps')[0].policy.statements.map(s => s.Sid)).toContain(
      'layer-share-public'
    )
  })

  it('grants nothing unless share-with asks', async () => {
    await deploy(plan(layerZip(work, 'V = 1\n')))
    expect(emulator.layerVersions('deps')[0].policy.statements).toEqual([])
    expect(emulator.calls.map(c => c.operation)).not.toContain('AddLayerVersionPermission')
  })

  it('keeps an old version a named function still uses, and says why', async () => {
    for (const n of [1, 2, 3]) await deploy(plan(layerZip(work, `V = ${n}\n`)))
    emulator.createFunction({ name: 'api', runtime: 'python3.12', layers: [`${layerArn()}:2`] })
    // Built for x86_64, so this arm64 function is refused and stays on version 1.
    emulator.createFunction({
      name: 'legacy',
      runtime: 'python3.12',
      architecture: 'arm64',
      layers: [`${layerArn()}:1`]
    })
    const result = await deploy(
      plan(layerZip(work, 'V = 4\n'), { functions: ['api', 'legacy'], keepVersions: 1 })
    )

    const cleanup = result.regions[0].cleanup
    expect(cleanup?.deleted.sort()).toEqual([2, 3])
    expect(cleanup?.kept).toEqual([
      { version: 4, reason: 'the version this run published or reused' },
      { version: 1, reason: 'still used by legacy' }
    ])
    expect(emulator.layerVersions('deps').map(v => v.version)).toEqual([1, 4])
    expect(emulator.getFunction('api')?.layers).toEqual([`${layerArn()}:4`])
  })

  it('reuses and prunes only its own architecture when one layer name carries two builds', async () => {
    const x86 = layerZip(work, 'X = 1\n')
    emulator.createFunction({ name: 'graviton', runtime: 'python3.12', architecture: 'arm64' })
    await deploy(plan(x86))
    await deploy(
      plan(layerZip(work, 'ARM = 1\n'), {
        target: targetOf('python3.12', 'arm64'),
        compatibleArchitectures: ['arm64'],
        functions: ['graviton']
      })
    )
    const rerun = await deploy(plan(x86, { keepVersions: 1 }))
    expect(rerun.regions[0].layer).toMatchObject({ version: 1, published: false })

    const next = await deploy(plan(layerZip(work, 'X = 2\n'), { keepVersions: 1 }))
    expect(next.regions[0].cleanup?.deleted).toEqual([1])
    // The arm64 build's version 2 is not the x86_64 job's to count or delete.
    expect(emulator.layerVersions('deps').map(v => v.version)).toEqual([2, 3])
    expect(emulator.getFunction('graviton')?.layers).toEqual([`${layerArn()}:2`])
  })

  it("never deletes a python3.12 job's version from a python3.13 job that records both runtimes", async () => {
    emulator.createFunction({ name: 'orders', runtime: 'python3.12' })
    const py312 = { target: targetOf('python3.12') }
    const py313 = {
      target: targetOf('python3.13'),
      compatibleRuntimes: ['python3.12', 'python3.13']
    }
    await deploy(plan(layerZip(work, 'A = 1\n'), { ...py312, functions: ['orders'] }))
    await deploy(plan(layerZip(work, 'B = 1\n'), py313))
    const widened = await deploy(plan(layerZip(work, 'B = 2\n'), { ...py313, keepVersions: 1 }))

    // Version 1 is the python3.12 job's, and orders (not named here) runs on it.
    expect(widened.regions[0].cleanup?.deleted).toEqual([2])
    expect(emulator.layerVersions('deps').map(v => v.version)).toEqual([1, 3])
    expect(emulator.getFunction('orders')?.layers).toEqual([`${layerArn()}:1`])

    // The python3.12 job, in turn, lists the widened version 3 but leaves it, saying whose it is.
    const back = await deploy(
      plan(layerZip(work, 'A = 2\n'), { ...py312, functions: ['orders'], keepVersions: 1 })
    )
    expect(back.regions[0].cleanup).toEqual({
      deleted: [1],
      kept: [
        { version: 4, reason: 'the version this run published or reused' },
        {
          version: 3,
          reason: "published for python3.12, python3.13 on x86_64 (another build's lineage)"
        }
      ]
    })
    expect(emulator.layerVersions('deps').map(v => v.version)).toEqual([3, 4])
    expect(deploySummary(back)).toContain(
      "  - kept 3: published for python3.12, python3.13 on x86_64 (another build's lineage)"
    )
  })

  it('reuses its own unchanged version though another job published a wider one since', async () => {
    const zip = layerZip(work, 'V = 1\n')
    await deploy(plan(zip))
    await deploy(
      plan(layerZip(work, 'W = 1\n'), {
        target: targetOf('python3.13'),
        compatibleRuntimes: ['python3.12', 'python3.13']
      })
    )
    const rerun = await deploy(plan(zip))
    expect(rerun.regions[0].layer).toMatchObject({ version: 1, published: false })
    expect(emulator.layerVersions('deps')).toHaveLength(2)
  })

  it('keeps an old version that a racing deploy moved a named function onto after the list', async () => {
    for (const n of [1, 2, 3]) await deploy(plan(layerZip(work, `V = ${n}\n`)))
    for (const name of ['api', 'worker']) {
      emulator.createFunction({ name, runtime: 'python3.12', layers: [`${layerArn()}:3`] })
    }
    // After this run moved worker onto version 4, a rollback elsewhere puts it on version 2,
    // just as keep-versions lists the versions.
    emulator.inject({
      operation: 'ListLayerVersions',
      kind: 'layers-changed',
      function: 'worker',
      layers: [`${layerArn()}:2`]
    })
    const result = await deploy(
      plan(layerZip(work, 'V = 4\n'), {
        skipUnchanged: false,
        functions: ['api', 'worker'],
        keepVersions: 1
      })
    )

    expect(result.regions[0].cleanup).toEqual({
      deleted: [3, 1],
      kept: [
        { version: 4, reason: 'the version this run published or reused' },
        { version: 2, reason: 'now used by worker (read again before deleting)' }
      ]
    })
    expect(emulator.layerVersions('deps').map(v => v.version)).toEqual([2, 4])
    expect(result.failures).toEqual([])
  })

  it('reports what it kept when deleting is denied, and fails the region', async () => {
    for (const n of [1, 2, 3]) await deploy(plan(layerZip(work, `V = ${n}\n`)))
    emulator.deny('lambda:DeleteLayerVersion')
    const result = await deploy(plan(layerZip(work, 'V = 4\n'), { keepVersions: 1 }))

    expect(result.regions[0].cleanup).toMatchObject({
      deleted: [],
      kept: [
        { version: 4, reason: 'the version this run published or reused' },
        { version: 3, reason: 'the delete failed' },
        { version: 2, reason: 'not tried after the delete of 3 failed' },
        { version: 1, reason: 'not tried after the delete of 3 failed' }
      ]
    })
    expect(result.failures).toEqual([
      expect.stringMatching(/^us-east-1: keep-versions: .*needs `lambda:DeleteLayerVersion`/)
    ])
    expect(emulator.layerVersions('deps')).toHaveLength(4)
  })

  it("leaves layer-version-arn empty when the first region fails, never another region's", async () => {
    emulator.inject({
      operation: 'PublishLayerVersion',
      kind: 'server-error',
      region: 'us-east-1',
      times: 50
    })
    const result = await deploy(
      plan(layerZip(work, 'V = 1\n'), { regions: ['us-east-1', 'eu-west-1'] })
    )

    const outputs = deployOutputs(result)
    expect(outputs).toMatchObject({ 'layer-arn': '', 'layer-version-arn': '', 'layer-version': '' })
    expect(JSON.parse(outputs.regions)).toEqual({
      'eu-west-1': { layerVersionArn: `${layerArn('eu-west-1')}:1`, published: true }
    })
    expect(result.failures).toEqual([expect.stringMatching(/^us-east-1: publish: /)])
  })

  it('publishes once to a region given twice', async () => {
    const result = await deploy(
      plan(layerZip(work, 'V = 1\n'), { regions: ['us-east-1', 'us-east-1'] })
    )
    expect(result.regions).toHaveLength(1)
    expect(emulator.layerVersions('deps')).toHaveLength(1)
  })

  it('updates a function given by name and by ARN once', async () => {
    emulator.createFunction({ name: 'api', runtime: 'python3.12' })
    const arn = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:api`
    const result = await deploy(plan(layerZip(work, 'V = 1\n'), { functions: ['api', arn] }))
    expect(result.regions[0].functions.map(fn => [fn.function, fn.status])).toEqual([
      ['api', 'updated']
    ])
    const updates = emulator.calls.filter(c => c.operation === 'UpdateFunctionConfiguration')
    expect(updates).toHaveLength(1)
  })

  it('pages through more than 50 versions when pruning', async () => {
    const zip = layerZip(work, 'V = 1\n')
    for (let n = 0; n < 53; n++) await deploy(plan(zip, { skipUnchanged: false }))
    const result = await deploy(plan(zip, { skipUnchanged: false, keepVersions: 2 }))
    expect(result.regions[0].cleanup?.deleted).toHaveLength(52)
    expect(emulator.layerVersions('deps').map(v => v.version)).toEqual([53, 54])
  })

  it('publishes to two regions, attaching a name in both and an ARN only in its own', async () => {
    emulator.createFunction({ name: 'api', runtime: 'python3.12', region: 'us-east-1' })
    emulator.createFunction({ name: 'api', runtime: 'python3.12', region: 'eu-west-1' })
    emulator.createFunction({ name: 'eu-only', runtime: 'python3.12', region: 'eu-west-1' })
    const euOnly = `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:eu-only`
    const result = await deploy(
      plan(layerZip(work, 'V = 1\n'), {
        regions: ['us-east-1', 'eu-west-1'],
        functions: ['api', euOnly]
      })
    )

    expect(result.failures).toEqual([])
    expect(result.regions.map(r => r.layer?.layerVersionArn)).toEqual([
      `${layerArn('us-east-1')}:1`,
      `${layerArn('eu-west-1')}:1`
    ])
    expect(emulator.getFunction('api', 'us-east-1')?.layers).toEqual([`${layerArn('us-east-1')}:1`])
    expect(emulator.getFunction('api', 'eu-west-1')?.layers).toEqual([`${layerArn('eu-west-1')}:1`])
    expect(emulator.getFunction('eu-only', 'eu-west-1')?.layers).toEqual([
      `${layerArn('eu-west-1')}:1`
    ])
    const outputs = JSON.parse(deployOutputs(result).regions)
    expect(Object.keys(outputs)).toEqual(['us-east-1', 'eu-west-1'])
  })

  it('reports a region that keeps failing without hiding the region that worked', async () => {
    emulator.createFunction({ name: 'api', runtime: 'python3.12', region: 'us-east-1' })
    emulator.createFunction({ name: 'api', runtime: 'python3.12', region: 'eu-west-1' })
    emulator.inject({
      operation: 'PublishLayerVersion',
      kind: 'server-error',
      region: 'eu-west-1',
      times: 50
    })
    const result = await deploy(
      plan(layerZip(work, 'V = 1\n'), { regions: ['us-east-1', 'eu-west-1'], functions: ['api'] })
    )

    const [us, eu] = result.regions
    expect(us.layer?.published).toBe(true)
    expect(us.functions[0].status).toBe('updated')
    expect(eu.layer).toBeUndefined()
    expect(result.failures).toContainEqual(
      expect.stringMatching(/^eu-west-1: publish: AWS failed with HTTP 500 .*after 5 attempts/)
    )
    expect(eu.functions).toMatchObject([{ function: 'api', status: 'failed' }])
    // The region's error covers its functions; they are not listed again.
    expect(result.failures).toHaveLength(1)
  })

  it('survives throttling, a 500, a 503 and a dropped connection', async () => {
    emulator.createFunction({ name: 'api', runtime: 'python3.12' })
    emulator.inject({ operation: 'ListLayerVersions', kind: 'throttle', durationMs: 10 })
    emulator.inject({ operation: 'PublishLayerVersion', kind: 'server-error' })
    emulator.inject({ operation: 'PublishLayerVersion', kind: 'drop' })
    emulator.inject({ operation: 'GetFunctionConfiguration', kind: 'unavailable' })
    emulator.inject({ operation: 'UpdateFunctionConfiguration', kind: 'throttle', durationMs: 10 })
    const result = await deploy(plan(layerZip(work, 'V = 1\n'), { functions: ['api'] }))

    expect(result.failures).toEqual([])
    expect(emulator.getFunction('api')?.layers).toEqual([`${layerArn()}:1`])
    expect(emulator.layerVersions('deps')).toHaveLength(1)
    expect(emulator.calls.map(c => c.status)).toEqual(expect.arrayContaining([429, 500, 0, 503]))
  })

  it('rides out throttling with the default retry strategy too', async () => {
    emulator.inject({
      operation: 'PublishLayerVersion',
      kind: 'throttle',
      durationMs: 50,
      times: 2
    })
    const result = await deployLayer(plan(layerZip(work, 'V = 1\n')), {
      clients: awsClients(),
      waiter
    })
    expect(result.failures).toEqual([])
    expect(result.regions[0].layer?.published).toBe(true)
  })

  it('names the missing IAM action when publishing is denied', async () => {
    emulator.deny('lambda:PublishLayerVersion')
    const result = await deploy(plan(layerZip(work, 'V = 1\n')))
    expect(result.failures).toHaveLength(1)
    expect(result.failures[0]).toMatch(/needs `lambda:PublishLayerVersion` on layer deps/)
  })

  it('says how to configure credentials when there are none', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', '')
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', '')
    vi.stubEnv('AWS_PROFILE', '')
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(work, 'no-credentials'))
    vi.stubEnv('AWS_CONFIG_FILE', join(work, 'no-config'))
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true')
    vi.stubEnv('AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', '')
    vi.stubEnv('AWS_CONTAINER_CREDENTIALS_FULL_URI', '')
    vi.stubEnv('AWS_WEB_IDENTITY_TOKEN_FILE', '')
    for (const name of Object.keys(process.env)) {
      if (process.env[name] === '') delete process.env[name]
    }
    const result = await deploy(plan(layerZip(work, 'V = 1\n')))
    expect(result.failures[0]).toMatch(/aws-actions\/configure-aws-credentials.*publish: false/)
    expect(emulator.calls).toEqual([])
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
