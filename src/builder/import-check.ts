// Proves the layer loads: every top-level module and every extension module is imported by a
// CPython of the runtime's version and architecture that sees only the layer and the standard
// library. This catches what file checks cannot: a missing transitive dependency, a compiled
// module that needs a module the layer lacks (`cryptography.hazmat.bindings._rust` without
// `_cffi_backend`), an extension module named for another platform, a package that needs the
// runner's site-packages to import.
import * as core from '@actions/core'
import { execFile, spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import path, { join } from 'node:path'
import { mapLimit } from '../concurrency.js'
import type { ActionInputs } from '../inputs.js'
import { canonicalName, requirementName } from '../sources/pep508.js'
import type { Interpreter } from './interpreter.js'
import { installRequirements } from './pip.js'
import type { Exclusion } from './prune.js'
import type { LayerPackage } from './site.js'

export interface ImportFailure {
  package: string
  module: string
  /** The exception's last line, e.g. "ModuleNotFoundError: No module named 'b'". */
  error: string
  /** Why, when the import needs a distribution that `exclude` left out of the layer. */
  cause?: string
}

export interface ImportCheckResult {
  /** Modules imported (passed or failed), top-level and extension modules by dotted name. */
  checked: string[]
  /** Modules of the layer left out because `skip` named them or their distribution. */
  skipped: ImportedModule[]
  failures: ImportFailure[]
  /** Failures caused by a distribution `exclude` left out, with no other layer to bring it. */
  setAside: ImportFailure[]
  /**
   * Modules that import only through what imports them: a distribution of the layer that
   * requires theirs (psycopg for psycopg_binary), or a module of their own folder.
   */
  throughDependents: Array<ImportedModule & { dependent: string }>
  /** `skip` entries that name no module or distribution of the layer. */
  unknownSkips: string[]
}

export interface ImportedModule {
  module: string
  package: string
}

/** A distribution `exclude` left out, and the top-level modules it had. */
export interface ExcludedDistribution {
  name: string
  modules: string[]
}

/**
 * Interpreters run at once, one a core: GitHub's private-repository runners have two cores,
 * public ones four. Capped, since each holds its distribution's whole import in memory.
 */
const CONCURRENT_IMPORTS = Math.min(4, Math.max(2, availableParallelism()))
/** Time a single module may take to import; an interpreter imports one after another. */
const DEFAULT_IMPORT_TIMEOUT_MS = 30_000
/** Output kept per line; a module that prints a lot must not grow memory without bound. */
const OUTPUT_LIMIT = 64 * 1024
const ERROR_LINE_LIMIT = 500

/** The import check's interpreter, looked for in preflight: undefined when the check is off. */
export type ImportCheckInterpreter = { interpreter?: Interpreter; reason?: string } | undefined

/** The check ready to run: its interpreter and what goes beside the layer; undefined when off. */
export type PreparedImportCheck =
  | {
      interpreter?: Interpreter
      reason?: string
      extraPaths: string[]
      /** Site folders of the other layers (import-check-layers), after the layer and the SDK. */
      otherLayerPaths?: string[]
      excluded?: ExcludedDistribution[]
    }
  | undefined

/** What the job summary and the gate read: one line, and each failure. */
export interface ImportCheckOutcome {
  summary: string
  failures: string[]
}

/**
 * Puts the runtime's SDK beside the layer when the layer left it out, and unpacks the other
 * layers named in import-check-layers. It touches nothing of the layer, so it runs while the
 * zip is written.
 */
export async function prepareImportCheck(
  inputs: ActionInputs,
  lookup: ImportCheckInterpreter,
  excluded: Exclusion[],
  workDir: string
): Promise<PreparedImportCheck> {
  if (!lookup?.interpreter) return lookup && { ...lookup, extraPaths: [] }
  const [sdkDir, otherLayerPaths] = await Promise.all([
    installExcludedSdk(inputs, excluded, workDir),
    otherLayerSites(lookup.interpreter, inputs.importCheckLayers, workDir)
  ])
  return {
    ...lookup,
    extraPaths: sdkDir ? [sdkDir] : [],
    otherLayerPaths,
    excluded: excluded
      .filter(e => !e.providedByRuntime)
      .map(e => ({ name: e.name, modules: e.modules ?? [] }))
  }
}

/**
 * The check as a pipeline step: import every module, and report. It runs package code, which
 * may write into its own folder, so the caller runs it only once the zip is final.
 */
export async function runImportCheck(
  inputs: ActionInputs,
  prepared: PreparedImportCheck,
  siteDir: string,
  packages: LayerPackage[]
): Promise<ImportCheckOutcome> {
  if (!prepared) return { summary: 'off', failures: [] }
  const { interpreter, reason, extraPaths, otherLayerPaths = [], excluded = [] } = prepared
  if (!interpreter) {
    core.info(`import check skipped: ${reason}`)
    return { summary: `skipped: ${reason}`, failures: [] }
  }
  const result = await core.group('import check', () =>
    checkImports({
      interpreter,
      siteDir,
      extraPaths,
      otherLayerPaths,
      excluded,
      packages,
      skip: inputs.importCheckSkip
    })
  )
  for (const entry of result.unknownSkips) {
    core.warning(
      `import-check-skip: "${entry}" names no module or distribution of the layer; nothing skipped for it`
    )
  }
  for (const failure of result.setAside) {
    core.notice(
      `import check: ${describeImportFailure(failure)}; not counted as a failure: add the layer that provides it to import-check-layers to check ${failure.module}`
    )
  }
  const failures = result.failures.map(describeImportFailure)
  const annotation = importAnnotation(failures)
  if (annotation && inputs.verify === 'error') core.error(annotation)
  else if (annotation && inputs.verify === 'warn') core.warning(annotation)
  return { summary: importSummary(result, interpreter), failures }
}

function importSummary(result: ImportCheckResult, interpreter: Interpreter): string {
  const modules = `${result.checked.length} module${result.checked.length === 1 ? '' : 's'}`
  const notes: string[] = []
  if (result.throughDependents.length > 0) {
    const through = result.throughDependents.map(m => `${describeModule(m)} through ${m.dependent}`)
    notes.push(`imported through what imports them: ${through.join(', ')}`)
  }
  if (result.setAside.length > 0) {
    notes.push(
      `not checked, needs a distribution exclude left out: ${result.setAside.map(describeModule).join(', ')}`
    )
  }
  if (result.skipped.length > 0) {
    notes.push(`not imported (import-check-skip): ${result.skipped.map(describeModule).join(', ')}`)
  }
  const rest = notes.map(note => `; ${note}`).join('')
  return result.failures.length === 0
    ? `passed: ${modules} imported with ${interpreter.path} (${interpreter.version} ${interpreter.machine})${rest}`
    : `${result.failures.length} of ${modules} failed to import${rest}`
}

/**
 * One annotation for all failed imports: GitHub shows 10 errors a step, the verification
 * findings take up to 8 and the step's failure line must still show. Each failure is in the
 * log (the import check group), the job summary and the failure line.
 */
export function importAnnotation(failures: string[]): string | undefined {
  if (failures.length === 0) return undefined
  if (failures.length === 1) return `import check: ${failures[0]}`
  const shown = failures.slice(0, 3).join('; ')
  const more = failures.length > 3 ? `; and ${failures.length - 3} more` : ''
  return `import check: ${failures.length} modules failed to import: ${shown}${more} (each in the log and the job summary)`
}

/**
 * The runtime's SDK was left out of the layer because Lambda provides it; the import check
 * needs it beside the layer, as Lambda will have it.
 */
async function installExcludedSdk(
  inputs: ActionInputs,
  excluded: Exclusion[],
  workDir: string
): Promise<string | undefined> {
  const sdk = excluded.filter(e => e.providedByRuntime)
  if (sdk.length === 0) return undefined
  const requirementsFile = path.join(workDir, 'runtime-sdk.txt')
  await writeFile(requirementsFile, sdk.map(e => `${e.name}==${e.version}\n`).join(''))
  const siteDir = path.join(workDir, 'runtime-sdk')
  await installRequirements({
    python: inputs.python,
    target: inputs.target,
    requirementsFile,
    siteDir,
    workDir: path.join(workDir, 'runtime-sdk-work'),
    indexUrl: inputs.indexUrl,
    extraIndexUrls: inputs.extraIndexUrls,
    pipArgs: [...inputs.pipArgs, '--no-deps']
  })
  return siteDir
}

/**
 * The folders Lambda would put on sys.path for each other layer (`python/` and
 * `python/lib/python3.X/site-packages`), a zip unpacked first by the check's own interpreter,
 * whose zipfile never writes outside the folder it extracts to.
 */
export async function otherLayerSites(
  interpreter: Interpreter,
  layers: string[],
  workDir: string
): Promise<string[]> {
  const sites: string[] = []
  for (const [i, layer] of layers.entries()) {
    let root = layer
    if ((await stat(layer)).isFile()) {
      root = path.join(workDir, 'import-check-layers', String(i))
      await mkdir(root, { recursive: true })
      await unzip(interpreter.path, layer, root)
    }
    const candidates = [
      path.join(root, 'python', 'lib', `python${interpreter.version}`, 'site-packages'),
      path.join(root, 'python')
    ]
    const found: string[] = []
    for (const candidate of candidates) {
      if (await isFolder(candidate)) found.push(candidate)
    }
    sites.push(...found)
    if (found.length === 0) {
      throw new Error(
        `import-check-layers: ${layer} has no python/ folder; give a layer zip or a folder holding python/`
      )
    }
  }
  return sites
}

function isFolder(file: string): Promise<boolean> {
  return stat(file).then(
    s => s.isDirectory(),
    () => false
  )
}

function unzip(python: string, zip: string, dest: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(python, ['-I', '-m', 'zipfile', '-e', zip, dest], error =>
      error
        ? reject(new Error(`import-check-layers: could not unpack ${zip}: ${error.message}`))
        : resolve()
    )
  )
}

