// What every dependency source produces, and the small pieces the readers share.
import { createHash } from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { type TomlTable, TomlError, parse as parseToml } from 'smol-toml'
import { ACTION_NAME } from '../facts.js'
import type { Target } from '../facts.js'
import type { SourceIndexes } from './indexes.js'
import { satisfiesSpecifiers, type MarkerEnvironment } from './markers.js'

export type SourceKind = 'requirements' | 'pyproject' | 'uv.lock' | 'poetry.lock' | 'Pipfile.lock'

export interface DependencySource {
  kind: SourceKind
  /** The user's file that was read (absolute). */
  file: string
  /** When the input named a directory: that directory. */
  chosenFrom?: string
  /** A file pip can read with -r. */
  requirementsFile: string
  /** pip must run in hash-checking mode (--require-hashes). */
  hashed: boolean
  /** Canonical (PEP 503) names requested directly. */
  directNames: string[]
  /** The line in the user's files that brought a package in, for annotations. */
  origin(name: string): { file: string; line: number } | undefined
  /** Hex SHA-256 over the resolved, normalised pins (and hashes), not over the file bytes. */
  identity: string
  /** Locks with hashes: how a locked package that has only an sdist is built without leaving
   * hash-checking mode. */
  locked?: LockedPins
  /** Credentials in URLs of the files, `${VAR}`s expanded: for masking in the log. */
  secrets?: string[]
  /** Projects in the workspace the action builds into wheels itself; not in requirementsFile. */
  localProjects?: LocalProject[]
  /** The indexes a lock or its manifest names; pip uses them when no index-url input is given. */
  indexes?: SourceIndexes
}

/**
 * A path requirement inside the workspace (`./libs/common`, `-e ./libs/common`, a `file:` URL,
 * a uv workspace member, a path dependency of a lock): built with pip into a wheel on the runner
 * and accepted when pure, like a pure sdist (builder/local.ts).
 */
export interface LocalProject {
  /** Absolute: a project folder, or an sdist or wheel file. */
  path: string
  /** As the user's file writes it, for messages. */
  written: string
  /** Canonical name when the file says it (locks, `name @ file:`); else the built wheel's. */
  name?: string
  extras: string[]
  /** Asked as editable (`-e`, a uv member, Poetry `develop`): a layer gets a normal wheel. */
  editable: boolean
  origin: { file: string; line: number }
}

/**
 * Why a local project cannot be built: outside the workspace (checked by real path before
 * anything else is looked at), or not there. Undefined when it can.
 */
export async function localProjectProblem(
  context: Pick<ReadContext, 'workspace'>,
  project: string
): Promise<string | undefined> {
  const outside = await outsideWorkspace(context.workspace, project)
  if (outside)
    return `reaches ${outside}, outside the workspace (${context.workspace}); ${OUTSIDE_WORKSPACE_FIX}`
  const exists = await fs.stat(project).then(
    () => true,
    () => false
  )
  return exists ? undefined : `does not exist (${project})`
}

/**
 * A wheel built on the runner can never match a lock's hashes, which are of the index's files.
 * So the sdist is checked against the lock when it is built, and the wheel built from it is
 * then accepted by its own hash.
 */
export interface LockedPins {
  /** The package's pin with every hash the lock has, as a requirements line for pip. */
  line(name: string): string | undefined
  /** Writes a requirements file that also accepts the wheel built from the package's checked
   * sdist (hex sha256), and returns its path. */
  acceptBuiltWheel(name: string, sha256: string): Promise<string>
}

/** What a reader needs: the file, where to write, and the Lambda environment to evaluate for. */
export interface ReadContext {
  file: string
  cwd: string
  target: Target
  env: MarkerEnvironment
  /** Normalised names of the extras and dependency groups asked for. */
  extras: string[]
  groups: string[]
  workDir: string
  /** Files read must stay in this folder; undefined with allow-outside-workspace. */
  workspace?: string
}

