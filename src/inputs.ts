import path from 'node:path'
import {
  ARCHITECTURES,
  DEFAULT_RUNTIME,
  LIMITS,
  findRuntime,
  newestSupportedRuntime,
  runtimePhase,
  usableRuntimes,
  type Architecture,
  type RuntimeFacts
} from './facts.js'
import type { Target } from './facts.js'
import { checkPipArgs } from './builder/pip.js'
import { errorMessage } from './errors.js'
import { shellWords } from './words.js'
import { readFileSync, realpathSync, statSync } from 'node:fs'
import {
  EVERY_USER_OF_THE_LAYER,
  isLayerName,
  layerBaseName,
  parseFunctionRef,
  parseSharePrincipal,
  ssmParameterNames
} from './names.js'
import { credentialsNeedEncoding, pipArgSecrets, redact, redactUrl, urlSecrets } from './secrets.js'
import { checkArtifactName } from './report/artifact.js'
import { canonicalName } from './sources/pep508.js'
import { OUTSIDE_WORKSPACE_FIX, isInside, workspaceRoot } from './sources/common.js'

export type VerifyMode = 'error' | 'warn' | 'off'

/** One line of the `files` input: a workspace path and where it goes in the layer. */
export interface FileMapping {
  /** As written, for messages. */
  line: string
  /** Relative to the workspace, without `..`. */
  source: string
  /** `python/…`, `lib/…` or `bin/…`; a trailing `/` keeps the source's own name. */
  destination: string
}
export type ImportCheckMode = 'auto' | 'true' | 'false'

/** Every input of action.yml, read once and validated before anything else happens. */
export interface ActionInputs {
  requirements: string
  /** A layer zip built elsewhere, absolute: published instead of building (nothing is run). */
  layerZip?: string
  /** Requirement files may be read from anywhere on the runner, not only the workspace. */
  allowOutsideWorkspace: boolean
  target: Target
  python: string
  indexUrl?: string
  extraIndexUrls: string[]
  pipArgs: string[]
  extras: string[]
  groups: string[]
  exclude: string[]
  /** Files and folders of the workspace added to the layer. */
  files: FileMapping[]
  /** A layer with no packages may ship; otherwise it fails the gate. */
  allowEmpty: boolean
  slim: boolean
  strip: boolean
  verify: VerifyMode
  importCheck: ImportCheckMode
  importCheckSkip: string[]
  /** Zips or folders (absolute paths) holding other layers' `python/`, for the import check. */
  importCheckLayers: string[]
  publish: boolean
  /** publish: plan — build, verify and compare with the published version; no write call. */
  plan: boolean
  layerName?: string
  description?: string
  licenseInfo?: string
  compatibleRuntimes: string[]
  compatibleArchitectures: Architecture[]
  /** Empty: the region from the SDK's default chain. */
  regions: string[]
  s3Bucket?: string
  s3Prefix: string
  skipUnchanged: boolean
  functions: string[]
  /** JSON (compact) invoked on each updated function after the update; undefined: no smoke test. */
  smokeTestPayload?: string
  shareWith: string[]
  /** 0 keeps every version. */
  keepVersions: number
  /** SSM parameter name (with placeholders) that receives the layer version ARN per region. */
  ssmParameter?: string
  uploadArtifact: boolean
  artifactName?: string
  artifactRetentionDays?: number
  /** Values to mask in logs (credentials inside index URLs). */
  secrets: string[]
  /** Things worth saying that do not stop the run (a runtime nearing its end of life). */
  warnings: string[]
}

