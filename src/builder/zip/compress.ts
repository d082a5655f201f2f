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

type Level = NonNullable<DeflateOptions['level']>

/**
 * Deflates with fflate, pinned in package-lock and bundled into dist/, not with the zlib
 * inside the runner's Node: what the action compresses itself (a wheel's stored entry that
 * shrinks, a stripped shared object, a file of `files`) then has the same bytes on every
 * Node, and so does the layer's CodeSha256. Undefined when the result is not smaller.
 */
export async function deflateRaw(content: Buffer, level: number): Promise<Buffer | undefined> {
  const out: Buffer[] = []
  for await (const chunk of deflatePieces([content], level)) out.push(chunk)
  const deflated = out.length === 1 ? out[0] : Buffer.concat(out)
  return deflated.length < content.length ? deflated : undefined
}

/**
 * Deflates bytes arriving in chunks of any size, re-cut into fixed pieces. On the main thread,
 * a piece at a time with the event loop let through between pieces: a worker thread would cost
 * a second V8 heap (tens of MiB) for work that is rare (stored entries, `strip`, `files`).
 */
export async function* deflatePieces(
  chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
  level: number
): AsyncGenerator<Buffer> {
  const output: Buffer[] = []
  const deflater = new fflate.Deflate({ level: level as Level }, data => {
    output.push(Buffer.from(data.buffer, data.byteOffset, data.length))
  })
  // one piece held back, so the last is known when it is pushed
  let held: Buffer | undefined
  for await (const piece of fixedPieces(chunks)) {
    if (held) deflater.push(held, false)
    held = piece
    while (output.length > 0) yield output.shift()!
    await new Promise(resolve => setImmediate(resolve))
  }
  deflater.push(held ?? new Uint8Array(0), true)
  while (output.length > 0) yield output.shift()!
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
