// What a written layer zip is, for the AWS half and the reports. The same files always give
// the same bytes: Lambda creates a new layer version for every upload, so the action compares
// CodeSha256 to skip unchanged layers (the writer is writeAssembledZip in ../assemble.ts).

export interface LayerZip {
  zipPath: string
  zipSize: number
  /** base64(SHA-256(zip bytes)), as Lambda reports `CodeSha256`. */
  codeSha256: string
  sha256Hex: string
  fileCount: number
  unzippedSize: number
}

export const DEFAULT_PREFIX = 'python/'

/** "python" or "/python/" → "python/"; "" stays "" (entries at the zip root). */
export function normalisePrefix(prefix: string): string {
  const parts = prefix.split('/').filter(part => part !== '' && part !== '.')
  if (prefix.startsWith('/') || prefix.includes('\\') || parts.includes('..')) {
    throw new Error(
      `Zip prefix "${prefix}" must be a relative "/"-separated path without "..", like "python/"`
    )
  }
  return parts.map(part => part + '/').join('')
}