/** The defaults of action.yml, applied here too so the bundle runs the same without it. */
export const INPUT_DEFAULTS: Record<string, string> = {
  requirements: 'requirements.txt',
  'layer-zip': '',
  'allow-outside-workspace': 'false',
  runtime: DEFAULT_RUNTIME,
  architecture: 'x86_64',
  python: 'python3',
  'index-url': '',
  'extra-index-url': '',
  'pip-args': '',
  extras: '',
  groups: '',
  exclude: '',
  files: '',
  'allow-empty': 'false',
  slim: 'true',
  strip: 'false',
  verify: 'error',
  'import-check': 'auto',
  'import-check-skip': '',
  'import-check-layers': '',
  publish: 'true',
  'layer-name': '',
  description: '',
  'license-info': '',
  'compatible-runtimes': '',
  'compatible-architectures': '',
  regions: '',
  's3-bucket': '',
  's3-prefix': '',
  'skip-unchanged': 'true',
  functions: '',
  'smoke-test-payload': '',
  'share-with': '',
  'keep-versions': '',
  'ssm-parameter': '',
  'upload-artifact': 'false',
  'artifact-name': '',
  'artifact-retention-days': ''
}

export class InputError extends Error {
  override name = 'InputError'
}

type GetInput = (name: string) => string

