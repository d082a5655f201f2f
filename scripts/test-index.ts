// Serves the test world's package index (the wheels and sdists the tests, the demo and the e2e
// workflow install) on 127.0.0.1 until Ctrl-C or the idle timeout:
//   npx tsx scripts/test-index.ts [--port N] [--idle-timeout-ms N]
// It prints `Package index listening on URL` once pip can use it.
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import { catalog } from '../__tests__/support/catalog.js'
import { startIndex, type PackageIndex } from '../__tests__/support/index-server.js'

const USAGE = 'usage: npx tsx scripts/test-index.ts [--port N] [--idle-timeout-ms N]'
// As the emulator's CLI: long enough for a local session with pauses, then it stops by itself.
const DEFAULT_IDLE_MS = 15 * 60 * 1000

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'idle-timeout-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help) {
    console.log(USAGE)
    return
  }
  const port = wholeNumber(values.port, '--port') ?? 0
  const idleTimeoutMs = wholeNumber(values['idle-timeout-ms'], '--idle-timeout-ms')
  await serve(port, idleTimeoutMs ?? DEFAULT_IDLE_MS)
}

async function serve(port: number, idleTimeoutMs: number): Promise<void> {
  // The index's own idle timer must not fire first: this process owns the lifetime.
  const index = await startIndex(catalog(), { idleTimeoutMs: idleTimeoutMs + 60_000 })
  let idleTimer: NodeJS.Timeout | undefined
  const stop = async (): Promise<void> => {
    clearTimeout(idleTimer)
    front.close()
    front.closeAllConnections()
    await index.close()
    console.log('Package index stopped')
  }
  const armIdleTimer = (): void => {
    clearTimeout(idleTimer)
    idleTimer = setTimeout(() => void stop(), idleTimeoutMs)
  }
  // startIndex picks a free port; the front server is what holds a fixed one (for .env files
  // and workflows) and keeps this process running.
  const front = await forward(index, port, armIdleTimer)
  armIdleTimer()
  process.once('SIGINT', () => void stop())
  process.once('SIGTERM', () => void stop())

  const url = `http://127.0.0.1:${(front.address() as AddressInfo).port}/simple/`
  console.log(`Package index listening on ${url}`)
  console.log(`  give it to the action as index-url (INPUT_INDEX-URL=${url})`)
}

/** A server on 127.0.0.1:port that hands every request to the index unchanged. */
async function forward(index: PackageIndex, port: number, onRequest: () => void): Promise<Server> {
  const target = new URL(index.url)
  const server = createServer((req, res) => {
    onRequest()
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers
      },
      answer => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      }
    )
    upstream.on('error', error => {
      res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' })
      res.end(`the package index did not answer: ${error.message}\n`)
    })
    req.pipe(upstream)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  return server
}

function wholeNumber(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined
  const parsed = Number(value)
  if (typeof value !== 'string' || !Number.isInteger(parsed) || parsed < 0) {
    throw new Error(`${flag} must be a whole number, got "${String(value)}"`)
  }
  return parsed
}

main().catch(error => {
  console.error(error instanceof Error ? error.message : String(error))
  console.error(USAGE)
  process.exitCode = 1
})
