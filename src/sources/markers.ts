// PEP 508 environment markers, evaluated for the Lambda runtime rather than the runner, and the
// small part of PEP 440 version ordering that markers and `requires-python` need.
import { WHEEL_MACHINE } from '../facts.js'
import type { Target } from '../facts.js'

export interface MarkerEnvironment {
  python_version: string
  python_full_version: string
  platform_machine: string
  sys_platform: 'linux'
  platform_system: 'Linux'
  os_name: 'posix'
  implementation_name: 'cpython'
  platform_python_implementation: 'CPython'
  platform_release: ''
  platform_version: ''
  implementation_version: string
}

/**
 * The environment pip would see inside the Lambda runtime. The patch level is not known in
 * advance, so it is taken as `.0`, which is also what pip assumes for `--python-version X.Y`.
 */
export function lambdaMarkerEnvironment(target: Target): MarkerEnvironment {
  const full = `${target.runtime.pythonVersion}.0`
  return {
    python_version: target.runtime.pythonVersion,
    python_full_version: full,
    platform_machine: WHEEL_MACHINE[target.architecture],
    sys_platform: 'linux',
    platform_system: 'Linux',
    os_name: 'posix',
    implementation_name: 'cpython',
    platform_python_implementation: 'CPython',
    platform_release: '',
    platform_version: '',
    implementation_version: full
  }
}

// ---------------------------------------------------------------------------------------------
// PEP 440 versions

export interface Version {
  epoch: number
  release: number[]
  /** [phase, number]: phase 0 = a, 1 = b, 2 = rc */
  pre?: [number, number]
  post?: number
  dev?: number
  local?: string
}