/** Reads `INPUT_<NAME>` the way @actions/core does, falling back to action.yml's default. */
export function inputFromEnv(env: NodeJS.ProcessEnv = process.env): GetInput {
  return name => {
    const value = env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`]?.trim() ?? ''
    return value === '' ? (INPUT_DEFAULTS[name] ?? '') : value
  }
}

export function readInputs(get: GetInput = inputFromEnv(), today = new Date()): ActionInputs {
  const warnings: string[] = []
  const runtime = readRuntime(get('runtime'), today, warnings)
  const architecture = oneOf(get, 'architecture', ARCHITECTURES)
  const indexUrl = optionalUrl(get, 'index-url')
  const extraIndexUrls = list(get('extra-index-url'), /\s+/).map(url =>
    checkUrl('extra-index-url', url)
  )
  const publishMode = readPublish(get)
  const publish = publishMode === 'true'
  const pipArgs = splitArgs(get('pip-args'))
  asInputError(() => checkPipArgs(pipArgs))
  const functions = unique(list(get('functions'), /\n/).map(checkFunction))
  const compatibleRuntimes = readCompatibleRuntimes(get, runtime, today)
  const compatibleArchitectures = readCompatibleArchitectures(get, architecture)
  if (!compatibleRuntimes.includes(runtime.name)) {
    warnings.push(
      `compatible-runtimes: ${compatibleRuntimes.join(', ')} does not include ${runtime.name}, the runtime the layer is built for; functions on other Python versions may fail to import its extension modules`
    )
  }

  const allowOutsideWorkspace = bool(get, 'allow-outside-workspace')
  return {
    requirements: get('requirements'),
    layerZip: readLayerZip(get, allowOutsideWorkspace),
    allowOutsideWorkspace,
    target: { runtime, architecture },
    python: get('python'),
    indexUrl,
    extraIndexUrls,
    pipArgs,
    extras: list(get('extras')),
    groups: list(get('groups')),
    exclude: list(get('exclude')).map(canonicalName),
    files: list(get('files'), /\n/).map(readFileMapping),
    allowEmpty: bool(get, 'allow-empty'),
    slim: bool(get, 'slim'),
    strip: bool(get, 'strip'),
    verify: oneOf(get, 'verify', ['error', 'warn', 'off'] as const),
    importCheck: oneOf(get, 'import-check', ['auto', 'true', 'false'] as const),
    importCheckSkip: list(get('import-check-skip')),
    importCheckLayers: readImportCheckLayers(get),
    publish,
    plan: publishMode === 'plan',
    layerName: readLayerName(get, publishMode !== 'false'),
    description: maxLength(get, 'description', LIMITS.descriptionMax),
    licenseInfo: maxLength(get, 'license-info', LIMITS.licenseInfoMax),
    compatibleRuntimes,
    compatibleArchitectures,
    regions: unique(list(get('regions')).map(checkRegion)),
    s3Bucket: get('s3-bucket') || undefined,
    s3Prefix: get('s3-prefix'),
    skipUnchanged: bool(get, 'skip-unchanged'),
    functions,
    smokeTestPayload: readSmokePayload(get, functions),
    shareWith: list(get('share-with')).map(checkPrincipal),
    keepVersions: wholeNumber(get, 'keep-versions', 0, 10_000) ?? 0,
    ssmParameter: readSsmParameter(get, runtime.name, architecture),
    uploadArtifact: bool(get, 'upload-artifact'),
    artifactName: readArtifactName(get),
    artifactRetentionDays: wholeNumber(get, 'artifact-retention-days', 1, 90),
    secrets: [
      ...[indexUrl, ...extraIndexUrls].flatMap(url => (url ? urlSecrets(url) : [])),
      ...pipArgSecrets(pipArgs)
    ],
    warnings
  }
}

/** Paths in the workspace (or anywhere, with allow-outside-workspace) of a .zip or a folder. */
function readImportCheckLayers(get: GetInput): string[] {
  const accepted = 'give the path of a layer zip or of a folder holding its python/ folder'
  return unique(list(get('import-check-layers'))).map(value => {
    if (value.startsWith('arn:')) {
      throw new InputError(
        `import-check-layers: "${value}" is a layer ARN, which the check does not fetch; ${accepted}`
      )
    }
    const file = path.resolve(workspaceRoot(), value)
    if (!bool(get, 'allow-outside-workspace') && !isInside(file, workspaceRoot())) {
      throw new InputError(
        `import-check-layers: "${value}" is outside the workspace; ${OUTSIDE_WORKSPACE_FIX}`
      )
    }
    const kind = statSync(file, { throwIfNoEntry: false })
    if (!kind?.isDirectory() && !(kind?.isFile() && file.endsWith('.zip'))) {
      throw new InputError(
        `import-check-layers: "${value}" is ${kind ? 'neither a .zip file nor a folder' : 'not found'}; ${accepted}`
      )
    }
    return file
  })
}

/** Where Lambda looks in /opt: python/ is on sys.path, lib/ on LD_LIBRARY_PATH, bin/ on PATH. */
const LAYER_FOLDERS = ['python/', 'lib/', 'bin/']

const FILES_SYNTAX =
  'write one "path/in/workspace -> python/…, lib/… or bin/…" per line (a destination ending in / keeps the name)'

/** `src/shared_utils -> python/shared_utils`, `vendor/libpq.so.5 -> lib/`. */
function readFileMapping(line: string): FileMapping {
  const arrow = /^(.*?)\s*->\s*(.*)$/.exec(line)
  if (!arrow || !arrow[1] || !arrow[2])
    throw new InputError(`files: "${line}" is not a mapping; ${FILES_SYNTAX}`)
  const [, source, written] = arrow
  const destination = LAYER_FOLDERS.includes(`${written}/`) ? `${written}/` : written
  const climbs = (p: string): boolean => p.split(/[/\\]/).includes('..')
  if (path.isAbsolute(source) || climbs(source))
    throw new InputError(
      `files: "${line}": the source must be a path inside the workspace, relative to it and without ".."`
    )
  if (
    !LAYER_FOLDERS.some(folder => destination.startsWith(folder)) ||
    climbs(destination) ||
    destination.includes('\\') ||
    /\/\/|\/\.\//.test(destination)
  )
    throw new InputError(
      `files: "${line}": the destination must be under python/, lib/ or bin/ (where Lambda looks in /opt), without ".."; ${FILES_SYNTAX}`
    )
  return { line, source, destination }
}

function readLayerZip(get: GetInput, allowOutsideWorkspace: boolean): string | undefined {
  const value = get('layer-zip')
  if (!value) return undefined
  // a zip built elsewhere is published as it is: nothing is added to it here
  if (get('files')) {
    throw new InputError(
      'files: cannot be added to a layer-zip built elsewhere; add them in the job that builds the zip'
    )
  }
  const root = workspaceRoot()
  const file = path.resolve(root, value)
  if (!allowOutsideWorkspace && !isInside(file, root)) {
    throw new InputError(
      `layer-zip: "${value}" is outside the workspace; use a path inside it (where actions/download-artifact puts an artifact), or set allow-outside-workspace: true`
    )
  }
  if (!statSync(file, { throwIfNoEntry: false })?.isFile()) {
    throw new InputError(
      `layer-zip: "${value}" is not a file; give the path of a layer zip, for example an earlier job's artifact after actions/download-artifact`
    )
  }
  return file
}

