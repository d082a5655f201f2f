// A PEP 503 "simple" package index on 127.0.0.1 serving the test world's wheels and sdists to
// real pip. Project pages list files with #sha256= fragments and data-requires-python; files
// live under /files/. Non-normalised project names redirect to the normalised page, as PyPI does.

import { listenOnLoopback } from './loopback.js'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { normalizeName, sha256Hex, type Distribution } from './wheels.js'

export interface PackageIndex {
  /** http://127.0.0.1:PORT/simple/ */
  url: string
  close(): Promise<void>
  /** Settles when the index has stopped, by close() or after idling. */
  closed: Promise<void>
  /** Every request path, in arrival order ("/simple/tinyjson/", "/files/…whl"). */
  requests: string[]
}

export interface IndexOptions {
  /** Stops by itself after this long without requests. Default 10 minutes. */
  idleTimeoutMs?: number
  /** Delay before every response, to imitate a remote index. */
  latencyMs?: number
  /** A fixed port (a workflow or a local run points the action at it); default: any free one. */
  port?: number
  /** Answers every request with this status (401 with a Basic challenge): a locked or wrong index. */
  status?: number
}

interface ServedFile extends Distribution {
  sha256: string
}

/** The project a wheel or sdist file name belongs to, normalised. */
export function projectOf(filename: string): string {
  if (filename.endsWith('.whl')) return normalizeName(filename.split('-')[0])
  const base = filename.replace(/\.(tar\.gz|zip)$/, '')
  const cut = base.lastIndexOf('-')
  if (cut <= 0 || base === filename) throw new Error(`not a wheel or sdist file name: ${filename}`)
  return normalizeName(base.slice(0, cut))
}

export async function startIndex(
  dists: Distribution[],
  options: IndexOptions = {}
): Promise<PackageIndex> {
  const idleTimeoutMs = options.idleTimeoutMs ?? 10 * 60 * 1000
  const latencyMs = options.latencyMs ?? 0
  const files = new Map<string, ServedFile>()
  const projects = new Map<string, ServedFile[]>()
  for (const dist of dists) {
    if (files.has(dist.filename)) throw new Error(`index given ${dist.filename} twice`)
    const served = { ...dist, sha256: sha256Hex(dist.bytes) }
    files.set(dist.filename, served)
    const project = projectOf(dist.filename)
    projects.set(project, [...(projects.get(project) ?? []), served])
  }
  const requests: string[] = []

  const respond = (req: IncomingMessage, res: ServerResponse): void => {
    if (options.status) {
      if (options.status === 401) res.setHeader('www-authenticate', 'Basic realm="index"')
      return sendStatus(res, options.status, `answering ${options.status} to everything`)
    }
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname)
    if (path === '/simple' || path === '/simple/') {
      const links = [...projects.keys()]
        .sort()
        .map(p => `<a href="/simple/${p}/">${escapeHtml(p)}</a>`)
      return sendHtml(res, 'Simple index', links)
    }
    const project = /^\/simple\/([^/]+)\/?$/.exec(path)
    if (project) {
      const normalized = normalizeName(project[1])
      if (!projects.has(normalized)) return sendStatus(res, 404, `no project ${project[1]}`)
      if (path !== `/simple/${normalized}/`) {
        res.writeHead(301, { location: `/simple/${normalized}/` })
        return void res.end()
      }
      const links = projects
        .get(normalized)!
        .map(
          f =>
            `<a href="/files/${encodeURIComponent(f.filename)}#sha256=${f.sha256}"` +
            (f.requiresPython ? ` data-requires-python="${escapeHtml(f.requiresPython)}"` : '') +
            `>${escapeHtml(f.filename)}</a>`
        )
      return sendHtml(res, `Links for ${normalized}`, links)
    }
    const file = /^\/files\/([^/]+)$/.exec(path)
    const served = file && files.get(file[1])
    if (served) {
      res.writeHead(200, {
        'content-type': served.filename.endsWith('.whl')
          ? 'application/octet-stream'
          : 'application/gzip',
        'content-length': served.bytes.length
      })
      return void res.end(req.method === 'HEAD' ? undefined : served.bytes)
    }
    sendStatus(res, 404, `not found: ${path}`)
  }

  const server = createServer((req, res) => {
    requests.push(req.url ?? '')
    if (latencyMs > 0) setTimeout(() => respond(req, res), latencyMs).unref()
    else respond(req, res)
  })
  const { port, close, closed } = await listenOnLoopback(server, idleTimeoutMs, options.port)
  return { url: `http://127.0.0.1:${port}/simple/`, close, closed, requests }
}

function sendHtml(res: ServerResponse, title: string, links: string[]): void {
  const body =
    `<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0">` +
    `<title>${escapeHtml(title)}</title></head><body>\n${links.join('<br>\n')}\n</body></html>\n`
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
  res.end(body)
}

function sendStatus(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' })
  res.end(message + '\n')
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}
