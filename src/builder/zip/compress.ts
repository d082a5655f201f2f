// Deflate, and the file types the layer zip's central records carry.

import * as fflate from 'fflate'
import type { DeflateOptions } from 'fflate'

// Unix file types and the MS-DOS directory bit, for the central records' external attributes.
export const S_IFREG = 0o100000
export const S_IFDIR = 0o040000
export const MSDOS_DIRECTORY = 0x10

/**
 * The pieces input is pushed to the deflater in. fflate's output depends on them, so they are
 * fixed: a file held whole and the same file streamed give the same bytes.
 */
const PIECE = 1024 * 1024
/** Deflated in a worker from this size: below it a worker costs more to start than the work. */
const IN_WORKER_FROM = PIECE
/** Input queued for a worker before reading waits: bounds memory for a 200 MB file. */
const QUEUED_MAX = 4 * PIECE

type Level = NonNullable<DeflateOptions['level']>

/**
 * Deflates with fflate, pinned in package-lock and bundled into dist/, not with the zlib
 * inside the runner's Node: what the action compresses itself (a wheel's stored entry that
 * shrinks, a stripped shared object, a file of `files`) then has the same bytes on every
 * Node, and so does the layer's CodeSha256. Undefined when the result is not smaller.
 */
export async function deflateRaw(content: Buffer, level: number): Promise<Buffer | undefined> {
  const out: Buffer[] = []
  for await (const chunk of deflatePieces([content], content.length, level)) out.push(chunk)
  const deflated = out.length === 1 ? out[0] : Buffer.concat(out)
  return deflated.length < content.length ? deflated : undefined
}

/**
 * Deflates bytes arriving in chunks of any size, re-cut into fixed pieces; `size` (what is
 * expected) puts big input in a worker thread (fflate's AsyncDeflate), with the reading paused
 * while the worker is behind.
 */
export async function* deflatePieces(
  chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
  size: number,
  level: number
): AsyncGenerator<Buffer> {
  const options = { level: level as Level }
  const output: Buffer[] = []
  let failed: unknown
  let finished = false
  let wake: (() => void) | undefined
  const signal = () => {
    wake?.()
    wake = undefined
  }
  const take = (data: Uint8Array, final: boolean) => {
    output.push(Buffer.from(data.buffer, data.byteOffset, data.length))
    if (final) finished = true
    signal()
  }
  const inWorker = size >= IN_WORKER_FROM
  const deflater = inWorker
    ? new fflate.AsyncDeflate(options, (error, data, final) => {
        if (error) {
          failed = error
          signal()
        } else take(data, final)
      })
    : new fflate.Deflate(options, take)
  // the worker is handed a piece's memory (transferred, so gone here): a copy of its own
  const push = (piece: Uint8Array, final: boolean) =>
    deflater.push(inWorker ? new Uint8Array(piece) : piece, final)
  const behind = () => deflater instanceof fflate.AsyncDeflate && deflater.queuedSize > QUEUED_MAX
  if (deflater instanceof fflate.AsyncDeflate) deflater.ondrain = signal
  const waitForWorker = () => new Promise<void>(resolve => (wake = resolve))
  try {
    // one piece held back, so the last is known when it is pushed
    let held: Buffer | undefined
    for await (const piece of fixedPieces(chunks)) {
      if (held) push(held, false)
      held = piece
      while (output.length > 0) yield output.shift()!
      while (behind() && !failed) await waitForWorker()
      if (failed) throw failed
    }
    push(held ?? new Uint8Array(0), true)
    while (!finished) {
      if (failed) throw failed
      if (output.length === 0) await waitForWorker()
      while (output.length > 0) yield output.shift()!
    }
    while (output.length > 0) yield output.shift()!
  } finally {
    if (deflater instanceof fflate.AsyncDeflate) deflater.terminate()
  }
}

/** The input re-cut into PIECE-sized pieces, the last one shorter. */
async function* fixedPieces(
  chunks: AsyncIterable<Buffer> | Iterable<Buffer>
): AsyncGenerator<Buffer> {
  let held: Buffer[] = []
  let heldBytes = 0
  for await (const chunk of chunks) {
    held.push(chunk)
    heldBytes += chunk.length
    if (heldBytes < PIECE) continue
    const all = held.length === 1 ? held[0] : Buffer.concat(held, heldBytes)
    let at = 0
    for (; all.length - at >= PIECE; at += PIECE) yield all.subarray(at, at + PIECE)
    held = at < all.length ? [all.subarray(at)] : []
    heldBytes = all.length - at
  }
  if (heldBytes > 0) yield held.length === 1 ? held[0] : Buffer.concat(held, heldBytes)
}
