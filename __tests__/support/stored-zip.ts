// Zips written entry by entry, with names and modes exactly as given, for tests that need a
// zip no well-behaved tool would make (a `..` entry, a link) or a very large one quickly.
import { writeZip } from './wheels.js'

export interface StoredEntry {
  name: string
  data: Buffer
  /** Unix mode with file type; default a regular 0644 file. */
  mode?: number
}

/** A zip whose entries are all stored (method 0), the way incompressible data ends up. */
export function storedZip(entries: StoredEntry[]): Buffer {
  return writeZip(
    entries.map(({ name, data, mode = 0o100644 }) => ({ path: name, data, mode, store: true }))
  )
}
