// Proves the layer loads: every top-level module is imported by a CPython of the runtime's
// version and architecture that sees only the layer and the standard library. This catches
// what file checks cannot: a missing transitive dependency, an extension module named for
// another platform (`No module named 'pydantic_core._pydantic_core'`), a package that needs
// the runner's site-packages to import.
import * as core from '@actions/core'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path, { join } from 'node:path'
import { mapLimit } from '../concurrency.js'
import type { ActionInputs } from '../inputs.js'
import type { Interpreter } from './interpreter.js'
import { installRequirements } from './pip.js'
import type { Exclusion } from './prune.js'
import type { LayerPackage } from './site.js'

export interface ImportFailure {
  package: string
  module: string
  /** The exception's last line, e.g. "ModuleNotFoundError: No module named 'b'". */
  error: string
}

export interface ImportCheckResult {
  /** Modules imported (passed or failed). */
  checked: string[]
  /** Modules of the layer left out because `skip` named them. */
  skipped: string[]
  failures: ImportFailure[]
}

/** Imports run at once: each is a whole interpreter, and runners have two cores. */
const CONCURRENT_IMPORTS = 2
const DEFAULT_IMPORT_TIMEOUT_MS = 30_000
/** Output kept per import; a module that prints a lot must not grow memory without bound. */
const OUTPUT_LIMIT = 64 * 1024
const ERROR_LINE_LIMIT = 500

/** The import check's interpreter, looked for in preflight: undefined when the check is off. */
export type ImportCheckInterpreter = { interpreter?: Interpreter; reason?: string } | undefined

/** The check ready to run: its interpreter and what goes beside the layer; undefined when off. */
export type PreparedImportCheck =
  { interpreter?: Interpreter; reason?: string; extraPaths: string[] } | undefined

/** What the job summary and the gate read: one line, and each failure. */
export interface ImportCheckOutcome {
  summary: string
  failures: string[]
}

/**
 * Puts the runtime's SDK beside the layer when the layer left it out. It touches nothing of the
 * layer, so it runs while the zip is written.
 */
