// Deflate, and the file types the layer zip's central records carry.

import * as fflate from 'fflate'
import type { DeflateOptions } from 'fflate'

// Unix file types and the MS-DOS directory bit, for the central records' external attributes.
export const S_IFREG = 0o100000
export const S_IFDIR = 0o040000
export const MSDOS_DIRECTORY = 0x10

/** Below this, deflate on the main thread: a worker costs more to start than the work. */
const IN_WORKER_FROM = 1024 * 1024

/**
 * Deflates with fflate, pinned in package-lock and bundled into dist/, not with the zlib
 * inside the runner's Node: what the action compresses itself (a wheel's stored entry that
 * shrinks, a stripped shared object, a file of `files`) then has the same bytes on every
 * Node, and so does the layer's CodeSha256. Big contents go to a worker thread. Undefined when
 * the result would not be smaller than the input.
 */
export async function deflateRaw(content: Buffer, level: number): Promise<Buffer | undefined> {
  const options = { level: level as DeflateOptions['level'] }
  const deflated =
    content.length < IN_WORKER_FROM
      ? fflate.deflateSync(content, options)
      : await new Promise<Uint8Array>((resolve, reject) =>
          fflate.deflate(content, options, (error, data) => (error ? reject(error) : resolve(data)))
        )
  if (deflated.length >= content.length) return undefined
  return Buffer.from(deflated.buffer, deflated.byteOffset, deflated.length)
}
