// A fake of GitHub's artifact results service on 127.0.0.1, faithful enough for the real
// @actions/artifact v6 client: the Twirp JSON API it calls (CreateArtifact, FinalizeArtifact
// under /twirp/github.actions.results.api.v1.ArtifactService/) and the Azure block-blob upload
// to the signed_upload_url it hands out (PUT ?comp=block&blockid=… per 8 MiB block, then
// PUT ?comp=blocklist with the block ids in order). Like the real service it checks the bearer
// token and the URL signature, refuses a second artifact of the same name in a run, and on
// FinalizeArtifact compares the size and sha256 the client reports with the stored bytes.

import { listenOnLoopback } from './loopback.js'
import { createHash, randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'

const TWIRP_PREFIX = '/twirp/github.actions.results.api.v1.ArtifactService/'
/** Path-style blob URL, as Azurite uses: /<account>/<container>/<blob>. */
const BLOB_PREFIX = '/devstoreaccount1/actions-results/'

/** A CreateArtifact request as the client sent it (proto field names, JSON form). */
export interface CreateArtifactCall {
  workflow_run_backend_id: string
  workflow_job_run_backend_id: string
  name: string
  /** google.protobuf.StringValue in JSON form: a plain string. */
  mime_type?: string
  version?: number
  /** google.protobuf.Timestamp in JSON form: an RFC 3339 string; absent without retention days. */
  expires_at?: string
  authorization?: string
}

export interface FinalizeArtifactCall {
  workflow_run_backend_id: string
  workflow_job_run_backend_id: string
  name: string
  /** int64 in JSON form: a decimal string. */
  size: string
  /** "sha256:<hex>" */
  hash?: string
}

export interface StoredArtifact {
  id: number
  name: string
  workflowRunBackendId: string
  workflowJobRunBackendId: string
  expiresAt?: string
  /** The committed blob; undefined until the client commits its block list. */
  bytes?: Buffer
  /** x-ms-blob-content-type sent with the block list. */
  contentType?: string
  /** How many blocks the blob was committed from. */
  blockCount: number
  finalized: boolean
}

export type ResultsCall = 'CreateArtifact' | 'FinalizeArtifact' | 'UploadBlob'

export interface ResultsServiceOptions {
  /** Stops by itself after this long without requests. Default 10 minutes. */
  idleTimeoutMs?: number
  /** Backend ids put in the runtime token's Actions.Results scope. */
  workflowRunBackendId?: string
  workflowJobRunBackendId?: string
  /** Answer every request of this kind with this status and message (Twirp or Azure error). */
  refuse?: { call: ResultsCall; status: number; message: string }
}

export interface ResultsService {
  /** http://127.0.0.1:PORT */
  url: string
  /** What a client must have in its environment to talk to this fake. */
  env: { ACTIONS_RUNTIME_TOKEN: string; ACTIONS_RESULTS_URL: string }
  workflowRunBackendId: string
  workflowJobRunBackendId: string
  createRequests: CreateArtifactCall[]
  finalizeRequests: FinalizeArtifactCall[]
  artifacts: StoredArtifact[]
  /** "METHOD path?query" of every request, in arrival order. */
  requests: string[]
  close(): Promise<void>
}

/** An unsigned JWT whose `scp` claim carries the backend ids, as the runner's token does. */
export function fakeRuntimeToken(workflowRunBackendId: string, workflowJobRunBackendId: string) {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  const claims = {
    scp: `Actions.GenericRead:00000000-0000-0000-0000-000000000000 Actions.Results:${workflowRunBackendId}:${workflowJobRunBackendId}`,
    iss: 'fake-results-service',
    exp: Math.floor(Date.now() / 1000) + 3600
  }
  return `${part({ typ: 'JWT', alg: 'none' })}.${part(claims)}.fake-signature`
}

export async function startResultsService(
  options: ResultsServiceOptions = {}
): Promise<ResultsService> {
  const idleTimeoutMs = options.idleTimeoutMs ?? 10 * 60 * 1000
  const runId = options.workflowRunBackendId ?? 'c0ffee00-0000-4000-8000-000000000001'
  const jobId = options.workflowJobRunBackendId ?? 'c0ffee00-0000-4000-8000-000000000002'
  const token = fakeRuntimeToken(runId, jobId)
  const signature = 'fake-sas-signature'
  const createRequests: CreateArtifactCall[] = []
  const finalizeRequests: FinalizeArtifactCall[] = []
  const artifacts: StoredArtifact[] = []
  const requests: string[] = []
  /** Staged, uncommitted blocks per blob path. */
  const stagedBlocks = new Map<string, Map<string, Buffer>>()
  let nextId = 1_000_001
  let baseUrl = ''

  const findArtifact = (run: string, job: string, name: string): StoredArtifact | undefined =>
    artifacts.find(
      a => a.workflowRunBackendId === run && a.workflowJobRunBackendId === job && a.name === name
    )
  const blobPathOf = (a: StoredArtifact): string =>
    `${BLOB_PREFIX}${a.workflowRunBackendId}/${a.workflowJobRunBackendId}/${encodeURIComponent(a.name)}`

  const twirp = (method: string, body: Buffer, req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.authorization !== `Bearer ${token}`) {
      return twirpError(res, 401, 'unauthenticated', 'invalid or missing runtime token')
    }
    if (options.refuse?.call === method) {
      return twirpError(res, options.refuse.status, 'refused', options.refuse.message)
    }
    let request: Record<string, unknown>
    try {
      request = JSON.parse(body.toString('utf8')) as Record<string, unknown>
    } catch {
      return twirpError(res, 400, 'malformed', 'request body is not JSON')
    }
    if (method === 'CreateArtifact') {
      const call = { ...request, authorization: req.headers.authorization } as CreateArtifactCall
      createRequests.push(call)
      if (call.workflow_run_backend_id !== runId || call.workflow_job_run_backend_id !== jobId) {
        return twirpError(res, 403, 'permission_denied', 'backend ids do not match the token')
      }
      if (!call.name) return twirpError(res, 400, 'invalid_argument', 'name is required')
      const taken = artifacts.some(
        a => a.workflowRunBackendId === runId && a.name === call.name && a.finalized
      )
      if (taken) {
        return twirpError(
          res,
          409,
          'already_exists',
          `an artifact with this name already exists on the workflow run: ${call.name}`
        )
      }
      const artifact: StoredArtifact = {
        id: nextId++,
        name: call.name,
        workflowRunBackendId: runId,
        workflowJobRunBackendId: jobId,
        expiresAt: call.expires_at,
        blockCount: 0,
        finalized: false
      }
      artifacts.push(artifact)
      const signedUploadUrl = `${baseUrl}${blobPathOf(artifact)}?sv=2023-11-03&sr=b&sp=cw&sig=${signature}`
      return sendJson(res, 200, { ok: true, signed_upload_url: signedUploadUrl })
    }
    if (method === 'FinalizeArtifact') {
      const call = request as unknown as FinalizeArtifactCall
      finalizeRequests.push(call)
      const artifact = findArtifact(
        call.workflow_run_backend_id,
        call.workflow_job_run_backend_id,
        call.name
      )
      if (!artifact) return twirpError(res, 404, 'not_found', `no artifact ${call.name} created`)
      if (!artifact.bytes) {
        return twirpError(res, 400, 'failed_precondition', 'no blob was committed for the artifact')
      }
      if (call.size !== String(artifact.bytes.length)) {
        return twirpError(
          res,
          400,
          'invalid_argument',
          `size ${call.size} does not match the ${artifact.bytes.length} bytes uploaded`
        )
      }
      const digest = `sha256:${createHash('sha256').update(artifact.bytes).digest('hex')}`
      if (call.hash !== undefined && call.hash !== digest) {
        return twirpError(res, 400, 'invalid_argument', `hash ${call.hash} is not ${digest}`)
      }
      artifact.finalized = true
      return sendJson(res, 200, { ok: true, artifact_id: String(artifact.id) })
    }
    return twirpError(res, 404, 'bad_route', `no handler for ${method}`)
  }

  const blob = (url: URL, body: Buffer, req: IncomingMessage, res: ServerResponse) => {
    const artifact = artifacts.find(a => blobPathOf(a) === url.pathname)
    if (!artifact) return azureError(res, 404, 'BlobNotFound', 'no such upload url')
    if (url.searchParams.get('sig') !== signature) {
      return azureError(res, 403, 'AuthenticationFailed', 'signature did not match')
    }
    if (artifact.finalized) {
      return azureError(res, 409, 'BlobImmutable', 'the artifact is already finalized')
    }
    if (options.refuse?.call === 'UploadBlob') {
      return azureError(res, options.refuse.status, 'Refused', options.refuse.message)
    }
    if (req.method !== 'PUT') return azureError(res, 405, 'UnsupportedHttpVerb', req.method ?? '')
    const declared = req.headers['content-length']
    if (declared !== undefined && Number(declared) !== body.length) {
      return azureError(res, 400, 'InvalidHeaderValue', 'content-length does not match the body')
    }
    const comp = url.searchParams.get('comp')
    const staged = stagedBlocks.get(url.pathname) ?? new Map<string, Buffer>()
    stagedBlocks.set(url.pathname, staged)
    if (comp === 'block') {
      const blockId = url.searchParams.get('blockid')
      if (!blockId) return azureError(res, 400, 'MissingRequiredQueryParameter', 'blockid')
      staged.set(blockId, body)
      return azureCreated(res)
    }
    if (comp === 'blocklist') {
      const ids = [...body.toString('utf8').matchAll(/<(Latest|Uncommitted)>([^<]*)<\/\1>/g)].map(
        m => m[2]
      )
      const missing = ids.filter(id => !staged.has(id))
      if (missing.length > 0) {
        return azureError(res, 400, 'InvalidBlockList', `blocks never staged: ${missing.join(' ')}`)
      }
      artifact.bytes = Buffer.concat(ids.map(id => staged.get(id)!))
      artifact.blockCount = ids.length
      artifact.contentType = header(req, 'x-ms-blob-content-type')
      stagedBlocks.delete(url.pathname)
      return azureCreated(res)
    }
    if (comp === null && header(req, 'x-ms-blob-type') === 'BlockBlob') {
      // Put Blob: the whole content in one request.
      artifact.bytes = body
      artifact.blockCount = 1
      artifact.contentType = header(req, 'x-ms-blob-content-type')
      return azureCreated(res)
    }
    return azureError(res, 400, 'InvalidQueryParameterValue', `unsupported comp=${comp}`)
  }

  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`)
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const url = new URL(req.url ?? '/', baseUrl)
      if (req.method === 'POST' && url.pathname.startsWith(TWIRP_PREFIX)) {
        twirp(url.pathname.slice(TWIRP_PREFIX.length), body, req, res)
      } else if (url.pathname.startsWith(BLOB_PREFIX)) {
        blob(url, body, req, res)
      } else {
        twirpError(res, 404, 'bad_route', `no route ${req.method} ${url.pathname}`)
      }
    })
  })
  const { port, close } = await listenOnLoopback(server, idleTimeoutMs)
  baseUrl = `http://127.0.0.1:${port}`
  return {
    url: baseUrl,
    env: { ACTIONS_RUNTIME_TOKEN: token, ACTIONS_RESULTS_URL: `${baseUrl}/` },
    workflowRunBackendId: runId,
    workflowJobRunBackendId: jobId,
    createRequests,
    finalizeRequests,
    artifacts,
    requests,
    close
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return Array.isArray(value) ? value[0] : value
}

function sendJson(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

/** Twirp's error shape; the client shows `msg` in its error message. */
function twirpError(res: ServerResponse, status: number, code: string, msg: string): void {
  sendJson(res, status, { code, msg })
}

function azureCreated(res: ServerResponse): void {
  res.writeHead(201, {
    'x-ms-request-id': randomUUID(),
    'x-ms-version': '2025-11-05',
    'x-ms-request-server-encrypted': 'true',
    etag: `"0x${Date.now().toString(16).toUpperCase()}"`,
    'last-modified': new Date().toUTCString(),
    'content-length': '0'
  })
  res.end()
}

function azureError(res: ServerResponse, status: number, code: string, message: string): void {
  const xml =
    `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code>` +
    `<Message>${message.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</Message></Error>`
  res.writeHead(status, { 'content-type': 'application/xml', 'x-ms-error-code': code })
  res.end(xml)
}