const VERSION_PATTERN =
  /^\s*v?(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?(\d+)?)?(?:-(\d+)|[-_.]?(post|rev|r)[-_.]?(\d+)?)?(?:[-_.]?(dev)[-_.]?(\d+)?)?(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$/i

export function parseVersion(text: string): Version | undefined {
  const m = VERSION_PATTERN.exec(text)
  if (!m) return undefined
  const [, epoch, release, preLabel, preNumber, postImplicit, postLabel, postNumber] = m
  const [devLabel, devNumber, local] = m.slice(8)
  const version: Version = { epoch: Number(epoch ?? 0), release: release.split('.').map(Number) }
  if (preLabel) {
    const label = preLabel.toLowerCase()
    const phase = label.startsWith('a') ? 0 : label.startsWith('b') ? 1 : 2
    version.pre = [phase, Number(preNumber ?? 0)]
  }
  if (postImplicit !== undefined) version.post = Number(postImplicit)
  else if (postLabel) version.post = Number(postNumber ?? 0)
  if (devLabel) version.dev = Number(devNumber ?? 0)
  if (local) version.local = local.toLowerCase().replace(/[-_]/g, '.')
  return version
}

/** Orders two versions as PEP 440 does; negative when a < b. Local labels only break ties. */
export function comparePep440Versions(a: Version, b: Version, withLocal = true): number {
  if (a.epoch !== b.epoch) return a.epoch - b.epoch
  const length = Math.max(a.release.length, b.release.length)
  for (let i = 0; i < length; i++) {
    const d = (a.release[i] ?? 0) - (b.release[i] ?? 0)
    if (d !== 0) return d
  }
  const d = comparePhases(phaseKey(a), phaseKey(b))
  if (d !== 0) return d
  if (!withLocal || a.local === b.local) return 0
  if (a.local === undefined) return -1
  if (b.local === undefined) return 1
  return a.local < b.local ? -1 : 1
}

/** Pre-release, post-release and dev parts as one comparable tuple. */
function phaseKey(v: Version): number[] {
  // a dev release of a final version sorts before its pre-releases: 1.0.dev1 < 1.0a1 < 1.0
  const pre = v.pre ?? (v.post === undefined && v.dev !== undefined ? [-1, 0] : [3, 0])
  return [...pre, v.post ?? -1, v.dev ?? Infinity]
}

function comparePhases(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1
  return 0
}

const SPECIFIER_PATTERN = /^\s*(===|==|!=|<=|>=|~=|<|>)\s*(\S+?)\s*$/

/** Whether `version` satisfies one PEP 440 clause such as `>=3.9` or `==3.*`. */
export function satisfiesClause(version: string, clause: string): boolean {
  const m = SPECIFIER_PATTERN.exec(clause)
  if (!m) throw new Error(`invalid version specifier "${clause}"`)
  const [, op, target] = m
  if (op === '===') return version.trim().toLowerCase() === target.toLowerCase()
  const candidate = parseVersion(version)
  const wildcard = target.endsWith('.*')
  const spec = parseVersion(wildcard ? target.slice(0, -2) : target)
  if (!candidate || !spec) return false
  if (wildcard) {
    if (op !== '==' && op !== '!=') throw new Error(`invalid version specifier "${clause}"`)
    const matches =
      candidate.epoch === spec.epoch &&
      spec.release.every((n, i) => (candidate.release[i] ?? 0) === n)
    return op === '==' ? matches : !matches
  }
  const order = comparePep440Versions(candidate, spec, spec.local !== undefined)
  const sameRelease = comparePep440Versions(baseOf(candidate), baseOf(spec)) === 0
  switch (op) {
    case '==':
      return order === 0
    case '!=':
      return order !== 0
    case '<=':
      return comparePep440Versions(candidate, spec, false) <= 0
    case '>=':
      return comparePep440Versions(candidate, spec, false) >= 0
    case '<':
      // `<3.13` must not admit 3.13.0rc1
      return order < 0 && !(!isPre(spec) && isPre(candidate) && sameRelease)
    case '>':
      // `>3.12` must not admit 3.12.post1 or 3.12+local
      return (
        comparePep440Versions(candidate, spec, false) > 0 &&
        !(spec.post === undefined && candidate.post !== undefined && sameRelease) &&
        !(candidate.local !== undefined && sameRelease)
      )
    default: {
      // ~=X.Y.Z: >=X.Y.Z and ==X.Y.*
      if (spec.release.length < 2) throw new Error(`invalid version specifier "${clause}"`)
      const prefix = spec.release.slice(0, -1).join('.')
      return satisfiesClause(version, `>=${target}`) && satisfiesClause(version, `==${prefix}.*`)
    }
  }
}

function baseOf(v: Version): Version {
  return { epoch: v.epoch, release: v.release }
}

function isPre(v: Version): boolean {
  return v.pre !== undefined || v.dev !== undefined
}

/** Whether `version` satisfies a comma-separated specifier set such as `>=3.9,<4`. */
export function satisfiesSpecifiers(version: string, specifiers: string): boolean {
  return specifiers
    .split(',')
    .map(s => s.trim())
    .filter(Boolean)
    .every(clause => satisfiesClause(version, clause))
}

// ---------------------------------------------------------------------------------------------
// PEP 508 markers

type Operand = { variable: string } | { literal: string }
type MarkerNode =
  | { kind: 'and' | 'or'; left: MarkerNode; right: MarkerNode }
  | { kind: 'compare'; lhs: Operand; op: string; rhs: Operand }

const VARIABLES = new Set([
  'python_version',
  'python_full_version',
  'platform_machine',
  'sys_platform',
  'platform_system',
  'os_name',
  'implementation_name',
  'platform_python_implementation',
  'platform_release',
  'platform_version',
  'implementation_version',
  'extra'
])
/** Old spellings that packaging still accepts. */
const ALIASES: Record<string, string> = {
  'os.name': 'os_name',
  'sys.platform': 'sys_platform',
  'platform.version': 'platform_version',
  'platform.machine': 'platform_machine',
  'platform.python_implementation': 'platform_python_implementation',
  python_implementation: 'platform_python_implementation'
}
const VERSION_VARIABLES = new Set([
  'python_version',
  'python_full_version',
  'implementation_version'
])

const TOKEN_PATTERN =
  /\s*(?:(\()|(\))|'([^']*)'|"([^"]*)"|(===|==|!=|<=|>=|~=|<|>)|([A-Za-z_][\w.]*))/y

type Token =
  | { type: '(' | ')' }
  | { type: 'string'; value: string }
  | { type: 'op'; value: string }
  | { type: 'word'; value: string }

function tokenize(text: string): Token[] {
  const tokens: Token[] = []
  TOKEN_PATTERN.lastIndex = 0
  while (TOKEN_PATTERN.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(TOKEN_PATTERN.lastIndex))) break
    const at = TOKEN_PATTERN.lastIndex
    const m = TOKEN_PATTERN.exec(text)
    if (!m) throw new Error(`unexpected text at "${text.slice(at).trim()}"`)
    if (m[1]) tokens.push({ type: '(' })
    else if (m[2]) tokens.push({ type: ')' })
    else if (m[3] !== undefined || m[4] !== undefined)
      tokens.push({ type: 'string', value: m[3] ?? m[4] })
    else if (m[5]) tokens.push({ type: 'op', value: m[5] })
    else tokens.push({ type: 'word', value: m[6] })
  }
  return tokens
}

const parsedMarkers = new Map<string, MarkerNode>()

