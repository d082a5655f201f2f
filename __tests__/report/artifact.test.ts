import AdmZip from 'adm-zip'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { uploadLayerArtifact } from '../../src/report/artifact.js'
import { startResultsService, type ResultsService } from '../support/results-service.js'

let scratch: string
let layerZip: string

beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'artifact-test-'))
  const zip = new AdmZip()
  zip.addFile('python/tinyjson/__init__.py', Buffer.from('def loads(s):\n    return s\n'))
  zip.addFile('python/tinyjson-1.0.dist-info/METADATA', Buffer.from('Name: tinyjson\n'))
  layerZip = path.join(scratch, 'layer.zip')
  zip.writeZip(layerZip)
})

afterAll(() => {
  fs.rmSync(scratch, { recursive: true, force: true })
})

/** The environment a GitHub-hosted runner gives a step, pointed at the fake results service. */
function runInGitHubActions(service: ResultsService): void {
  vi.stubEnv('ACTIONS_RUNTIME_TOKEN', service.env.ACTIONS_RUNTIME_TOKEN)
  vi.stubEnv('ACTIONS_RESULTS_URL', service.env.ACTIONS_RESULTS_URL)
  vi.stubEnv('GITHUB_SERVER_URL', 'https://github.com')
  vi.stubEnv('GITHUB_REPOSITORY', 'octo-org/layers')
  vi.stubEnv('GITHUB_RUN_ID', '987654321')
  vi.stubEnv('GITHUB_RETENTION_DAYS', undefined)
  vi.stubEnv('RUNNER_TEMP', scratch)
}

afterEach(() => {
  vi.unstubAllEnvs()
})

describe('uploadLayerArtifact in GitHub Actions', () => {
  let service: ResultsService

  beforeEach(async () => {
    service = await startResultsService({ idleTimeoutMs: 60_000 })
    runInGitHubActions(service)
    // @actions/artifact logs through @actions/core's workflow commands (::debug::,
    // ::add-mask::); keep them out of the test output and away from a real runner.
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
  })

  afterEach(async () => {
    vi.restoreAllMocks()
    await service.close()
  })

  it('uploads the layer zip byte for byte, not wrapped in another zip', async () => {
    await uploadLayerArtifact(layerZip, 'my-layer-python3.12-arm64')

    const [artifact] = service.artifacts
    expect(artifact.finalized).toBe(true)
    expect(artifact.bytes?.equals(fs.readFileSync(layerZip))).toBe(true)
    expect(artifact.contentType).toBe('application/zip')
    const entries = new AdmZip(artifact.bytes).getEntries().map(e => e.entryName)
    expect(entries).toContain('python/tinyjson/__init__.py')
  })

  it('names the artifact after the requested name, adding .zip once', async () => {
    const plain = await uploadLayerArtifact(layerZip, 'my-layer-python3.12-arm64')
    const suffixed = await uploadLayerArtifact(layerZip, 'other-layer.zip')

    expect(service.createRequests.map(r => r.name)).toEqual([
      'my-layer-python3.12-arm64.zip',
      'other-layer.zip'
    ])
    expect(service.artifacts.map(a => a.name)).toEqual([plain.name, suffixed.name])
  })

  it('returns the artifact id and its page in the run', async () => {
    const upload = await uploadLayerArtifact(layerZip, 'my-layer')

    const id = service.artifacts[0].id
    expect(upload).toEqual({
      id,
      url: `https://github.com/octo-org/layers/actions/runs/987654321/artifacts/${id}`,
      name: 'my-layer.zip'
    })
    expect(upload.warning).toBeUndefined()
  })

  it('returns no url when the run is unknown, but still the id', async () => {
    vi.stubEnv('GITHUB_RUN_ID', undefined)
    const upload = await uploadLayerArtifact(layerZip, 'my-layer')

    expect(upload.id).toBe(service.artifacts[0].id)
    expect(upload.url).toBeUndefined()
  })

  it('asks GitHub to keep the artifact for the requested number of days', async () => {
    await uploadLayerArtifact(layerZip, 'kept', 5)
    await uploadLayerArtifact(layerZip, 'default-retention')

    const [kept, unset] = service.createRequests
    const days = (Date.parse(kept.expires_at!) - Date.now()) / 86_400_000
    expect(Math.round(days)).toBe(5)
    expect(unset.expires_at).toBeUndefined()
  })

  it('uploads a zip larger than one 8 MiB block whole and in order', async () => {
    const bigZip = path.join(scratch, 'big.zip')
    const content = randomBytes(20 * 1024 * 1024 + 123)
    fs.writeFileSync(bigZip, content)

    await uploadLayerArtifact(bigZip, 'big-layer')

    const [artifact] = service.artifacts
    expect(artifact.blockCount).toBe(3)
    expect(artifact.bytes?.equals(content)).toBe(true)
  })

  it('leaves the layer zip where it was and no copy behind', async () => {
    const before = fs.readdirSync(scratch).sort()
    await uploadLayerArtifact(layerZip, 'my-layer')

    expect(fs.readdirSync(scratch).sort()).toEqual(before)
    expect(fs.existsSync(layerZip)).toBe(true)
  })

  it('fails naming the input and the cause when GitHub refuses the artifact', async () => {
    await uploadLayerArtifact(layerZip, 'twice')

    await expect(uploadLayerArtifact(layerZip, 'twice')).rejects.toThrow(
      /^upload-artifact: could not upload the layer zip as artifact "twice\.zip": .*already exists on the workflow run/
    )
  })

  it('rejects a name GitHub would refuse before uploading anything', async () => {
    await expect(uploadLayerArtifact(layerZip, 'layers/python3.12')).rejects.toThrow(
      /^artifact-name: "layers\/python3\.12" contains "\/"/
    )
    expect(service.requests).toEqual([])
  })

  it('fails naming the input when the layer zip is missing', async () => {
    await expect(uploadLayerArtifact(path.join(scratch, 'gone.zip'), 'gone')).rejects.toThrow(
      /^upload-artifact: .*gone\.zip/
    )
    expect(service.artifacts).toEqual([])
  })
})

describe('uploadLayerArtifact outside GitHub Actions', () => {
  it('warns with the zip path instead of failing when there is no runtime token', async () => {
    vi.stubEnv('ACTIONS_RUNTIME_TOKEN', undefined)
    vi.stubEnv('ACTIONS_RESULTS_URL', undefined)

    const upload = await uploadLayerArtifact(layerZip, 'my-layer')

    expect(upload).toEqual({
      name: 'my-layer.zip',
      warning:
        'upload-artifact: not running in GitHub Actions (no ACTIONS_RUNTIME_TOKEN), so the ' +
        `layer zip was not uploaded; it is at ${layerZip}`
    })
  })

  it('warns rather than failing when only the results URL is missing', async () => {
    vi.stubEnv('ACTIONS_RUNTIME_TOKEN', 'a-token')
    vi.stubEnv('ACTIONS_RESULTS_URL', undefined)

    const upload = await uploadLayerArtifact(layerZip, 'my-layer')

    expect(upload.id).toBeUndefined()
    expect(upload.warning).toMatch(/^upload-artifact: not running in GitHub Actions/)
  })
})