function readArtifactName(get: GetInput): string | undefined {
  const name = get('artifact-name')
  if (name) asInputError(() => checkArtifactName(name))
  return name || undefined
}

/**
 * Checked for each region given (or a typical one when the region comes from the SDK chain;
 * the AWS preflight checks again with it), so a name SSM would refuse fails before pip.
 */
function readSsmParameter(
  get: GetInput,
  runtime: string,
  architecture: Architecture
): string | undefined {
  const template = get('ssm-parameter')
  if (!template) return undefined
  const regions = list(get('regions'))
  // only a build (publish: false) may have no layer name; the template is still checked
  const layer = layerBaseName(get('layer-name')) || 'layer'
  try {
    ssmParameterNames(
      template,
      { runtime, architecture, layer },
      regions.length ? regions : ['us-east-1']
    )
  } catch (error) {
    throw new InputError(`ssm-parameter: ${errorMessage(error)}`)
  }
  return template
}

function readRuntime(name: string, today: Date, warnings: string[]): RuntimeFacts {
  const runtime = findRuntime(name)
  if (!runtime) {
    throw new InputError(
      `runtime: "${name}" is not a Lambda Python runtime; ${runtimeChoice('one of', today)}`
    )
  }
  const phase = runtimePhase(runtime, today)
  const moveTo = newestSupportedRuntime(today)?.name ?? 'a newer runtime'
  if (phase === 'updateBlocked') {
    throw new InputError(`runtime: ${endOfLife(runtime)}; ${runtimeChoice('one of', today)}`)
  }
  if (phase === 'createBlocked') {
    warnings.push(
      `runtime: ${runtime.name} is deprecated on Lambda (${lifecycleDates(runtime)}): new functions can no longer be created on it; existing ones can be updated until ${runtime.blockUpdate}; move to ${moveTo}`
    )
  }
  if (phase === 'deprecated') {
    warnings.push(
      `runtime: ${runtime.name} is deprecated on Lambda (${lifecycleDates(runtime)}): AWS no longer patches it; move to ${moveTo}`
    )
  }
  return runtime
}

function lifecycleDates(runtime: RuntimeFacts): string {
  return `deprecated ${runtime.deprecated}, function create blocked ${runtime.blockCreate}, update blocked ${runtime.blockUpdate}`
}

function endOfLife(runtime: RuntimeFacts): string {
  return `${runtime.name} is past its end of life on Lambda (${lifecycleDates(runtime)}): no function on it can be created or updated`
}

/** The runtimes both runtime inputs accept: one list, so they always agree. */
function runtimeChoice(how: 'one of' | 'any of', today: Date): string {
  const names = usableRuntimes(today).map(r => r.name)
  // an old release of the action run years later: its table has only retired runtimes left
  if (names.length === 0) {
    return 'this release of the action knows no runtime Lambda still accepts; use a newer release'
  }
  return `use ${how} ${names.join(', ')}`
}

/** true, false or plan; true/false in any case, as core.getBooleanInput reads them. */
function readPublish(get: GetInput): 'true' | 'false' | 'plan' {
  const value = get('publish').toLowerCase()
  if (value === 'true' || value === 'false' || value === 'plan') return value
  throw new InputError(
    `publish: "${get('publish')}" is not accepted; use true, false or plan (build, verify and compare with the published version, no write call)`
  )
}

