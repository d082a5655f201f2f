// The `requirements` input: a requirements file, a pyproject.toml, a lock file, or a directory
// holding one, turned into a file pip can install for the Lambda target.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { errorMessage } from '../errors.js'
import type { Target } from '../facts.js'
import {
  type DependencySource,
  type ReadContext,
  type SourceKind,
  OUTSIDE_WORKSPACE_FIX,
  displayPath,
  isInside,
  workspaceRoot
} from './common.js'
import { lambdaMarkerEnvironment } from './markers.js'
import { canonicalName } from './pep508.js'
import { readPipfileLock } from './pipfile-lock.js'
import { readPoetryLock } from './poetry-lock.js'
import { readPyproject } from './pyproject.js'
import { readRequirements } from './requirements.js'
import { readUvLock } from './uv-lock.js'

export type { DependencySource, LockedPins, SourceKind } from './common.js'
export { lambdaMarkerEnvironment, type MarkerEnvironment } from './markers.js'
export { hashMismatchMessage, type HashMismatch } from './mismatch.js'

/** What a directory is searched for, in order: locks first, they say the most. */
export const DIRECTORY_FILES = [
  'uv.lock',
  'poetry.lock',
  'Pipfile.lock',
  'requirements.txt',
  'pyproject.toml'
] as const

export interface SourceOptions {
  target: Target
  extras: string[]
  groups: string[]
  /** Where generated files go. */
  workDir: string
  /** Relative inputs are taken from here (default: the process's working directory). */
  cwd?: string
  /** Every file read must stay in this folder (default: GITHUB_WORKSPACE, else the working directory). */
  workspace?: string
  /** allow-outside-workspace: files anywhere on the runner may be read. */
  allowOutsideWorkspace?: boolean
}

export async function readDependencySource(
  input: string,
  options: SourceOptions
): Promise<DependencySource> {
  const cwd = options.cwd ?? process.cwd()
  const resolved = path.resolve(cwd, input)
  const workspace = options.allowOutsideWorkspace
    ? undefined
    : path.resolve(options.workspace ?? workspaceRoot())
  // by path first, so that a path like /proc/self/environ is not even looked at
  if (workspace !== undefined && !isInside(resolved, workspace)) {
    const realWorkspace = await fs.realpath(workspace).catch(() => workspace)
    if (!isInside(resolved, realWorkspace))
      throw new Error(
        `requirements: ${input} is outside the workspace (${workspace}); ${OUTSIDE_WORKSPACE_FIX}`
      )
  }
  const stat = await fs.stat(resolved).catch(() => undefined)
  if (!stat) {
    const where = displayPath(resolved, cwd) === input ? '' : ` (${resolved})`
    throw new Error(`requirements: ${input} does not exist${where}`)
  }
  let file = resolved
  let chosenFrom: string | undefined
  if (stat.isDirectory()) {
    chosenFrom = resolved
    file = (await firstPresent(resolved)) ?? ''
    if (!file)
      throw new Error(
        `requirements: ${input} is a directory with none of ${DIRECTORY_FILES.join(', ')}`
      )
  }
  const kind = kindOf(file)
  const extras = options.extras.map(canonicalName)
  const groups = options.groups.map(canonicalName)
  const shown = displayPath(file, cwd)
  if (extras.length && (kind === 'requirements' || kind === 'Pipfile.lock'))
    throw new Error(
      `extras: ${shown} is a ${kind} file, which has no extras; extras apply to pyproject.toml, uv.lock and poetry.lock`
    )
  if (groups.length && kind === 'requirements')
    throw new Error(
      `groups: ${shown} is a requirements file, which has no dependency groups; groups apply to pyproject.toml and lock files`
    )
  await fs.mkdir(options.workDir, { recursive: true })
  const context: ReadContext = {
    file,
    cwd,
    target: options.target,
    env: lambdaMarkerEnvironment(options.target),
    extras,
    groups,
    workDir: options.workDir,
    workspace
  }
  const source = await READERS[kind](context).catch((error: unknown) => {
    throw namingTheFile(error, shown)
  })
  return chosenFrom ? { ...source, chosenFrom } : source
}

/** Readers name the input in their own messages; anything else (a bad marker deep in a lock, a
 * malformed entry) still gets the file named. */
function namingTheFile(error: unknown, shown: string): Error {
  const message = errorMessage(error)
  if (/^(requirements|extras|groups): /.test(message)) return error as Error
  return new Error(`requirements: ${shown}: ${message}`)
}

const READERS: Record<SourceKind, (context: ReadContext) => Promise<DependencySource>> = {
  requirements: readRequirements,
  pyproject: readPyproject,
  'uv.lock': readUvLock,
  'poetry.lock': readPoetryLock,
  'Pipfile.lock': readPipfileLock
}

/** Told apart by file name; anything else is a requirements file, as pip would take it. */
export function kindOf(file: string): SourceKind {
  const name = path.basename(file)
  if (name === 'pyproject.toml') return 'pyproject'
  if (name === 'uv.lock' || name === 'poetry.lock' || name === 'Pipfile.lock') return name
  return 'requirements'
}

async function firstPresent(directory: string): Promise<string | undefined> {
  for (const name of DIRECTORY_FILES) {
    const candidate = path.join(directory, name)
    if (
      await fs.stat(candidate).then(
        s => s.isFile(),
        () => false
      )
    )
      return candidate
  }
  return undefined
}