/** A path as the user would write it: relative to the working directory when inside it. */
export function displayPath(file: string, cwd: string): string {
  const relative = path.relative(cwd, file)
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file
}

/** The repository checkout: GITHUB_WORKSPACE, else the working directory. */
export function workspaceRoot(): string {
  return path.resolve(process.env.GITHUB_WORKSPACE || process.cwd())
}

/** A path as the repository knows it: relative to the workspace when inside it. */
export function workspacePath(file: string): string {
  return displayPath(file, workspaceRoot())
}

export const OUTSIDE_WORKSPACE_FIX =
  'move it into the repository, or set allow-outside-workspace: true'

/** Whether `file` is `folder` or somewhere below it, by path alone. */
export function isInside(file: string, folder: string): boolean {
  const relative = path.relative(folder, file)
  return !path.isAbsolute(relative) && relative !== '..' && !relative.startsWith(`..${path.sep}`)
}

/**
 * Where `file` really is, links resolved, when that is outside the workspace; undefined when it
 * is inside, or when reading outside is allowed.
 */
export async function outsideWorkspace(
  workspace: string | undefined,
  file: string
): Promise<string | undefined> {
  if (workspace === undefined) return undefined
  const [real, realWorkspace] = await Promise.all([realPath(file), realPath(workspace)])
  return isInside(real, realWorkspace) ? undefined : real
}

function realPath(file: string): Promise<string> {
  return fs.realpath(file).catch(() => path.resolve(file))
}

/**
 * A dependency file's text as pip reads it: UTF-8, a leading byte-order mark dropped. Checked
 * to be inside the workspace before a byte of it is read.
 */
export async function readSourceText(context: ReadContext, file: string): Promise<string> {
  const shown = displayPath(file, context.cwd)
  const outside = await outsideWorkspace(context.workspace, file)
  if (outside) {
    throw new Error(
      `requirements: ${shown} reaches ${outside}, outside the workspace (${context.workspace}); ${OUTSIDE_WORKSPACE_FIX}`
    )
  }
  return decodeUtf8(await fs.readFile(file), shown)
}

const OTHER_BYTE_ORDER_MARKS: Array<[number[], string]> = [
  [[0xff, 0xfe, 0x00, 0x00], 'UTF-32'],
  [[0x00, 0x00, 0xfe, 0xff], 'UTF-32'],
  [[0xff, 0xfe], 'UTF-16'],
  [[0xfe, 0xff], 'UTF-16']
]

/** pip also takes UTF-16 by its BOM; one encoding for pip, these readers and the Lambda copies. */
function decodeUtf8(bytes: Buffer, shown: string): string {
  const refuse = (at: number, why: string): Error =>
    new Error(
      `requirements: ${shown} is not UTF-8 (byte 0x${bytes[at].toString(16).padStart(2, '0')} at offset ${at}${why}); save it as UTF-8`
    )
  const mark = OTHER_BYTE_ORDER_MARKS.find(([prefix]) => prefix.every((b, i) => bytes[i] === b))
  if (mark) throw refuse(0, `: a ${mark[1]} byte-order mark`)
  const at = firstNonUtf8Byte(bytes)
  if (at !== undefined) {
    const line = bytes.subarray(0, at).filter(b => b === 0x0a).length + 1
    throw refuse(
      at,
      `, line ${line}${bytes[at] === 0 ? ': UTF-16 without a byte-order mark?' : ''}`
    )
  }
  return bytes.toString('utf8').replace(/^\uFEFF/, '')
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true })

/** The offset of the first byte that is not part of valid UTF-8 text (a NUL counts as not). */
function firstNonUtf8Byte(bytes: Uint8Array): number | undefined {
  const nul = bytes.indexOf(0)
  try {
    STRICT_UTF8.decode(bytes)
    return nul === -1 ? undefined : nul
  } catch {
    // find the first bad sequence: a lead byte says how long its sequence is
  }
  for (let i = 0; i < bytes.length;) {
    if (bytes[i] === 0) return i
    const lead = bytes[i]
    const length = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2
    try {
      STRICT_UTF8.decode(bytes.subarray(i, i + length))
    } catch {
      return i
    }
    i += length
  }
  return undefined
}