export async function prepareImportCheck(
  inputs: ActionInputs,
  lookup: ImportCheckInterpreter,
  excluded: Exclusion[],
  workDir: string
): Promise<PreparedImportCheck> {
  if (!lookup?.interpreter) return lookup && { ...lookup, extraPaths: [] }
  const sdkDir = await installExcludedSdk(inputs, excluded, workDir)
  return { ...lookup, extraPaths: sdkDir ? [sdkDir] : [] }
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
  const { interpreter, reason, extraPaths } = prepared
  if (!interpreter) {
    core.info(`import check skipped: ${reason}`)
    return { summary: `skipped: ${reason}`, failures: [] }
  }
  const result = await core.group('import check', () =>
    checkImports({ interpreter, siteDir, extraPaths, packages, skip: inputs.importCheckSkip })
  )
  const failures = result.failures.map(describeImportFailure)
  const annotation = importAnnotation(failures)
  if (annotation && inputs.verify === 'error') core.error(annotation)
  else if (annotation && inputs.verify === 'warn') core.warning(annotation)
  const modules = `${result.checked.length} module${result.checked.length === 1 ? '' : 's'}`
  const skipped =
    result.skipped.length > 0
      ? `; not imported (import-check-skip): ${result.skipped.join(', ')}`
      : ''
  const summary =
    failures.length === 0
      ? `passed: ${modules} imported with ${interpreter.path} (${interpreter.version} ${interpreter.machine})${skipped}`
      : `${failures.length} of ${modules} failed to import${skipped}`
  return { summary, failures }
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

const NOT_MODULE_FOLDER = /\.(dist-info|egg-info|data|libs)$|^(bin|__pycache__)$/
/** x.py, x.cpython-311-x86_64-linux-gnu.so, x.abi3.so, x.so → x */
const MODULE_FILE = /^([^.]+)(\.py|\.cpython-[^.]+\.so|\.abi3\.so|\.so)$/
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/
const TOP_LEVEL_TXT = /^[^/]+\.dist-info\/top_level\.txt$/

/**
 * The modules a user can `import` from each package, from `top_level.txt` when the package
 * has one (names it does not actually ship are dropped), else from its installed files.
 * A module shipped by several packages (a namespace such as `google`) is listed once.
 */
export async function topLevelModules(
  siteDir: string,
  packages: LayerPackage[]
): Promise<Array<{ module: string; package: string }>> {
  const seen = new Set<string>()
  const modules: Array<{ module: string; package: string }> = []
  for (const pkg of packages) {
    for (const module of await packageModules(siteDir, pkg)) {
      if (seen.has(module)) continue
      seen.add(module)
      modules.push({ module, package: pkg.name })
    }
  }
  return modules
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

function modulesInFiles(files: string[]): string[] {
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
  return [...modules]
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

const RESULT_MARKER = '@@import-check@@'

// The module's name and the paths come as arguments, never pasted into code. The paths go in
// front of the standard library, as Lambda's PYTHONPATH does, and .pth files are not read
// (Lambda does not read them in layers either). os._exit skips atexit handlers and
// non-daemon threads a module may leave behind.
const IMPORT_SCRIPT = `
import os, sys, importlib
name = sys.argv[1]
sys.path[:0] = sys.argv[2:]
def report(line):
    os.write(1, ('\\n${RESULT_MARKER} ' + line + '\\n').encode('utf-8', 'replace'))
    os._exit(0)
try:
    importlib.import_module(name)
except BaseException as e:
    kind = type(e)
    label = kind.__qualname__
    if kind.__module__ not in ('builtins', '__main__'):
        label = kind.__module__ + '.' + label
    try:
        message = ' '.join(str(e).split())
    except BaseException:
        message = ''
    report('failed ' + label + (': ' + message if message else ''))
report('ok')
`

/**
 * Imports every top-level module of the layer, each in its own fresh interpreter that sees
 * only `siteDir`, `extraPaths` and the standard library, time-boxed, two at a time.
 */
export async function checkImports(options: {
  interpreter: Interpreter
  siteDir: string
  extraPaths?: string[]
  packages: LayerPackage[]
  skip: string[]
  timeoutMs?: number
}): Promise<ImportCheckResult> {
  const { interpreter, siteDir, extraPaths = [], packages, timeoutMs } = options
  const skip = new Set(options.skip.map(s => s.trim()).filter(Boolean))
  const modules = await topLevelModules(siteDir, packages)
  const toImport = modules.filter(m => !skip.has(m.module))

  // An empty HOME and working directory: no ~/.aws, no user config, nothing written into
  // the layer or the workspace.
  const scratch = await mkdtemp(join(tmpdir(), 'import-check-'))
  try {
    const errors = await mapLimit(toImport, CONCURRENT_IMPORTS, ({ module }) =>
      importModule(interpreter.path, module, [siteDir, ...extraPaths], {
        timeoutMs: timeoutMs ?? DEFAULT_IMPORT_TIMEOUT_MS,
        scratch
      })
    )
    return {
      checked: toImport.map(m => m.module),
      skipped: modules.filter(m => skip.has(m.module)).map(m => m.module),
      failures: toImport.flatMap(({ module, package: pkg }, i) =>
        errors[i] === undefined ? [] : [{ package: pkg, module, error: errors[i] }]
      )
    }
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}

/** "pydantic: ModuleNotFoundError: …", naming the module when it is not the package's name. */
export function describeImportFailure(failure: ImportFailure): string {
  const sameName = failure.module === failure.package.replace(/-/g, '_')
  const who = sameName ? failure.package : `${failure.package} (import ${failure.module})`
  return `${who}: ${failure.error}`
}

/** Resolves to the exception's line, or undefined when the import succeeded. */
function importModule(
  python: string,
  module: string,
  paths: string[],
  { timeoutMs, scratch }: { timeoutMs: number; scratch: string }
): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-I', '-S', '-B', '-c', IMPORT_SCRIPT, module, ...paths], {
      cwd: scratch,
      env: importEnv(scratch),
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a timeout also stops whatever the import started.
      detached: true
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout = keepTail(stdout + chunk.toString())))
    child.stderr.on('data', (chunk: Buffer) => (stderr = keepTail(stderr + chunk.toString())))

    let timedOut = false
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL')
      } catch {
        // The group is already gone.
      }
    }
    const timer = setTimeout(() => {
      timedOut = true
      killGroup()
    }, timeoutMs)

    let settled = false
    const settle = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.stdout.destroy()
      child.stderr.destroy()
      if (timedOut) return resolve(`TimeoutError: import took longer than ${timeoutMs / 1000}s`)
      resolve(importOutcome(stdout, stderr, code, signal))
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

function importOutcome(
  stdout: string,
  stderr: string,
  code: number | null,
  signal: NodeJS.Signals | null
): string | undefined {
  const result = stdout
    .split('\n')
    .filter(line => line.startsWith(RESULT_MARKER + ' '))
    .pop()
    ?.slice(RESULT_MARKER.length + 1)
  if (result === 'ok') return undefined
  if (result?.startsWith('failed ')) return clip(result.slice('failed '.length))
  // The interpreter died before it could report: a crash in an extension module, or
  // os._exit during import.
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
