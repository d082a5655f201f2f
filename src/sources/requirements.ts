// A pip requirements file, read the way pip reads it (continuations, comments, `-r`/`-c`
// includes, `${VAR}`), so that what cannot go into a layer is refused up front by line.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {
  type DependencySource,
  type Origins,
  type ReadContext,
  displayPath,
  identityOf
} from './common.js'
import { markerMatches } from './markers.js'
import {
  LOCAL_WHY,
  canonicalName,
  directReferenceProblem,
  nameFromUrl,
  normalRequirement,
  parseRequirement
} from './pep508.js'

interface LogicalLine {
  /** 1-based number of the first physical line, as pip reports it. */
  line: number
  /** 1-based number of the last physical line it spans. */
  last: number
  text: string
}

/** pip's join_lines + ignore_comments: backslash continuations joined, `#` comments dropped. */
export function logicalLines(content: string): LogicalLine[] {
  const physical = content.split(/\r?\n/)
  const joined: LogicalLine[] = []
  let pending: { line: number; parts: string[] } | undefined
  physical.forEach((raw, index) => {
    const line = index + 1
    const isComment = /^\s*#/.test(raw)
    if (!raw.endsWith('\\') || isComment) {
      // a comment line ends a continuation rather than joining it
      const text = isComment ? ' ' + raw : raw
      if (pending) {
        joined.push({ line: pending.line, last: line, text: pending.parts.join('') + text })
        pending = undefined
      } else joined.push({ line, last: line, text })
    } else {
      pending ??= { line, parts: [] }
      pending.parts.push(raw.replace(/^\\+|\\+$/g, ''))
    }
  })
  if (pending) {
    joined.push({ line: pending.line, last: physical.length, text: pending.parts.join('') })
  }
  return joined
    .map(l => ({ ...l, text: l.text.replace(/(^|\s+)#.*$/, '').trim() }))
    .filter(l => l.text !== '')
}

/** pip expands `${NAME}` (upper case, digits, underscore) from the environment. */
function expandVariables(text: string): string {
  return text.replace(/\$\{([A-Z0-9_]+)\}/g, (whole, name: string) => process.env[name] ?? whole)
}

/** pip's break_args_options: the requirement is every token before the first `-…` one. */
function splitArgs(text: string): { args: string; options: string } {
  const tokens = text.split(' ')
  const first = tokens.findIndex(t => t.startsWith('-'))
  if (first === -1) return { args: text.trim(), options: '' }
  return { args: tokens.slice(0, first).join(' ').trim(), options: tokens.slice(first).join(' ') }
}

function optionTokens(text: string): string[] {
  return [...text.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map(m => m[1] ?? m[2] ?? m[3])
}

/** Value of `-x value`, `-xvalue`, `--long value` or `--long=value` at tokens[i]. */
function optionValue(
  tokens: string[],
  i: number,
  short: string,
  long: string
): { value: string; next: number } | undefined {
  const token = tokens[i]
  if (token === long || (short && token === short))
    return { value: tokens[i + 1] ?? '', next: i + 2 }
  if (token.startsWith(long + '=')) return { value: token.slice(long.length + 1), next: i + 1 }
  if (short && token.startsWith(short) && !token.startsWith('--'))
    return { value: token.slice(short.length), next: i + 1 }
  return undefined
}

function quote(token: string): string {
  return /\s/.test(token) ? `"${token}"` : token
}

/** A URL-form requirement carries its marker after whitespace + ';', a named one after ';'. */
function withoutMarker(args: string): string {
  const urlForm = /^[a-z][a-z0-9+.-]*:/i.test(args) || /^[^;]*@/.test(args)
  const at = urlForm ? args.search(/\s+;/) : args.indexOf(';')
  return at === -1 ? args : args.slice(0, at).trim()
}

function withoutCredentials(text: string): string {
  return text.replace(/(\w+:\/\/)[^/@\s]*@/g, '$1')
}

interface Walk {
  context: ReadContext
  direct: Set<string>
  origins: Origins
  constraintOrigins: Origins
  identity: string[]
  hashed: boolean
  markers: boolean
  /** Every file read, with the lines to change in its Lambda copy (index 0-based). */
  files: Map<string, { physical: string[]; rewrites: Map<number, string | CopyToken[]> }>
}

/** An option token in a Lambda copy; includes point at the included file's own copy. */
type CopyToken = string | { include: string }

export async function readRequirements(context: ReadContext): Promise<DependencySource> {
  const walk: Walk = {
    context,
    direct: new Set(),
    origins: new Map(),
    constraintOrigins: new Map(),
    identity: [],
    hashed: false,
    markers: false,
    files: new Map()
  }
  await readFile(walk, context.file, false)
  return {
    kind: 'requirements',
    file: context.file,
    requirementsFile: walk.markers ? await writeLambdaCopies(walk) : context.file,
    hashed: walk.hashed,
    directNames: [...walk.direct].sort(),
    origin: name =>
      walk.origins.get(canonicalName(name)) ?? walk.constraintOrigins.get(canonicalName(name)),
    identity: identityOf(walk.identity)
  }
}

async function readFile(walk: Walk, file: string, constraint: boolean): Promise<void> {
  const content = await fs.readFile(file, 'utf8')
  const physical = content.split(/\r?\n/)
  const rewrites = new Map<number, string | CopyToken[]>()
  walk.files.set(file, { physical, rewrites })
  const shown = displayPath(file, walk.context.cwd)
  for (const logical of logicalLines(content)) {
    const fail = (message: string): Error =>
      new Error(`requirements: ${shown} line ${logical.line}: ${message}`)
    const rewrite = (text: string | CopyToken[]): void => {
      rewrites.set(logical.line - 1, text)
      for (let l = logical.line; l < logical.last; l++) rewrites.set(l, '')
    }
    const text = expandVariables(logical.text)
    const { args, options } = splitArgs(text)
    if (args) {
      const at = { file, line: logical.line }
      const { marker, applies } = readRequirementLine(walk, at, args, options, constraint, fail)
      if (marker !== undefined) {
        walk.markers = true
        const raw = splitArgs(logical.text)
        const env = walk.context.env
        rewrite(
          applies
            ? `${withoutMarker(raw.args)} ${raw.options}`.trim()
            : `# not for Python ${env.python_version} on ${env.platform_machine}: ${logical.text}`
        )
      }
      continue
    }
    await readOptionLine(walk, file, text, fail, rewrite)
  }
}

function readRequirementLine(
  walk: Walk,
  at: { file: string; line: number },
  args: string,
  options: string,
  constraint: boolean,
  fail: (message: string) => Error
): { marker?: string; applies: boolean } {
  const problem = directReferenceProblem(args)
  if (problem) throw fail(`"${args}" ${problem}`)
  let name: string | undefined
  let normal: string
  let marker: string | undefined
  if (/^[a-z][a-z0-9+.-]*:/i.test(args)) {
    const url = withoutMarker(args)
    name = nameFromUrl(url)
    normal = url
    marker = args.slice(url.length).replace(/^\s*;/, '').trim() || undefined
  } else {
    try {
      const requirement = parseRequirement(args)
      name = requirement.name
      normal = normalRequirement(requirement)
      marker = requirement.marker
    } catch (error) {
      throw fail(`cannot read requirement "${args}": ${(error as Error).message}`)
    }
  }
  let applies = true
  try {
    applies = marker ? markerMatches(marker, walk.context.env) : true
  } catch (error) {
    throw fail((error as Error).message)
  }
  if (!applies) return { marker, applies }
  const hashes = optionTokens(options)
    .flatMap((token, i, all) => {
      const v = optionValue(all, i, '', '--hash')
      return v ? [v.value] : []
    })
    .sort()
  walk.identity.push(
    [constraint ? 'constraint' : 'require', normal, ...hashes.map(h => `--hash=${h}`)].join(' ')
  )
  if (hashes.length && !constraint) walk.hashed = true
  if (name && constraint && !walk.constraintOrigins.has(name)) walk.constraintOrigins.set(name, at)
  if (name && !constraint) {
    walk.direct.add(name)
    if (!walk.origins.has(name)) walk.origins.set(name, at)
  }
  return { marker, applies }
}

async function readOptionLine(
  walk: Walk,
  file: string,
  text: string,
  fail: (message: string) => Error,
  rewrite: (tokens: CopyToken[]) => void
): Promise<void> {
  const tokens = optionTokens(text)
  const copy: CopyToken[] = []
  let changed = false
  let includes = false
  for (let i = 0; i < tokens.length;) {
    if (optionValue(tokens, i, '-e', '--editable'))
      throw fail(`"${text}" is an editable requirement; ${LOCAL_WHY}`)
    const include =
      optionValue(tokens, i, '-r', '--requirement') ?? optionValue(tokens, i, '-c', '--constraint')
    if (include) {
      const isConstraint = tokens[i].startsWith('-c') || tokens[i].startsWith('--constraint')
      if (URL_PATTERN.test(include.value))
        throw fail(
          `"${text}" includes a file from a URL; keep it in the repository so the build identity covers what it lists`
        )
      const included = path.resolve(path.dirname(file), include.value)
      if (!(await isFile(included))) throw fail(`included file "${include.value}" does not exist`)
      if (!walk.files.has(included)) await readFile(walk, included, isConstraint)
      copy.push(isConstraint ? '-c' : '-r', { include: included })
      includes = changed = true
      i = include.next
      continue
    }
    if (tokens[i] === '--require-hashes') walk.hashed = true
    const findLinks = optionValue(tokens, i, '-f', '--find-links')
    if (findLinks) {
      // pip reads a relative find-links path relative to the requirements file when it exists there
      const local = path.resolve(path.dirname(file), findLinks.value)
      const relative = !URL_PATTERN.test(findLinks.value) && !path.isAbsolute(findLinks.value)
      const moved = relative && (await exists(local))
      copy.push('--find-links', moved ? local : findLinks.value)
      changed ||= moved
      i = findLinks.next
      continue
    }
    copy.push(tokens[i])
    i++
  }
  if (!includes) walk.identity.push(`option ${withoutCredentials(tokens.join(' '))}`)
  if (changed) rewrite(copy)
}

const URL_PATTERN = /^[a-z][a-z0-9+.-]*:\/\//i

function isFile(file: string): Promise<boolean> {
  return fs.stat(file).then(
    s => s.isFile(),
    () => false
  )
}

function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false
  )
}

/**
 * pip evaluates markers for the interpreter it runs on, not for `--python-version` or
 * `--platform`, so when a requirement has a marker the Lambda copy has it evaluated already:
 * the same lines at the same line numbers, with markers for other platforms commented out.
 */
async function writeLambdaCopies(walk: Walk): Promise<string> {
  const directory = path.join(walk.context.workDir, 'requirements')
  await fs.mkdir(directory, { recursive: true })
  const copies = new Map<string, string>()
  ;[...walk.files.keys()].forEach((file, index) =>
    copies.set(file, path.join(directory, `${index}-${path.basename(file)}`))
  )
  for (const [file, { physical, rewrites }] of walk.files) {
    const lines = physical.map((line, index) => {
      const rewritten = rewrites.get(index)
      if (rewritten === undefined) return line
      if (typeof rewritten === 'string') return rewritten
      return rewritten
        .map(t => quote(typeof t === 'string' ? t : (copies.get(t.include) as string)))
        .join(' ')
    })
    await fs.writeFile(copies.get(file) as string, lines.join('\n'))
  }
  return copies.get(walk.context.file) as string
}
