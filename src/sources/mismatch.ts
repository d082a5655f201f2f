// What to tell the user when pip, in hash-checking mode, gets a file whose hash their lock (or
// hashed requirements file) does not have: which entry, which file, and how that file's tool
// refreshes its hashes.
import { type DependencySource, type SourceKind, displayPath } from './common.js'
import { canonicalName } from './pep508.js'

/** A file pip refused in hash-checking mode. */
export interface HashMismatch {
  name: string
  version: string
  /** The file's name, e.g. tinyjson-1.0.0-py3-none-any.whl. */
  file: string
  /** `algorithm:hex` of the file pip got. */
  got: string
}

const REFRESH: Record<SourceKind, string> = {
  'uv.lock': 're-lock (uv lock)',
  'poetry.lock': 're-lock (poetry lock)',
  'Pipfile.lock': 're-lock (pipenv lock)',
  requirements: 'update its --hash',
  pyproject: 'update its hashes'
}

/**
 * One line: `requirements: uv.lock line 57: the index serves tinyjson-1.0.0-py3-none-any.whl
 * with sha256:67fb…, a hash the lock does not have for tinyjson 1.0.0; re-lock (uv lock) if
 * it was re-published on purpose, otherwise check the index`.
 */
export function hashMismatchMessage(
  source: Pick<DependencySource, 'kind' | 'file' | 'origin'>,
  mismatch: HashMismatch,
  cwd = process.cwd()
): string {
  const origin = source.origin(canonicalName(mismatch.name))
  const where = origin
    ? `${displayPath(origin.file, cwd)} line ${origin.line}`
    : displayPath(source.file, cwd)
  const holder = source.kind === 'requirements' || source.kind === 'pyproject' ? 'file' : 'lock'
  return `requirements: ${where}: the index serves ${mismatch.file} with ${mismatch.got}, a hash the ${holder} does not have for ${mismatch.name} ${mismatch.version}; ${REFRESH[source.kind]} if it was re-published on purpose, otherwise check the index`
}