function readLayerName(get: GetInput, needed: boolean): string | undefined {
  const name = get('layer-name')
  if (!name) {
    if (needed) {
      throw new InputError(
        'layer-name: required when publish is true or plan (a name of letters, digits, - and _, or a layer ARN); or set publish: false to only build'
      )
    }
    return undefined
  }
  if (!isLayerName(name)) {
    throw new InputError(
      `layer-name: "${name}" is not a layer name: use 1-${LIMITS.layerNameMax} letters, digits, - and _, or a layer ARN (arn:aws:lambda:REGION:ACCOUNT:layer:NAME)`
    )
  }
  return name
}

function readCompatibleRuntimes(get: GetInput, runtime: RuntimeFacts, today: Date): string[] {
  const runtimes = list(get('compatible-runtimes'))
  if (runtimes.length === 0) return [runtime.name]
  for (const name of runtimes) {
    const listed = findRuntime(name)
    if (!listed) {
      throw new InputError(
        `compatible-runtimes: "${name}" is not a Lambda Python runtime; ${runtimeChoice('any of', today)}`
      )
    }
    // attaching a layer is a function update: past block update no function could take it
    if (runtimePhase(listed, today) === 'updateBlocked') {
      throw new InputError(
        `compatible-runtimes: ${endOfLife(listed)}; ${runtimeChoice('any of', today)}`
      )
    }
  }
  if (runtimes.length > LIMITS.compatibleRuntimesMax) {
    throw new InputError(`compatible-runtimes: at most ${LIMITS.compatibleRuntimesMax} runtimes`)
  }
  return [...new Set(runtimes)]
}

function readCompatibleArchitectures(get: GetInput, architecture: Architecture): Architecture[] {
  const names = list(get('compatible-architectures'))
  if (names.length === 0) return [architecture]
  for (const name of names) {
    if (!(ARCHITECTURES as readonly string[]).includes(name)) {
      throw new InputError(
        `compatible-architectures: "${name}" is not a Lambda architecture; use ${ARCHITECTURES.join(' and/or ')}`
      )
    }
  }
  if (!names.includes(architecture)) {
    throw new InputError(
      `compatible-architectures: must include ${architecture}, the architecture the layer is built for (its shared objects run on nothing else)`
    )
  }
  return [...new Set(names)] as Architecture[]
}

function oneOf<T extends string>(get: GetInput, name: string, accepted: readonly T[]): T {
  const value = get(name)
  if (!(accepted as readonly string[]).includes(value)) {
    throw new InputError(`${name}: "${value}" is not accepted; use one of ${accepted.join(', ')}`)
  }
  return value as T
}

function bool(get: GetInput, name: string): boolean {
  const value = get(name).toLowerCase()
  if (value === 'true') return true
  if (value === 'false') return false
  throw new InputError(`${name}: "${get(name)}" is not accepted; use true or false`)
}

function wholeNumber(get: GetInput, name: string, min: number, max: number): number | undefined {
  const value = get(name)
  if (value === '') return undefined
  const number = Number(value)
  if (!/^\d+$/.test(value) || number < min || number > max) {
    throw new InputError(
      `${name}: "${value}" is not accepted; use a whole number from ${min} to ${max}`
    )
  }
  return number
}

function maxLength(get: GetInput, name: string, max: number): string | undefined {
  const value = get(name)
  if (value.length > max) {
    throw new InputError(
      `${name}: ${value.length} characters is too long; Lambda accepts at most ${max}`
    )
  }
  return value || undefined
}

function optionalUrl(get: GetInput, name: string): string | undefined {
  const value = get(name)
  return value ? checkUrl(name, value) : undefined
}

function checkUrl(name: string, value: string): string {
  // readInputs throws before the secrets are registered: the message itself must not hold them
  const shown = redactUrl(value)
  if (credentialsNeedEncoding(value)) {
    throw new InputError(
      `${name}: "${shown}" has a /, ?, #, \\ or space in its user name or password, which pip would not read as part of it; percent-encode them (%2F, %3F, %23, %5C, %20)`
    )
  }
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InputError(`${name}: "${shown}" is not a URL; use an http(s):// or file:// index URL`)
  }
  if (!['http:', 'https:', 'file:'].includes(url.protocol)) {
    throw new InputError(
      `${name}: "${shown}" is not accepted; use an http(s):// or file:// index URL`
    )
  }
  return value
}