const NOT_MODULE_FOLDER = /\.(dist-info|egg-info|data|libs)$|^(bin|__pycache__)$/
/** x.py, x.cpython-311-x86_64-linux-gnu.so, x.abi3.so, x.so → x */
const MODULE_FILE = /^([^.]+)(\.py|\.cpython-[^.]+\.so|\.abi3\.so|\.so)$/
/** a/b/_c.cpython-311-x86_64-linux-gnu.so, a/b/_c.abi3.so; plain .so files are libraries there */
const EXTENSION_FILE = /^(.+)\.(cpython-[^.]+|abi3)\.so$/
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/
const TOP_LEVEL_TXT = /^[^/]+\.dist-info\/top_level\.txt$/
const METADATA = /^[^/]+\.dist-info\/METADATA$/

/**
 * The modules a user can `import` from each package, from `top_level.txt` when the package
 * has one (names it does not actually ship are dropped), else from its installed files.
 * A module shipped by several packages (a namespace such as `google`) is listed once.
 */
export async function topLevelModules(
  siteDir: string,
  packages: LayerPackage[]
): Promise<ImportedModule[]> {
  const seen = new Set<string>()
  const modules: ImportedModule[] = []
  for (const pkg of packages) {
    for (const module of await packageModules(siteDir, pkg)) {
      if (seen.has(module)) continue
      seen.add(module)
      modules.push({ module, package: pkg.name })
    }
  }
  return modules
}

