import type { LayerFile } from '../../src/builder/layout.js'

/** A layer file whose bytes are held in memory, as the build holds what it writes itself. */
export function fileInMemory(
  path: string,
  data: Buffer | string,
  { mode = 0o644, owner = path.split('/')[0] }: { mode?: LayerFile['mode']; owner?: string } = {}
): LayerFile {
  const bytes = Buffer.from(data)
  return { path, mode, size: bytes.length, owner, source: { kind: 'bytes', data: bytes } }
}

/** The bytes of a layer file held in memory. */
export function bytesOf(file: LayerFile): Buffer {
  if (file.source.kind !== 'bytes') throw new Error(`${file.path} is not held in memory`)
  return file.source.data
}