/** Parses a marker expression; throws `invalid environment marker "…": why` on bad syntax. */
export function parseMarker(text: string): MarkerNode {
  const cached = parsedMarkers.get(text)
  if (cached) return cached
  let tokens: Token[]
  let position = 0
  const peek = (): Token | undefined => tokens[position]
  const isWord = (word: string): boolean => {
    const t = peek()
    return t?.type === 'word' && t.value === word
  }
  const parseOr = (): MarkerNode => {
    let node = parseAnd()
    while (isWord('or')) {
      position++
      node = { kind: 'or', left: node, right: parseAnd() }
    }
    return node
  }
  const parseAnd = (): MarkerNode => {
    let node = parseAtom()
    while (isWord('and')) {
      position++
      node = { kind: 'and', left: node, right: parseAtom() }
    }
    return node
  }
  const parseAtom = (): MarkerNode => {
    if (peek()?.type === '(') {
      position++
      const node = parseOr()
      if (peek()?.type !== ')') throw new Error('missing ")"')
      position++
      return node
    }
    const lhs = parseOperand()
    const op = parseOperator()
    const rhs = parseOperand()
    if ('variable' in lhs === 'variable' in rhs)
      throw new Error('a comparison needs one variable and one quoted string')
    return { kind: 'compare', lhs, op, rhs }
  }
  const parseOperand = (): Operand => {
    const t = tokens[position++]
    if (t?.type === 'string') return { literal: t.value }
    if (t?.type === 'word') {
      const name = ALIASES[t.value] ?? t.value
      if (!VARIABLES.has(name)) throw new Error(`unknown variable "${t.value}"`)
      return { variable: name }
    }
    throw new Error('expected a variable or a quoted string')
  }
  const parseOperator = (): string => {
    const t = tokens[position++]
    if (t?.type === 'op') return t.value
    if (t?.type === 'word' && t.value === 'in') return 'in'
    if (t?.type === 'word' && t.value === 'not' && isWord('in')) {
      position++
      return 'not in'
    }
    throw new Error('expected a comparison operator')
  }
  try {
    tokens = tokenize(text)
    if (tokens.length === 0) throw new Error('empty marker')
    const node = parseOr()
    if (position !== tokens.length) throw new Error('unexpected text after the expression')
    parsedMarkers.set(text, node)
    return node
  } catch (error) {
    throw new Error(`invalid environment marker "${text}": ${(error as Error).message}`)
  }
}

/**
 * Evaluates a marker for the given environment. `extras` is the set of active extras:
 * `extra == "x"` holds when x is among them (pip's one-extra-at-a-time evaluation gives the
 * same answer for a set of zero or one).
 */
export function markerMatches(
  marker: string,
  env: MarkerEnvironment,
  extras: ReadonlySet<string> = new Set()
): boolean {
  return evaluate(parseMarker(marker), env, extras)
}

function evaluate(node: MarkerNode, env: MarkerEnvironment, extras: ReadonlySet<string>): boolean {
  if (node.kind !== 'compare') {
    const left = evaluate(node.left, env, extras)
    return node.kind === 'and'
      ? left && evaluate(node.right, env, extras)
      : left || evaluate(node.right, env, extras)
  }
  const variable =
    'variable' in node.lhs ? node.lhs.variable : (node.rhs as { variable: string }).variable
  if (variable === 'extra') {
    const literal =
      'literal' in node.lhs ? node.lhs.literal : (node.rhs as { literal: string }).literal
    const active = extras.has(canonicalExtra(literal))
    if (node.op === '==') return active
    if (node.op === '!=') return !active
    return false
  }
  const value = (operand: Operand): string =>
    'literal' in operand ? operand.literal : env[operand.variable as keyof MarkerEnvironment]
  // "3.1" in "3.10 3.11" must not hold for a version on the left, so compare item by item
  const versionList = 'variable' in node.lhs && VERSION_VARIABLES.has(variable)
  return compare(value(node.lhs), node.op, value(node.rhs), versionList)
}

function compare(lhs: string, op: string, rhs: string, versionList: boolean): boolean {
  if (op === 'in' || op === 'not in') {
    const items = rhs.split(/[\s,]+/).filter(Boolean)
    const contained =
      versionList && parseVersion(lhs) && items.every(item => parseVersion(item))
        ? items.some(item => satisfiesClause(lhs, `==${item}`))
        : rhs.includes(lhs)
    return op === 'in' ? contained : !contained
  }
  // PEP 508: PEP 440 comparison when both sides are versions, Python string comparison otherwise.
  if (parseVersion(lhs) && parseVersion(rhs.replace(/\.\*$/, '')))
    return satisfiesClause(lhs, op + rhs)
  switch (op) {
    case '==':
    case '===':
      return lhs === rhs
    case '!=':
      return lhs !== rhs
    case '<':
      return lhs < rhs
    case '<=':
      return lhs <= rhs
    case '>':
      return lhs > rhs
    case '>=':
      return lhs >= rhs
    default:
      return false
  }
}

/** PEP 685: extra names compare in their normalised form. */
export function canonicalExtra(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[-_.]+/g, '-')
}