/**
 * What the check imports, per package in order: its top-level modules, then every extension
 * module the interpreter can load, by dotted name (`cryptography.hazmat.bindings._rust`).
 */
export async function layerModules(
  siteDir: string,
  packages: LayerPackage[],
  interpreter: Pick<Interpreter, 'version' | 'machine'>
): Promise<ImportedModule[]> {
  const topLevel = await topLevelModules(siteDir, packages)
  const seen = new Set(topLevel.map(m => m.module))
  const modules: ImportedModule[] = []
  for (const pkg of packages) {
    modules.push(...topLevel.filter(m => m.package === pkg.name))
    for (const module of extensionModules(pkg.files, interpreter)) {
      if (seen.has(module)) continue
      seen.add(module)
      modules.push({ module, package: pkg.name })
    }
  }
  return modules
}

/**
 * The dotted names of the extension modules among `files` that this interpreter loads: its own
 * `cpython-3XY-<machine>-linux-gnu` tag or the stable ABI. Others are verify's to report.
 */
export function extensionModules(
  files: string[],
  { version, machine }: Pick<Interpreter, 'version' | 'machine'>
): string[] {
  const ownTag = `cpython-${version.replace('.', '')}-${machine}-linux-gnu`
  const modules: string[] = []
  for (const file of files) {
    const match = EXTENSION_FILE.exec(file)
    if (!match || (match[2] !== 'abi3' && match[2] !== ownTag)) continue
    const parts = match[1].split('/')
    if (parts.every(isImportableName)) modules.push(parts.join('.'))
  }
  return modules.sort()
}

