// Plumbing for the zip file: the hashing, batching output stream and the spill directory.

import { createHash } from 'node:crypto'
import { once } from 'node:events'
import type { WriteStream } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

export const IO_CHUNK = 1024 * 1024
/** Chunks up to this size are copied into the next 1 MiB write instead of written alone. */
const STAGED_CHUNK_MAX = 64 * 1024

/** Where big files' deflate output waits for its turn; created only if a big file comes. */
export class SpillDirectory {
  private created: Promise<string> | undefined
  private readonly parent: string

  constructor(parent: string) {
    this.parent = parent
  }

  async file(name: string): Promise<string> {
    this.created ??= fs.mkdtemp(path.join(this.parent, '.layer-zip-'))
    return path.join(await this.created, name)
  }

  async remove(): Promise<void> {
    const dir = await this.created?.catch(() => undefined)
    if (dir) await fs.rm(dir, { recursive: true, force: true })
  }
}

/**
 * A write stream that hashes and counts what it writes, and waits when the disk lags.
 * Small chunks (headers, most deflated files) are gathered into large writes: one write per
 * chunk would cost a thread-pool round trip for every header of every file.
 */
export class HashingOutput {
  offset = 0
  private readonly hash = createHash('sha256')
  private failure: Error | undefined
  private readonly stream: WriteStream
  private staged = Buffer.allocUnsafe(IO_CHUNK)
  private stagedBytes = 0

  constructor(stream: WriteStream) {
    this.stream = stream
    stream.on('error', error => (this.failure ??= error))
  }

  /** `onWritten` runs once `chunk` may be reused: at once if copied, else once on disk. */
  async write(chunk: Buffer, onWritten?: () => void): Promise<void> {
    if (this.failure) throw this.failure
    this.hash.update(chunk)
    this.offset += chunk.length
    if (chunk.length <= STAGED_CHUNK_MAX) {
      if (this.stagedBytes + chunk.length > this.staged.length) await this.flush()
      this.stagedBytes += chunk.copy(this.staged, this.stagedBytes)
      onWritten?.()
      return
    }
    await this.flush()
    await this.send(chunk, onWritten)
  }

  async close(): Promise<void> {
    await this.flush()
    if (this.failure) throw this.failure
    this.stream.end()
    await once(this.stream, 'close')
    if (this.failure) throw this.failure
  }

  digest(): Buffer {
    return this.hash.digest()
  }

  destroy(): void {
    this.stream.destroy()
  }

  private async flush(): Promise<void> {
    if (this.stagedBytes === 0) return
    const full = this.staged.subarray(0, this.stagedBytes)
    this.staged = Buffer.allocUnsafe(IO_CHUNK)
    this.stagedBytes = 0
    await this.send(full)
  }

  private async send(chunk: Buffer, onWritten?: () => void): Promise<void> {
    if (!this.stream.write(chunk, onWritten)) await once(this.stream, 'drain')
  }
}