/** Order-independent: the same set of lines gives the same identity whatever the file order. */
export function identityOf(lines: Iterable<string>): string {
  const sorted = [...new Set(lines)].sort()
  return createHash('sha256').update(sorted.join('\n')).digest('hex')
}

export type Origins = Map<string, { file: string; line: number }>

/** Refuses unknown extras or groups, listing the ones the file has. */
export function checkAsked(
  what: 'extras' | 'groups',
  asked: string[],
  available: Iterable<string>,
  where: string
): void {
  const known = new Set(available)
  const unknown = asked.filter(name => !known.has(name))
  if (unknown.length === 0) return
  const list = known.size ? [...known].sort().join(', ') : 'none'
  const noun = what === 'extras' ? 'extra' : 'dependency group'
  throw new Error(
    `${what}: ${where} has no ${noun} ${unknown.map(n => `"${n}"`).join(', ')} (available: ${list})`
  )
}

/** Writes pins for pip into the work directory; they are already evaluated for the target. */
export async function writeGenerated(
  context: ReadContext,
  kind: SourceKind,
  lines: string[],
  variant?: string
): Promise<string> {
  const base = `requirements.${kind.replace(/\.lock$/, '-lock')}${variant ? `.${variant}` : ''}`
  const file = path.join(context.workDir, `${base}.txt`)
  const { name } = context.target.runtime
  const header = `# generated by ${ACTION_NAME} from ${context.file} for ${name} ${context.target.architecture}`
  await fs.writeFile(file, [header, ...lines].join('\n') + '\n')
  return file
}

/**
 * A lock or project made for a Python range the runtime is outside of would be evaluated
 * for a Python it was never resolved for. Any patch level of the runtime's minor counts.
 */
export function checkRuntimeAllowed(
  context: ReadContext,
  allows: (version: string) => boolean,
  described: string,
  where: string
): void {
  const { pythonVersion, name } = context.target.runtime
  let allowed: boolean
  try {
    allowed = allows(`${pythonVersion}.0`) || allows(`${pythonVersion}.999`)
  } catch (error) {
    throw new Error(`requirements: ${where}: ${(error as Error).message}`)
  }
  if (allowed) return
  throw new Error(
    `requirements: ${where} is for Python ${described}, which excludes ${name}; choose a runtime it allows or widen its Python range`
  )
}

/** A PEP 621 / uv `requires-python` range must admit the runtime's Python. */
export function checkRequiresPython(
  context: ReadContext,
  requiresPython: unknown,
  where: string
): void {
  if (typeof requiresPython !== 'string') return
  checkRuntimeAllowed(
    context,
    version => satisfiesSpecifiers(version, requiresPython),
    `"${requiresPython}"`,
    `${where} (requires-python)`
  )
}

/** The 1-based line of the first quoted occurrence of `text`, for annotations. */
export function lineOfQuoted(content: string, text: string, from = 0): number | undefined {
  const candidates = [`"${text}"`, `'${text}'`, JSON.stringify(text)]
  const at = candidates
    .map(c => content.indexOf(c, from))
    .filter(i => i >= 0)
    .sort((a, b) => a - b)[0]
  return at === undefined ? undefined : content.slice(0, at).split('\n').length
}

export async function readToml(
  context: ReadContext,
  file = context.file
): Promise<{ text: string; doc: TomlTable }> {
  const text = await readSourceText(context, file)
  try {
    return { text, doc: parseToml(text) }
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0].replace(/^Invalid TOML document: /, '')
    const line = error instanceof TomlError ? ` line ${error.line}` : ''
    throw new Error(
      `requirements: ${displayPath(file, context.cwd)}${line}: not valid TOML (${reason})`
    )
  }
}

export function isTable(value: unknown): value is TomlTable {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function stringsIn(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
}