/** The distributions `files` name in Requires-Dist, extras included (psycopg[binary]). */
async function requiredDistributions(siteDir: string, pkg: LayerPackage): Promise<string[]> {
  const file = pkg.files.find(f => METADATA.test(f))
  if (!file) return []
  const text = await readFile(join(siteDir, file), 'utf8').catch(() => '')
  return text
    .split(/\r?\n/)
    .flatMap(line => (/^Requires-Dist:/i.test(line) ? [line.slice(line.indexOf(':') + 1)] : []))
    .map(requirementName)
    .filter((name): name is string => name !== undefined)
    .map(canonicalName)
}

async function packageModules(siteDir: string, pkg: LayerPackage): Promise<string[]> {
  const shipped = modulesInFiles(pkg.files)
  const listed = await readTopLevelTxt(siteDir, pkg.files)
  const names = listed.length > 0 ? listed.filter(name => ships(pkg.files, name)) : shipped
  const modules = [...new Set(names)].filter(isImportableName).sort()
  // A package's private modules (`_yaml`, `_cffi_backend`) are imported through its public
  // ones; on their own they are checked only when they are all the package has.
  const publicModules = modules.filter(name => !name.startsWith('_'))
  return publicModules.length > 0 ? publicModules : modules
}

async function readTopLevelTxt(siteDir: string, files: string[]): Promise<string[]> {
  const file = files.find(f => TOP_LEVEL_TXT.test(f))
  if (!file) return []
  const text = await readFile(join(siteDir, file), 'utf8').catch(() => '')
  return text
    .split(/\r?\n/)
    .map(line => line.trim().split(/[/\\]/)[0])
    .filter(Boolean)
}

/** The top-level modules a list of installed files provides. */
export function modulesInFiles(files: string[]): string[] {
  const modules = new Set<string>()
  for (const file of files) {
    const [first, ...rest] = file.split('/')
    if (rest.length > 0) {
      // A regular package has __init__.py; a namespace package has .py files further down.
      if (file.endsWith('.py')) modules.add(first)
    } else {
      const match = MODULE_FILE.exec(first)
      if (match) modules.add(match[1])
    }
  }
  return [...modules].filter(isImportableName)
}

/** Whether the package's files include the module `name` (a folder or a module file). */
function ships(files: string[], name: string): boolean {
  return files.some(file => {
    const [first, ...rest] = file.split('/')
    return rest.length > 0 ? first === name : MODULE_FILE.exec(first)?.[1] === name
  })
}

function isImportableName(name: string): boolean {
  return IDENTIFIER.test(name) && !NOT_MODULE_FOLDER.test(name)
}

/** Whether a skip entry names the module (or a package above it) or its distribution. */
function skips(entry: string, { module, package: pkg }: ImportedModule): boolean {
  return entry === module || module.startsWith(`${entry}.`) || canonicalName(entry) === pkg
}

/**
 * Imports every module of the layer: one fresh interpreter per distribution, importing its
 * modules one after another, that sees only `siteDir`, `extraPaths`, `otherLayerPaths` and the
 * standard library; each import time-boxed, one interpreter a core (two to four) at a time.
 * A module that fails only when imported before its dependent (psycopg_binary before psycopg)
 * passes when that dependent, a distribution of the layer requiring its own, imports first.
 */
