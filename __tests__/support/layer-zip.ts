import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { LayerZip } from '../../src/builder/zip/index.js'

/**
 * A zip made outside the build (by `zip`, say), described as the build describes its own; the
 * AWS half reads only its path, size and hashes.
 */
export function layerZipAt(zipPath: string): LayerZip {
  const bytes = readFileSync(zipPath)
  const digest = createHash('sha256').update(bytes).digest()
  return {
    zipPath,
    zipSize: bytes.length,
    codeSha256: digest.toString('base64'),
    sha256Hex: digest.toString('hex'),
    fileCount: 0,
    unzippedSize: 0
  }
}
