// A pip requirements file, read the way pip reads it (continuations, comments, `-r`/`-c`
// includes, `${VAR}`), so that what cannot go into a layer is refused up front by line.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { redact, splicedSecrets, urlSecrets, withoutCredentials } from '../secrets.js'
import { shellWords } from '../words.js'
import {
  type DependencySource,
  type LocalProject,
  type Origins,
  type ReadContext,
  OUTSIDE_WORKSPACE_FIX,
  displayPath,
  identityOf,
  localProjectProblem,
  outsideWorkspace,
  readSourceText,
  workspacePath
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

/**
 * pip expands `${NAME}` (upper case, digits, underscore) when set and not empty, from the
 * environment the action gives it: without AWS or GitHub credentials, so a rewritten copy of the
 * file expands exactly what pip itself would.
 */
function expandVariables(text: string): { text: string; expanded: Map<string, string> } {
  const expanded = new Map<string, string>()
  const env = withoutCredentials(process.env)
  const result = text.replace(/\$\{([A-Z0-9_]+)\}/g, (whole, name: string) => {
    const value = env[name]
    if (!value) return whole
    expanded.set(name, value)
    return value
  })
  return { text: result, expanded }
}

/**
 * A message about a line shows the line as written: `${NAME}` rather than what it expanded to
 * (often a token), and URL credentials cut out.
 */
function asWritten(message: string, expanded: Map<string, string>): string {
  const longestFirst = [...expanded].sort(([, a], [, b]) => b.length - a.length)
  let text = message
  for (const [name, value] of longestFirst) text = text.split(value).join(`\${${name}}`)
  return redact(text)
}

/** pip's break_args_options: the requirement is every token before the first `-…` one. */
function splitArgs(text: string): { args: string; options: string } {
  const tokens = text.split(' ')
  const first = tokens.findIndex(t => t.startsWith('-'))
  if (first === -1) return { args: text.trim(), options: '' }
  return { args: tokens.slice(0, first).join(' ').trim(), options: tokens.slice(first).join(' ') }
}

/** The options pip reads in a requirements file (its req_file parser): does each take a value. */
const FILE_OPTIONS: Record<string, boolean> = {
  '--config-settings': true,
  '--constraint': true,
  '--editable': true,
  '--extra-index-url': true,
  '--find-links': true,
  '--global-option': true,
  '--hash': true,
  '--index-url': true,
  '--no-binary': true,
  '--no-index': false,
  '--only-binary': true,
  '--pre': false,
  '--prefer-binary': false,
  '--pypi-url': true,
  '--require-hashes': false,
  '--requirement': true,
  '--trusted-host': true,
  '--use-feature': true
}
const SHORT_OPTIONS: Record<string, string> = {
  '-C': '--config-settings',
  '-c': '--constraint',
  '-e': '--editable',
  '-f': '--find-links',
  '-i': '--index-url',
  '-r': '--requirement'
}

/** pip's install options that choose what it builds for: the action sets them from the target. */
const TARGET_OPTIONS = [
  '--platform',
  '--python-version',
  '--implementation',
  '--abi',
  '--target',
  '-t',
  '--root',
  '--prefix',
  '--user'
]

interface FileOption {
  /** As written, up to any `=` or joined value: `--no-bin`, `-r`. */
  flag: string
  /** The option pip takes it for (`--no-bin` is `--no-binary`); the flag itself when none. */
  name: string
  value?: string
  /** Its tokens as written. */
  written: string[]
}

/** optparse takes any unique prefix of a long option: `--no-bin` is `--no-binary`. */
function longOption(flag: string): string {
  if (Object.hasOwn(FILE_OPTIONS, flag)) return flag
  const matches = Object.keys(FILE_OPTIONS).filter(name => name.startsWith(flag))
  return matches.length === 1 ? matches[0] : flag
}

/** `-x value`, `-xvalue`, `--long value`, `--long=value`, each as the option pip takes it for. */
function readOptions(text: string): FileOption[] {
  // pip splits option text with shlex: `-f"../x"` is `-f../x`, so the checks see what pip reads
  const tokens = shellWords(text)
  const options: FileOption[] = []
  for (let i = 0; i < tokens.length;) {
    const token = tokens[i]
    const long = token.startsWith('--')
    const cut = long ? token.indexOf('=') : token.startsWith('-') && token.length > 2 ? 2 : -1
    const flag = cut === -1 ? token : token.slice(0, cut)
    const joined = cut === -1 ? undefined : token.slice(long ? cut + 1 : cut)
    const name = long ? longOption(flag) : (SHORT_OPTIONS[flag] ?? flag)
    if (FILE_OPTIONS[name] && joined === undefined) {
      options.push({ flag, name, value: tokens[i + 1] ?? '', written: tokens.slice(i, i + 2) })
      i += 2
    } else {
      options.push({ flag, name, value: joined, written: [token] })
      i += 1
    }
  }
  return options
}

const COMPILES_ON_RUNNER =
  'pip compile packages on the runner, which cannot build them for Lambda; remove it (the action builds pure sdists itself and refuses native ones)'

/** Why pip must not get this option from a requirements file; undefined when it may. */
function optionProblem(option: FileOption): string | undefined {
  const named = option.flag === option.name ? option.flag : `${option.flag} (${option.name})`
  if (option.name === '--no-binary') return `${named} makes ${COMPILES_ON_RUNNER}`
  // `:none:` empties the action's --only-binary=:all:; naming packages only repeats it
  if (option.name === '--only-binary' && option.value?.split(',').includes(':none:'))
    return `${named} ${option.value} lets ${COMPILES_ON_RUNNER}`
  if (TARGET_OPTIONS.includes(option.name))
    return `${named} is set by the action from runtime and architecture and cannot be changed in a requirements file; remove it`
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

function credentialFree(text: string): string {
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
  /** The files being read, outermost first, each at its current line: one met again is a loop. */
  including: Array<{ real: string; shown: string; line: number }>
  /** Credentials in the files' URLs once `${VAR}`s are expanded: masked in the log. */
  secrets: Set<string>
  localProjects: LocalProject[]
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
    files: new Map(),
    including: [],
    secrets: new Set(),
    localProjects: []
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
    identity: identityOf(walk.identity),
    secrets: [...walk.secrets],
    ...(walk.localProjects.length ? { localProjects: walk.localProjects } : {})
  }
}

const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/\S+/gi

async function readFile(walk: Walk, file: string, constraint: boolean): Promise<void> {
  const content = await readSourceText(walk.context, file)
  const physical = content.split(/\r?\n/)
  const rewrites = new Map<number, string | CopyToken[]>()
  walk.files.set(file, { physical, rewrites })
  const shown = displayPath(file, walk.context.cwd)
  const reading = { real: await fs.realpath(file), shown, line: 0 }
  walk.including.push(reading)
  for (const logical of logicalLines(content)) {
    reading.line = logical.line
    const { text, expanded } = expandVariables(logical.text)
    for (const url of text.match(URL_IN_TEXT) ?? []) {
      for (const secret of urlSecrets(url)) walk.secrets.add(secret)
      for (const secret of splicedSecrets(url, expanded.values())) walk.secrets.add(secret)
    }
    const fail = (message: string): Error =>
      new Error(`requirements: ${shown} line ${logical.line}: ${asWritten(message, expanded)}`)
    const rewrite = (text: string | CopyToken[]): void => {
      rewrites.set(logical.line - 1, text)
      for (let l = logical.line; l < logical.last; l++) rewrites.set(l, '')
    }
    const { args, options } = splitArgs(text)
    const local = args && !constraint ? localReference(args, walk.context.cwd) : undefined
    if (local) {
      await readLocalProject(walk, { file, line: logical.line }, local, false, fail, rewrite)
      continue
    }
    if (args) {
      const at = { file, line: logical.line }
      const { marker, applies } = readRequirementLine(
        walk,
        at,
        args,
        readOptions(options),
        constraint,
        fail
      )
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
  walk.including.pop()
}

function readRequirementLine(
  walk: Walk,
  at: { file: string; line: number },
  args: string,
  options: FileOption[],
  constraint: boolean,
  fail: (message: string) => Error
): { marker?: string; applies: boolean } {
  const problem = directReferenceProblem(args)
  if (problem) throw fail(`"${args}" ${problem}`)
  // pip applies these from any line, a requirement's too
  for (const option of options) {
    const refused = optionProblem(option)
    if (refused) throw fail(refused)
  }
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
  const hashes = options
    .filter(o => o.name === '--hash')
    .map(o => o.value ?? '')
    .sort()
  walk.identity.push(
    [
      constraint ? 'constraint' : 'require',
      credentialFree(normal),
      ...hashes.map(h => `--hash=${h}`)
    ].join(' ')
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
  rewrite: (text: string | CopyToken[]) => void
): Promise<void> {
  const options = readOptions(text)
  const copy: CopyToken[] = []
  let changed = false
  let includes = false
  for (const option of options) {
    const problem = optionProblem(option)
    if (problem) throw fail(problem)
    if (option.name === '--editable') {
      const local = localReference(option.value ?? '', walk.context.cwd)
      if (!local) throw fail(`"${text}" is an editable requirement; ${LOCAL_WHY}`)
      const at = { file, line: walk.including[walk.including.length - 1].line }
      await readLocalProject(walk, at, local, true, fail, rewrite)
      return
    }
    if (option.name === '--requirement' || option.name === '--constraint') {
      const isConstraint = option.name === '--constraint'
      if (URL_PATTERN.test(option.value ?? '') || /^(https?|file):/i.test(option.value ?? ''))
        throw fail(
          `"${text}" includes a file from a URL; keep it in the repository so the build identity covers what it lists`
        )
      const included = await includedFile(walk, file, option, fail)
      if (!walk.files.has(included)) await readFile(walk, included, isConstraint)
      copy.push(isConstraint ? '-c' : '-r', { include: included })
      includes = changed = true
      continue
    }
    if (option.name === '--require-hashes') walk.hashed = true
    if (option.name === '--find-links') {
      const local = await findLinksFolder(walk, file, option.value ?? '')
      await refuseOutside(walk, local?.folder, option, fail)
      // the Lambda copy is elsewhere: a folder beside the user's file is named whole, as a URL
      // because a path may hold what a requirements line cannot (` #`, quotes)
      if (local?.besideFile) {
        copy.push('--find-links', pathToFileURL(local.folder).href)
        changed = true
        continue
      }
    }
    if (INDEX_OPTIONS.includes(option.name))
      await refuseOutside(walk, localIndexPath(option.value ?? '', walk.context.cwd), option, fail)
    copy.push(...option.written)
  }
  if (!includes)
    walk.identity.push(`option ${credentialFree(options.flatMap(o => o.written).join(' '))}`)
  if (changed) rewrite(copy)
}

/** A requirement naming a project on disk, as pip reads it. */
interface LocalReference {
  target: string
  path: string
  name?: string
  extras: string[]
  marker?: string
}

/**
 * `./libs/common`, `libs/common[extra]`, `file:libs/common`, `file:///…#egg=common`,
 * `common @ file:…`: pip takes a path's marker after `;` and a URL's after `; `, and resolves a
 * relative path from the working directory. Undefined for anything else.
 */
export function localReference(args: string, cwd: string): LocalReference | undefined {
  const named = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?\s*@\s*/.exec(args.trim())
  const rest = named ? args.trim().slice(named[0].length) : args.trim()
  const isFileUrl = /^file:/i.test(rest)
  if (named && !isFileUrl) return undefined
  if (!isFileUrl && (URL_PATTERN.test(rest) || /^[a-z][a-z0-9+.-]*:/i.test(rest))) return undefined
  const cut = isFileUrl ? rest.search(/;\s/) : rest.indexOf(';')
  let target = (cut === -1 ? rest : rest.slice(0, cut)).trim()
  const marker = cut === -1 ? undefined : rest.slice(cut + 1).trim() || undefined
  let extras = named?.[2]?.split(',') ?? []
  if (isFileUrl) {
    const url = target.replace(/#.*$/, '')
    const projectPath = fileUrlPath(url, cwd)
    if (projectPath === undefined) return undefined
    const egg = named ? undefined : nameFromUrl(target)
    const name = named ? canonicalName(named[1]) : egg
    return { target, path: projectPath, ...(name ? { name } : {}), extras, marker }
  }
  const withExtras = /^(.+)\[([^\]]+)\]$/.exec(target)
  if (withExtras) {
    target = withExtras[1]
    extras = withExtras[2].split(',')
  }
  const looksLikePath = /^[.~/\\]/.test(target) || /[/\\]/.test(target)
  if (!looksLikePath) return undefined
  return {
    target,
    path: path.resolve(cwd, target),
    extras: extras.map(e => e.trim()).filter(Boolean),
    marker
  }
}

/**
 * A local project line: checked to be inside the workspace and there, its marker evaluated,
 * then left out of pip's copy of the file: the builder builds it into a wheel and gives pip that.
 */
async function readLocalProject(
  walk: Walk,
  at: { file: string; line: number },
  local: LocalReference,
  editable: boolean,
  fail: (message: string) => Error,
  rewrite: (text: string) => void
): Promise<void> {
  const written = `${editable ? '-e ' : ''}${local.target}`
  let applies = true
  try {
    applies = local.marker ? markerMatches(local.marker, walk.context.env) : true
  } catch (error) {
    throw fail((error as Error).message)
  }
  // the line leaves pip's copy either way, so the copies are written
  walk.markers = true
  if (!applies) {
    const env = walk.context.env
    rewrite(`# not for Python ${env.python_version} on ${env.platform_machine}: ${written}`)
    return
  }
  const problem = await localProjectProblem(walk.context, local.path)
  if (problem) throw fail(`"${written}" is a local project that ${problem}`)
  rewrite(`# a local project, built by the action: ${written}`)
  walk.localProjects.push({
    path: local.path,
    written,
    ...(local.name ? { name: local.name } : {}),
    extras: local.extras,
    editable,
    origin: at
  })
  walk.identity.push(`local ${workspacePath(local.path)}${editable ? ' (editable)' : ''}`)
  if (local.name) {
    walk.direct.add(local.name)
    if (!walk.origins.has(local.name)) walk.origins.set(local.name, at)
  }
}

const URL_PATTERN = /^[a-z][a-z0-9+.-]*:\/\//i
const INDEX_OPTIONS = ['--index-url', '--extra-index-url', '--pypi-url']

/** The file an `-r`/`-c` names: inside the workspace, existing, and not already being read. */
async function includedFile(
  walk: Walk,
  file: string,
  option: FileOption,
  fail: (message: string) => Error
): Promise<string> {
  const included = path.resolve(path.dirname(file), option.value ?? '')
  // outside is refused before existence is looked at: the answer would tell what the runner has
  await refuseOutside(walk, included, option, fail)
  if (!(await isFile(included))) throw fail(`included file "${option.value}" does not exist`)
  const real = await fs.realpath(included)
  const loop = walk.including.findIndex(reading => reading.real === real)
  if (loop !== -1) {
    const chain = walk.including.slice(loop).map(r => `${r.shown} line ${r.line}`)
    const back = displayPath(included, walk.context.cwd)
    throw new Error(`requirements: include loop: ${[...chain, back].join(' → ')}`)
  }
  return included
}

async function refuseOutside(
  walk: Walk,
  local: string | undefined,
  option: FileOption,
  fail: (message: string) => Error
): Promise<void> {
  if (local === undefined) return
  const outside = await outsideWorkspace(walk.context.workspace, local)
  if (outside)
    throw fail(
      `${option.written.join(' ')} reaches ${outside}, outside the workspace; ${OUTSIDE_WORKSPACE_FIX}`
    )
}

/**
 * The local folder pip reads for `--find-links`: beside the requirements file when it exists
 * there, else from the working directory. Undefined for a remote URL or a folder that is not
 * there (pip skips it).
 */
async function findLinksFolder(
  walk: Walk,
  file: string,
  value: string
): Promise<{ folder: string; besideFile: boolean } | undefined> {
  if (URL_PATTERN.test(value) || /^file:/i.test(value)) {
    const folder = fileUrlPath(value, walk.context.cwd)
    return folder !== undefined && (await exists(folder))
      ? { folder, besideFile: false }
      : undefined
  }
  const beside = path.resolve(path.dirname(file), value)
  if (!path.isAbsolute(value) && (await exists(beside))) return { folder: beside, besideFile: true }
  const folder = path.resolve(walk.context.cwd, value)
  return (await exists(folder)) ? { folder, besideFile: false } : undefined
}

/** Where pip reads an index from on the runner: a `file:` URL, or a path (pip takes an existing one). */
function localIndexPath(value: string, cwd: string): string | undefined {
  if (/^file:/i.test(value)) return fileUrlPath(value, cwd)
  return URL_PATTERN.test(value) ? undefined : path.resolve(cwd, value)
}

/** The path of a `file:` URL; undefined for any other. */
function fileUrlPath(value: string, cwd: string): string | undefined {
  if (!/^file:/i.test(value)) return undefined
  // pip turns `file:../x` (no //) into the relative path ../x, read from the working directory
  if (!/^file:\/\//i.test(value)) return path.resolve(cwd, decodeURIComponent(value.slice(5)))
  try {
    return fileURLToPath(value)
  } catch {
    return undefined
  }
}

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
 * The copies sit side by side and include one another by file name alone, so that no path of
 * the runner's (a space, a quote, ` #`) has to survive pip's line parsing.
 */
async function writeLambdaCopies(walk: Walk): Promise<string> {
  const directory = path.join(walk.context.workDir, 'requirements')
  await fs.mkdir(directory, { recursive: true })
  const copies = new Map<string, string>()
  ;[...walk.files.keys()].forEach((file, index) =>
    copies.set(file, `${index}-${path.basename(file).replace(/[^\w.-]/g, '_')}`)
  )
  for (const [file, { physical, rewrites }] of walk.files) {
    const lines = physical.map((line, index) => {
      const rewritten = rewrites.get(index)
      if (rewritten === undefined) return line
      if (typeof rewritten === 'string') return rewritten
      return rewritten
        .map(t => (typeof t === 'string' ? quote(t) : (copies.get(t.include) as string)))
        .join(' ')
    })
    await fs.writeFile(path.join(directory, copies.get(file) as string), lines.join('\n'))
  }
  return path.join(directory, copies.get(walk.context.file) as string)
}