export async function checkImports(options: {
  interpreter: Interpreter
  siteDir: string
  extraPaths?: string[]
  otherLayerPaths?: string[]
  excluded?: ExcludedDistribution[]
  packages: LayerPackage[]
  skip: string[]
  timeoutMs?: number
}): Promise<ImportCheckResult> {
  const { interpreter, siteDir, extraPaths = [], otherLayerPaths = [], packages } = options
  const skip = [...new Set(options.skip.map(s => s.trim()).filter(Boolean))]
  const modules = await layerModules(siteDir, packages, interpreter)
  const toImport = modules.filter(m => !skip.some(entry => skips(entry, m)))
  const byPackage = new Map<string, string[]>()
  for (const { module, package: pkg } of toImport) {
    byPackage.set(pkg, [...(byPackage.get(pkg) ?? []), module])
  }

  // An empty HOME and working directory: no ~/.aws, no user config, nothing written into
  // the layer or the workspace.
  const scratch = await mkdtemp(join(tmpdir(), 'import-check-'))
  try {
    const session = {
      python: interpreter.path,
      paths: [siteDir, ...extraPaths, ...otherLayerPaths],
      timeoutMs: options.timeoutMs ?? DEFAULT_IMPORT_TIMEOUT_MS,
      scratch
    }
    // the packages with the most modules first, so the longest run does not start last
    const units = [...byPackage].sort((a, b) => b[1].length - a[1].length)
    const runs = await mapLimit(units, CONCURRENT_IMPORTS, ([, names]) =>
      importModules(session, [], names)
    )
    const outcomes = new Map(units.map(([pkg], i) => [pkg, runs[i].outcomes]))
    const failures = [...byPackage].flatMap(([pkg, names]) =>
      distinctFailures(pkg, names, outcomes.get(pkg) ?? new Map())
    )
    // a private module inside a package is imported by its own package; anything else by a
    // dependent. Each retries one after another: together, two interpreters at a time.
    const inner = failures.filter(f => isPrivateSubmodule(f.failure.module))
    const outer = failures.filter(f => !isPrivateSubmodule(f.failure.module))
    const through = (
      await Promise.all([
        importThroughImporters(session, siteDir, packages, inner),
        importThroughDependents(session, siteDir, packages, byPackage, outer)
      ])
    ).flat()
    const { setAside, counted } = attributeExcluded(
      failures.filter(f => !through.some(t => t.module === f.failure.module)),
      options.excluded ?? [],
      otherLayerPaths.length > 0
    )
    return {
      checked: toImport.map(m => m.module),
      skipped: modules.filter(m => !toImport.includes(m)),
      failures: counted,
      setAside,
      throughDependents: through,
      unknownSkips: skip.filter(entry => !modules.some(m => skips(entry, m)))
    }
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}

interface FailureFound {
  failure: ImportFailure
  /** Top-level modules the import looked for and did not find. */
  missing: string[]
}

/**
 * A package's failures, each cause once: an extension module failing as its package did
 * (its package's own import error, met again) is not reported a second time.
 */
function distinctFailures(
  pkg: string,
  names: string[],
  outcomes: Map<string, ImportOutcome>
): FailureFound[] {
  const found: FailureFound[] = []
  for (const module of names) {
    const outcome = outcomes.get(module)
    if (!outcome?.error) continue
    const seen = found.some(f => f.failure.error === outcome.error)
    if (seen && module.includes('.')) continue
    found.push({
      failure: { package: pkg, module, error: outcome.error },
      missing: outcome.missing
    })
  }
  return found
}

/** Importers tried per failed extension module: each costs a fresh interpreter. */
const IMPORTERS_TRIED = 3

/**
 * Retries a failed private extension module (`scipy.linalg._matfuncs_sqrtm_triu`, which imports
 * its own importer back and so cannot be imported first) after each module of its folder that
 * names it; it passes when it then imports. Failures of a package's own import are left alone.
 */
async function importThroughImporters(
  session: Session,
  siteDir: string,
  packages: LayerPackage[],
  failures: FailureFound[]
): Promise<Through[]> {
  const through: Through[] = []
  for (const { failure } of failures) {
    const parts = failure.module.split('.')
    const files = packages.find(pkg => pkg.name === failure.package)?.files ?? []
    const importers = await importersOf(siteDir, files, parts)
    for (const importer of importers.slice(0, IMPORTERS_TRIED)) {
      const run = await importModules(session, [importer], [failure.module])
      if (run.preludeImported && run.outcomes.get(failure.module)?.error === undefined) {
        through.push({ module: failure.module, package: failure.package, dependent: importer })
        break
      }
    }
  }
  return through
}

/** `scipy.linalg._matfuncs_sqrtm_triu`: a module its package keeps to itself. */
function isPrivateSubmodule(module: string): boolean {
  const parts = module.split('.')
  return parts.length > 1 && parts[parts.length - 1].startsWith('_')
}

/** The modules beside `module` (same folder) whose source names it, by dotted name. */
async function importersOf(siteDir: string, files: string[], module: string[]): Promise<string[]> {
  const folder = module.slice(0, -1).join('/') + '/'
  const name = module[module.length - 1]
  const importers: string[] = []
  for (const file of files) {
    const rest = file.startsWith(folder) ? file.slice(folder.length) : ''
    if (!rest.endsWith('.py') || rest.includes('/')) continue
    const text = await readFile(join(siteDir, file), 'utf8').catch(() => '')
    if (!new RegExp(`\\b${name}\\b`).test(text)) continue
    const stem = rest.slice(0, -'.py'.length)
    importers.push([...module.slice(0, -1), ...(stem === '__init__' ? [] : [stem])].join('.'))
  }
  return importers
}

type Through = ImportedModule & { dependent: string }

/**
 * Retries each failed package's modules after importing the top-level modules of a package of
 * the layer that requires it and imports fine on its own; those that then import pass.
 */
async function importThroughDependents(
  session: Session,
  siteDir: string,
  packages: LayerPackage[],
  byPackage: Map<string, string[]>,
  failures: FailureFound[]
): Promise<Array<ImportedModule & { dependent: string }>> {
  const failedPackages = [...new Set(failures.map(f => f.failure.package))]
  if (failedPackages.length === 0) return []
  const requires = new Map(
    await Promise.all(
      packages.map(async pkg => [pkg.name, await requiredDistributions(siteDir, pkg)] as const)
    )
  )
  const through: Array<ImportedModule & { dependent: string }> = []
  for (const pkg of failedPackages) {
    let failed = failures.filter(f => f.failure.package === pkg).map(f => f.failure.module)
    const dependents = packages.filter(
      d =>
        d.name !== pkg &&
        requires.get(d.name)?.includes(pkg) &&
        !failedPackages.includes(d.name) &&
        byPackage.has(d.name)
    )
    for (const dependent of dependents) {
      if (failed.length === 0) break
      const prelude = (byPackage.get(dependent.name) ?? []).filter(m => !m.includes('.'))
      const run = await importModules(session, prelude, failed)
      if (!run.preludeImported) continue
      const passed = failed.filter(module => run.outcomes.get(module)?.error === undefined)
      through.push(...passed.map(module => ({ module, package: pkg, dependent: dependent.name })))
      failed = failed.filter(module => !passed.includes(module))
    }
  }
  return through
}

/**
 * Failures whose import looked for a module of a distribution `exclude` left out. With other
 * layers given they stay failures, saying why; without, they are set aside (not counted).
 */
function attributeExcluded(
  failures: FailureFound[],
  excluded: ExcludedDistribution[],
  haveOtherLayers: boolean
): { setAside: ImportFailure[]; counted: ImportFailure[] } {
  const setAside: ImportFailure[] = []
  const counted: ImportFailure[] = []
  for (const { failure, missing } of failures) {
    const left = excluded.filter(e => e.modules.some(m => missing.includes(m))).map(e => e.name)
    if (left.length === 0) {
      counted.push(failure)
      continue
    }
    const names = left.join(', ')
    const verb = left.length === 1 ? 'is' : 'are'
    if (haveOtherLayers) {
      const cause = `${names} ${verb} not in the layer (exclude left it out) nor in import-check-layers`
      counted.push({ ...failure, cause })
    } else {
      setAside.push({
        ...failure,
        cause: `${names} ${verb} not in the layer (exclude left it out)`
      })
    }
  }
  return { setAside, counted }
}

/** "pydantic: ModuleNotFoundError: …", naming the module when it is not the package's name. */
export function describeImportFailure(failure: ImportFailure): string {
  const why = failure.cause ? `import failed: ${failure.cause}; ` : ''
  return `${describeModule(failure)}: ${why}${failure.error}`
}

/** "pyyaml (import yaml)", or only the package when the module bears its name. */
function describeModule({ module, package: pkg }: ImportedModule): string {
  const sameName = module === pkg.replace(/-/g, '_')
  return sameName ? pkg : `${pkg} (import ${module})`
}

const RESULT_MARKER = '@@import-check@@'

// What to import comes as one JSON argument, never pasted into code. The paths go in front of
// the standard library, as Lambda's PYTHONPATH does, and .pth files are not read (Lambda does
// not read them in layers either). A finder placed last hears of every module no other finder
// found: pandas re-raises a missing numpy as a bare ImportError, and this still names numpy.
// Each result is written as soon as it is known, so a crash or a hang names its module.
// os._exit skips atexit handlers and non-daemon threads a module may leave behind.
const IMPORT_SCRIPT = `
import json, os, sys, importlib
request = json.loads(sys.argv[1])
sys.path[:0] = request['paths']
missing = []
class NotFound:
    @staticmethod
    def find_spec(name, path=None, target=None):
        missing.append(name.split('.')[0])
        return None
sys.meta_path.append(NotFound)
def report(entry):
    line = '\\n${RESULT_MARKER} ' + json.dumps(entry) + '\\n'
    os.write(1, line.encode('utf-8', 'replace'))
def describe(e):
    kind = type(e)
    label = kind.__qualname__
    if kind.__module__ not in ('builtins', '__main__'):
        label = kind.__module__ + '.' + label
    try:
        message = ' '.join(str(e).split())
    except BaseException:
        message = ''
    return label + (': ' + message if message else '')
for phase in ('prelude', 'modules'):
    for name in request[phase]:
        del missing[:]
        try:
            importlib.import_module(name)
            report({'module': name})
        except BaseException as e:
            report({'module': name, 'error': describe(e), 'missing': sorted(set(missing))})
            if phase == 'prelude':
                os._exit(0)
os._exit(0)
`

interface Session {
  python: string
  paths: string[]
  timeoutMs: number
  scratch: string
}

interface ImportOutcome {
  error?: string
  missing: string[]
}

interface ImportRun {
  /** Every prelude module imported; when not, `outcomes` holds nothing. */
  preludeImported: boolean
  outcomes: Map<string, ImportOutcome>
}

/**
 * Imports `prelude`, then `modules`, in one interpreter. A module that crashes or hangs it is
 * reported with what stopped it, and the modules after it go on in a fresh one.
 */
async function importModules(
  session: Session,
  prelude: string[],
  modules: string[]
): Promise<ImportRun> {
  const outcomes = new Map<string, ImportOutcome>()
  let remaining = modules
  while (remaining.length > 0) {
    const { results, death } = await importSession(session, prelude, remaining)
    const preludeResults = results.filter(r => r.prelude)
    if (preludeResults.length < prelude.length || preludeResults.some(r => r.outcome.error)) {
      return { preludeImported: false, outcomes: new Map() }
    }
    for (const r of results) if (!r.prelude) outcomes.set(r.module, r.outcome)
    const rest = remaining.filter(module => !outcomes.has(module))
    if (rest.length === 0) break
    // the module being imported when the interpreter died
    outcomes.set(rest[0], {
      error: death ?? 'the interpreter stopped without a result',
      missing: []
    })
    remaining = rest.slice(1)
  }
  return { preludeImported: true, outcomes }
}

interface SessionResult {
  results: Array<{ module: string; prelude: boolean; outcome: ImportOutcome }>
  /** What stopped the interpreter before it reported every module. */
  death?: string
}

/** One interpreter: each result as it is reported, and what stopped it early, if anything. */
function importSession(
  { python, paths, timeoutMs, scratch }: Session,
  prelude: string[],
  modules: string[]
): Promise<SessionResult> {
  const request = JSON.stringify({ paths, prelude, modules })
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-I', '-S', '-B', '-c', IMPORT_SCRIPT, request], {
      cwd: scratch,
      env: importEnv(scratch),
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a timeout also stops whatever the import started.
      detached: true
    })
    const results: SessionResult['results'] = []
    let pending = ''
    let stderr = ''
    const onLine = (line: string) => {
      if (!line.startsWith(RESULT_MARKER + ' ')) return
      const entry = parseResult(line.slice(RESULT_MARKER.length + 1))
      if (!entry) return
      // results come in order: the prelude's first
      const isPrelude = results.length < prelude.length
      results.push({ module: entry.module, prelude: isPrelude, outcome: entry.outcome })
      restartTimer()
    }
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n')
      pending = keepTail(lines.pop() ?? '')
      lines.forEach(onLine)
    })
    child.stderr.on('data', (chunk: Buffer) => (stderr = keepTail(stderr + chunk.toString())))

    let timedOut = false
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL')
      } catch {
        // The group is already gone.
      }
    }
    let timer: NodeJS.Timeout | undefined
    function restartTimer() {
      clearTimeout(timer)
      timer = setTimeout(() => {
        timedOut = true
        killGroup()
      }, timeoutMs)
    }
    restartTimer()

    let settled = false
    const settle = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.stdout.destroy()
      child.stderr.destroy()
      onLine(pending)
      const done = results.length === prelude.length + modules.length
      const death = timedOut
        ? `TimeoutError: import took longer than ${timeoutMs / 1000}s`
        : deathLine(stderr, code, signal)
      resolve({ results, death: done ? undefined : death })
    }
    child.on('error', error => {
      clearTimeout(timer)
      settled = true
      reject(new Error(`Could not run ${python} to check imports: ${error.message}`))
    })
    child.on('exit', (code, signal) => {
      // Leftover children of the import would hold the pipes open; stop them, then give
      // the output a moment to drain.
      killGroup()
      const drained = setTimeout(() => settle(code, signal), 2_000)
      drained.unref()
      child.on('close', () => {
        clearTimeout(drained)
        settle(code, signal)
      })
    })
  })
}

