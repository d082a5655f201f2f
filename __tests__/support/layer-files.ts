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