// us-east-1, us-gov-west-1, cn-north-1, us-isob-east-1, eusc-de-east-1
const REGION = /^[a-z]{2,4}(-[a-z]+)+-\d+$/

function checkRegion(region: string): string {
  if (!REGION.test(region)) {
    throw new InputError(
      `regions: "${region}" is not an AWS region; use names like us-east-1, eu-west-1`
    )
  }
  return region
}

/**
 * The smoke test's event: inline JSON, or a JSON file in the workspace. Read and parsed now,
 * so a typo fails before the build, not after the functions were updated.
 */
function readSmokePayload(get: GetInput, functions: string[]): string | undefined {
  const value = get('smoke-test-payload')
  if (!value) return undefined
  if (functions.length === 0) {
    throw new InputError(
      'smoke-test-payload: there is no function to invoke; name them in functions (or use * for every function using this layer)'
    )
  }
  // JSON text starts with one of these; anything else is a path
  const inline = /^[[{"\d-]|^(true|false|null)$/.test(value)
  let text = value
  if (!inline) {
    const workspace = workspaceRoot()
    const file = path.resolve(workspace, value)
    let real: string
    try {
      real = realpathSync(file)
    } catch {
      throw new InputError(
        `smoke-test-payload: "${value}" is neither JSON nor a file in the workspace; give a JSON event (for example {"path": "/health"}) or the path of a .json file`
      )
    }
    if (!isInside(real, realpathSync(workspace))) {
      throw new InputError(
        `smoke-test-payload: "${value}" is outside the workspace; move the file into the repository`
      )
    }
    if (!statSync(real).isFile() || statSync(real).size > LIMITS.invokePayloadBytes) {
      throw new InputError(
        `smoke-test-payload: "${value}" is not a file of at most ${LIMITS.invokePayloadBytes} bytes (Lambda's synchronous invocation limit)`
      )
    }
    text = readFileSync(real, 'utf8')
  }
  let event: unknown
  try {
    event = JSON.parse(text)
  } catch (error) {
    throw new InputError(
      `smoke-test-payload: ${inline ? 'the value' : `"${value}"`} is not valid JSON (${errorMessage(error)}); give a JSON event or the path of a .json file`
    )
  }
  const compact = JSON.stringify(event)
  if (Buffer.byteLength(compact) > LIMITS.invokePayloadBytes) {
    throw new InputError(
      `smoke-test-payload: larger than ${LIMITS.invokePayloadBytes} bytes, Lambda's synchronous invocation limit`
    )
  }
  return compact
}

/** Names rules live in names.ts; here they only become input errors. */
function checkFunction(name: string): string {
  if (name === EVERY_USER_OF_THE_LAYER) return name
  asInputError(() => parseFunctionRef(name))
  return name
}

function checkPrincipal(principal: string): string {
  asInputError(() => parseSharePrincipal(principal))
  return principal
}

function asInputError(check: () => unknown): void {
  try {
    check()
  } catch (error) {
    // a pip-args word may hold an index URL with its password
    throw new InputError(redact(errorMessage(error)))
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)]
}

/** Comma or newline separated values, trimmed, empties and comments dropped. */
export function list(value: string, separator: RegExp = /[,\n]/): string[] {
  return value
    .split(separator)
    .map(item => item.trim())
    .filter(item => item !== '' && !item.startsWith('#'))
}

/** pip-args as the words pip gets (see shellWords): never through a shell. */
export function splitArgs(value: string): string[] {
  try {
    return shellWords(value)
  } catch (error) {
    throw new InputError(`pip-args: ${errorMessage(error)}`)
  }
}
