import { createServer, type AddressInfo } from 'node:net'
import type { Server } from 'node:http'

export interface Loopback {
  port: number
  close(): Promise<void>
  /** Settles when the server has stopped, by close() or by itself. */
  closed: Promise<void>
}

/**
 * Listens on 127.0.0.1 only (port 0: the OS picks one), never keeps the test process alive,
 * and stops by itself once idle.
 */
export async function listenOnLoopback(
  server: Server,
  idleTimeoutMs: number,
  port = 0
): Promise<Loopback> {
  let idleTimer: NodeJS.Timeout | undefined
  const closed = new Promise<void>(resolve => server.once('close', () => resolve()))
  const close = (): Promise<void> =>
    new Promise(resolve => {
      clearTimeout(idleTimer)
      if (!server.listening) return resolve()
      server.close(() => resolve())
      // HTTP clients (pip, the SDKs) keep connections alive; without this close() would wait.
      server.closeAllConnections()
    })
  const touch = (): void => {
    clearTimeout(idleTimer)
    idleTimer = setTimeout(() => void close(), idleTimeoutMs)
    idleTimer.unref()
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  server.unref()
  // the server stops by itself after idleTimeoutMs without a request
  server.on('request', touch)
  touch()
  return { port: (server.address() as AddressInfo).port, close, closed }
}

/** A loopback port nothing listens on: connections to it are refused at once. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}