function parseResult(json: string): { module: string; outcome: ImportOutcome } | undefined {
  try {
    const entry = JSON.parse(json) as { module: string; error?: string; missing?: string[] }
    const outcome = {
      error: entry.error === undefined ? undefined : clip(entry.error),
      missing: entry.missing ?? []
    }
    return { module: entry.module, outcome }
  } catch {
    return undefined
  }
}

/** The interpreter died before it could report: a crash in an extension module, or os._exit. */
function deathLine(stderr: string, code: number | null, signal: NodeJS.Signals | null): string {
  const lastLine = lastNonEmptyLine(stderr)
  const death = signal ? `the interpreter was killed by ${signal}` : `exit code ${code}`
  return clip(lastLine ? `${lastLine} (${death})` : `import stopped the interpreter (${death})`)
}

function importEnv(home: string): NodeJS.ProcessEnv {
  // An allow-list: nothing else reaches the import. No PYTHON* variable (it must not depend on
  // the runner's Python setup), and none of the credentials secrets.ts withholds from package
  // code (AWS_*, GITHUB_TOKEN, ACTIONS_*, INPUT_*); nor the metadata service, the SDK's last
  // credential source.
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    LANG: process.env.LANG ?? 'C.UTF-8',
    AWS_EC2_METADATA_DISABLED: 'true'
  }
}

function keepTail(text: string): string {
  return text.length > OUTPUT_LIMIT ? text.slice(-OUTPUT_LIMIT) : text
}

function lastNonEmptyLine(text: string): string | undefined {
  return text
    .split('\n')
    .map(line => line.trim())
    .filter(Boolean)
    .pop()
}

function clip(line: string): string {
  return line.length > ERROR_LINE_LIMIT ? line.slice(0, ERROR_LINE_LIMIT - 1) + '…' : line
}
