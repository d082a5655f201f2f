// Deflate on the thread pool, and the file types the layer zip's central records carry.

import zlib from 'node:zlib'

// Unix file types and the MS-DOS directory bit, for the central records' external attributes.
export const S_IFREG = 0o100000
export const S_IFDIR = 0o040000
export const MSDOS_DIRECTORY = 0x10

/**
 * Deflates on the thread pool; undefined when the result would not be smaller than the input
 * (zlib stops early then, so incompressible files cost little). A fresh zlib stream per file:
 * a reset stream keeps old window bytes that can change the output of Node's zlib.
 */
export function deflateRaw(content: Buffer, level: number): Promise<Buffer | undefined> {
  // Half the input holds most results in one chunk; the output does not depend on it.
  const chunkSize = Math.max(64, (content.length >>> 1) + 64)
  const maxOutputLength = content.length - 1
  return new Promise((resolve, reject) =>
    zlib.deflateRaw(content, { level, chunkSize, maxOutputLength }, (error, deflated) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        resolve(undefined)
      } else if (error) {
        reject(error)
      } else {
        // A result in one chunk is a view of the whole chunk: copy it out when that frees much.
        resolve(deflated.buffer.byteLength > 2 * deflated.length ? Buffer.from(deflated) : deflated)
      }
    })
  )
}
