import * as core from '@actions/core'
import * as exec from '@actions/exec'
import { createHash } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { MIN_PIP, WHEEL_MACHINE, cpythonTag, platformTags } from '../facts.js'
import {
  CANDIDATES_RECORDER,
  heldBackByGlibc,
  readSeenOnIndex,
  unavailableReason,
  type HeldBack
} from './candidates.js'
import { redact, withoutCredentials } from '../secrets.js'
import { canonicalName, parseRequirement, requirementName } from '../sources/pep508.js'
import { lambdaMarkerEnvironment, type HashMismatch, type LockedPins } from '../sources/index.js'
import type { Target } from '../facts.js'
import type { NamedIndex } from '../sources/indexes.js'

/** One pip run: what to install, for which Lambda target, into which folder. */
export interface PipInstall {
  python: string
  target: Target
  requirementsFile: string
  /** Becomes `python/` in the zip. Must not exist yet. */
  siteDir: string
  /** Scratch space: the report, wheels built from sdists. */
  workDir: string
  indexUrl?: string
  extraIndexUrls: string[]
  /** Where each index came from, when not all from the inputs (a lock's own index). */
  namedIndexes?: NamedIndex[]
  pipArgs: string[]
  /** The requirements are a complete, locked set: install exactly them. */
  noDeps?: boolean
  requireHashes?: boolean
  /** A lock in hash-checking mode: how a package with only an sdist is built and accepted. */
  locked?: LockedPins
  /** The wheels built from local projects, as a requirements file (builder/local.ts). */
  localRequirements?: string
  /**
   * Download the chosen wheels here (`pip download`) instead of installing them: the layer is
   * then assembled from the wheels, and nothing is unpacked. Must not exist yet.
   */
  wheelDir?: string
}

/** A distribution pip installed, from its `--report` JSON. */
export interface InstalledDistribution {
  name: string
  version: string
  requested: boolean
  requiresDist: string[]
  /** Where pip got it: a wheel URL, or the wheelhouse path for one built from an sdist. */
  url: string
}

export interface PipResult {
  /** From pip's report; empty for a download, whose wheels' METADATA says the same. */
  installed: InstalledDistribution[]
  /** The wheel files pip downloaded, for a download. */
  wheels: string[]
  /** Pure packages that had only an sdist, built to wheels on the runner. */
  builtFromSdist: string[]
  /** Packages the runtime's glibc held back to an older version than the newest on the index. */
  heldBack: HeldBack[]
}

/** A requirement pip could not satisfy; carries the name so the caller can point at its line. */
export class UnresolvableRequirement extends Error {
  override name = 'UnresolvableRequirement'
  constructor(
    message: string,
    readonly requirement: string,
    readonly packageName: string,
    /** The package that asked for it, when it is a dependency rather than a line of the file. */
    readonly requiredBy?: string
  ) {
    super(message)
  }
}

/** pip got a file whose hash the requirements do not pin; carries which, so the caller can say where. */
export class HashCheckFailed extends Error {
  override name = 'HashCheckFailed'
  constructor(readonly mismatch: HashMismatch) {
    super(
      `pip install failed: ${mismatch.file} has ${mismatch.got}, which the requirements do not pin for ${mismatch.name} ${mismatch.version}`
    )
  }
}

const FROM_THE_TARGET =
  'is set by the action from runtime and architecture and cannot be overridden; remove it'

/** pip options pip-args may not set, by long name, each with the reason the user is told. */
const REFUSED_PIP_OPTIONS: Record<string, string> = {
  '--target': FROM_THE_TARGET,
  '--platform': FROM_THE_TARGET,
  '--python-version': FROM_THE_TARGET,
  '--abi': FROM_THE_TARGET,
  '--implementation': FROM_THE_TARGET,
  '--only-binary': FROM_THE_TARGET,
  '--no-binary': FROM_THE_TARGET,
  '--prefix': FROM_THE_TARGET,
  '--root': FROM_THE_TARGET,
  '--user': FROM_THE_TARGET,
  '--report': 'is set by the action, which reads the report pip writes; remove it',
  // pip ignores it after the subcommand today; were it honoured, markers would be the runner's
  '--python': 'would run pip under another interpreter; use the python input',
  '--requirement': 'cannot add requirement files; use the requirements input',
  '--constraint': 'cannot add constraint files; put the -c line in the requirements file',
  '--editable': 'cannot add editable projects; put the -e line in the requirements file'
}

/** pip options that are whole words although a refused option starts with them. */
const NOT_ABBREVIATIONS = ['--pre']

/** pip install's short options, the same from pip 22 to 24 (-C only in newer ones), with the long one each stands for. */
const SHORT_PIP_OPTIONS: Record<string, { long: string; takesValue: boolean }> = {
  q: { long: '--quiet', takesValue: false },
  v: { long: '--verbose', takesValue: false },
  U: { long: '--upgrade', takesValue: false },
  I: { long: '--ignore-installed', takesValue: false },
  V: { long: '--version', takesValue: false },
  h: { long: '--help', takesValue: false },
  r: { long: '--requirement', takesValue: true },
  c: { long: '--constraint', takesValue: true },
  e: { long: '--editable', takesValue: true },
  t: { long: '--target', takesValue: true },
  i: { long: '--index-url', takesValue: true },
  f: { long: '--find-links', takesValue: true },
  C: { long: '--config-settings', takesValue: true }
}

/** An option a pip-args word sets: the flag to name (`-t`, `--target`) and its long option. */
export interface PipOption {
  flag: string
  long: string
}

/**
 * The options one word sets, read the way pip's optparse reads them: `--name` or `--name=value`,
 * where a unique abbreviation counts; or a cluster of short options read left to right, where
 * flags without a value (`-q`, `-v`, `-U`) go on and the first that takes one (`-t`) takes the
 * rest of the word, or else the next word, as its value.
 */
export function pipOptionsOf(word: string): PipOption[] {
  if (word.startsWith('--')) {
    const written = word.split('=')[0]
    if (written === '--' || NOT_ABBREVIATIONS.includes(written)) return []
    const long = Object.hasOwn(REFUSED_PIP_OPTIONS, written)
      ? written
      : Object.keys(REFUSED_PIP_OPTIONS).find(refused => refused.startsWith(written))
    return [{ flag: long ?? written, long: long ?? written }]
  }
  if (!word.startsWith('-')) return []
  const options: PipOption[] = []
  for (const letter of word.slice(1)) {
    const option = SHORT_PIP_OPTIONS[letter]
    // optparse stops at an unknown letter with "no such option", before pip installs anything
    if (!option) break
    options.push({ flag: `-${letter}`, long: option.long })
    if (option.takesValue) break
  }
  return options
}

/**
 * Refuses pip-args that would change what pip builds for, where it puts it, or which files it
 * reads requirements from, in every spelling pip accepts (`--target=/x`, `--tar /x`, `-t/x`,
 * `-qt /x`, `-vvt/x`, `-qr extra.txt`). Each word is read as if it were an option, even one pip
 * would take as the value of the option before it: that only errs on the side of refusing.
 */
export function checkPipArgs(pipArgs: string[]): void {
  for (const word of pipArgs) {
    for (const { flag, long } of pipOptionsOf(word)) {
      const reason = REFUSED_PIP_OPTIONS[long]
      if (!reason) continue
      // a long option's value stays out of the message; a short cluster is shown whole
      const written = word.startsWith('--') ? word.split('=')[0] : redact(word)
      throw new Error(`pip-args: ${written === flag ? flag : `${written} (${flag})`} ${reason}`)
    }
  }
}

/** `pip install` options that `pip wheel` refuses; the sdist build gets the others. */
const INSTALL_ONLY_FLAGS = new Set([
  '-U',
  '--upgrade',
  '--upgrade-strategy',
  '--force-reinstall',
  '-I',
  '--ignore-installed',
  '--compile',
  '--no-compile',
  '--no-warn-script-location',
  '--no-warn-conflicts',
  '--break-system-packages'
])
const INSTALL_ONLY_WITH_VALUE = new Set(['--upgrade-strategy'])

export function wheelArgs(pipArgs: string[]): string[] {
  const kept: string[] = []
  for (let i = 0; i < pipArgs.length; i++) {
    const flag = pipArgs[i].split('=')[0]
    if (!INSTALL_ONLY_FLAGS.has(flag)) kept.push(pipArgs[i])
    else if (INSTALL_ONLY_WITH_VALUE.has(flag) && !pipArgs[i].includes('=')) i++
  }
  return kept
}

/** Everything pip needs to pick wheels for the Lambda runtime instead of the runner. */
export function targetArgs(target: Target): string[] {
  const cpython = cpythonTag(target.runtime)
  return [
    '--only-binary=:all:',
    '--implementation',
    'cp',
    '--python-version',
    target.runtime.pythonVersion,
    '--abi',
    cpython,
    '--abi',
    'abi3',
    '--abi',
    'none',
    ...platformTags(target.runtime, target.architecture).flatMap(tag => ['--platform', tag])
  ]
}

export function indexArgs(install: Pick<PipInstall, 'indexUrl' | 'extraIndexUrls'>): string[] {
  return [
    ...(install.indexUrl ? ['--index-url', install.indexUrl] : []),
    ...install.extraIndexUrls.flatMap(url => ['--extra-index-url', url])
  ]
}

export function pipInstallArgs(
  install: PipInstall,
  reportFile: string,
  wheelhouse: string
): string[] {
  return [
    '-m',
    'pip',
    'install',
    '--target',
    install.siteDir,
    // .pyc files compiled by the runner's Python are useless to a different Lambda Python
    '--no-compile',
    '--no-warn-script-location',
    // pip would compare the layer with the runner's own packages and print a false alarm
    '--no-warn-conflicts',
    '--disable-pip-version-check',
    '--progress-bar',
    'off',
    ...targetArgs(install.target),
    '--report',
    reportFile,
    '--find-links',
    wheelhouse,
    ...indexArgs(install),
    ...(install.noDeps ? ['--no-deps'] : []),
    ...(install.requireHashes ? ['--require-hashes'] : []),
    ...install.pipArgs,
    '-r',
    install.requirementsFile,
    ...(install.localRequirements ? ['-r', install.localRequirements] : [])
  ]
}

/**
 * `pip download` with the same resolution as `pip install`: the same target, indexes, hashes
 * and pip-args (less the install-only ones). It has no --report: the wheels' METADATA says
 * what the report would.
 */
export function pipDownloadArgs(
  install: PipInstall,
  wheelDir: string,
  wheelhouse: string
): string[] {
  return [
    '-m',
    'pip',
    'download',
    '--dest',
    wheelDir,
    '--disable-pip-version-check',
    '--progress-bar',
    'off',
    ...targetArgs(install.target),
    '--find-links',
    wheelhouse,
    ...indexArgs(install),
    ...(install.noDeps ? ['--no-deps'] : []),
    ...(install.requireHashes ? ['--require-hashes'] : []),
    ...wheelArgs(install.pipArgs),
    '-r',
    install.requirementsFile,
    ...(install.localRequirements ? ['-r', install.localRequirements] : [])
  ]
}

/**
 * pip evaluates environment markers (`; platform_machine == "aarch64"`, `; python_version <
 * "3.12"`) for the interpreter running it, even with --platform and --python-version, so an
 * arm64 or python3.13 layer built on an x86_64 runner with Python 3.11 would get the runner's
 * dependencies. This starts pip with packaging's default_environment() answering for Lambda.
 */
export const MARKERS_FOR_LAMBDA = `
import json, runpy, sys
lambda_environment = json.loads(sys.argv.pop(1))
try:
    from pip._vendor.packaging import markers
    runner_environment = markers.default_environment
    def default_environment():
        environment = runner_environment()
        environment.update(lambda_environment)
        return environment
    markers.default_environment = default_environment
except Exception as error:
    print("warning: environment markers are evaluated for this runner:", error, file=sys.stderr)
`
/**
 * pip logs why it skipped an index page (401, refused connection, unknown host) only at debug
 * level, then says "from versions: none" as if the index lacked the package; the launcher keeps
 * those records, and every page it did get, in a file the action reads when pip fails.
 */
const INDEX_PAGES = `
import logging
index_pages_file = sys.argv.pop(1)
index_pages = {"fetched": [], "failed": []}
class IndexPages(logging.Handler):
    def emit(self, record):
        if not isinstance(record.args, tuple) or not record.args:
            return
        if str(record.msg).startswith("Fetched page "):
            index_pages["fetched"].append(str(record.args[0]))
        elif str(record.msg).startswith("Could not fetch URL ") and len(record.args) > 1:
            index_pages["failed"].append({"page": str(record.args[0]), "reason": str(record.args[1])})
collector = logging.getLogger("pip._internal.index.collector")
collector.setLevel(logging.DEBUG)
collector.addHandler(IndexPages())
`
const PIP_FOR_LAMBDA = `${MARKERS_FOR_LAMBDA}${INDEX_PAGES}${CANDIDATES_RECORDER}
sys.argv[0] = "pip"
try:
    runpy.run_module("pip", run_name="__main__", alter_sys=True)
finally:
    with open(index_pages_file, "w") as out:
        json.dump(index_pages, out)
`

/** `python pip-for-lambda.py <env> <pages file> <pip args…>`: pip, with markers evaluated for the target. */
async function pipForTarget(
  workDir: string,
  target: Target,
  pipArgs: string[],
  indexPagesFile: string
): Promise<string[]> {
  const script = path.join(workDir, 'pip-for-lambda.py')
  await writeFile(script, PIP_FOR_LAMBDA)
  const [, , ...rest] = pipArgs // drop "-m pip"
  // the same values the lock readers evaluate markers with: one source for both
  return [script, JSON.stringify(lambdaMarkerEnvironment(target)), indexPagesFile, ...rest]
}

/**
 * pip's environment: the user's own pip configuration stays (CodeArtifact, mirrors, proxies,
 * certificates, keyrings), the runner's and the action's credentials go, since pip runs the
 * build backend (setup.py) of every sdist it builds.
 */
export function pipEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const kept = withoutCredentials(env)
  for (const name of overriddenPipVariables(kept)) delete kept[name]
  return { ...kept, PIP_NO_INPUT: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1' }
}

/**
 * The runner's `PIP_TARGET`, `PIP_PLATFORM`, `PIP_REQUIREMENT`, …: pip reads every option from
 * `PIP_<NAME>` too, and the ones that add values (`--platform`, `--abi`, `-r`, `-c`) would add
 * the runner's to the action's; so each option pip-args may not set is not passed this way either.
 */
export function overriddenPipVariables(env: NodeJS.ProcessEnv = process.env): string[] {
  return Object.keys(REFUSED_PIP_OPTIONS)
    .map(long => `PIP_${long.slice(2).toUpperCase().replaceAll('-', '_')}`)
    .filter(name => env[name] !== undefined)
}

/**
 * Runs pip with its command line and output in the log, every URL's credentials cut out: the
 * runner masks only the exact strings registered, not what pip prints of them
 * (`user:****@ss/w#rd@host` for a password with a raw `/`).
 */
export async function runPip(python: string, args: string[]): Promise<exec.ExecOutput> {
  core.info(`[command]${python} ${args.map(redact).join(' ')}`)
  const log = (line: string): void => core.info(redact(line))
  return exec.getExecOutput(python, args, {
    ignoreReturnCode: true,
    silent: true,
    env: pipEnv(),
    listeners: { stdline: log, errline: log }
  })
}

/** The python that runs pip, as the preflight found it. */
export interface RunnerPython {
  /** Its own path (`sys.executable`): past a pyenv or asdf shim, which costs a second a start. */
  executable: string
  /** "23.2" */
  pipVersion: string
}

// pip's version from its metadata: importing pip to ask it (`pip --version`) takes a second.
const PIP_PROBE = [
  'import sys',
  'from importlib.metadata import PackageNotFoundError, version',
  'try:',
  "    print('pip ' + version('pip'))",
  'except PackageNotFoundError:',
  "    sys.exit('No module named pip')",
  'print(sys.executable)'
].join('\n')

export async function checkPip(python: string): Promise<RunnerPython> {
  let output: exec.ExecOutput
  try {
    output = await exec.getExecOutput(python, ['-c', PIP_PROBE], {
      ignoreReturnCode: true,
      silent: true,
      env: pipEnv()
    })
  } catch {
    throw new Error(
      `python: "${python}" was not found on the runner; install Python (actions/setup-python) or set python to an interpreter path`
    )
  }
  // a .pth or sitecustomize may print before the probe does: find its lines
  const lines = output.stdout.split('\n').map(line => line.trim())
  const at = lines.findIndex(line => /^pip \d+\.\d+/.test(line))
  const match = /^pip (\d+)\.(\d+)/.exec(lines[at] ?? '')
  const executable = lines[at + 1]
  if (output.exitCode !== 0 || !match) {
    throw new Error(
      `python: "${python}" has no pip (${lastLine(output.stderr) || 'python -m pip failed'}); install pip for it or set python to another interpreter`
    )
  }
  const [major, minor] = [Number(match[1]), Number(match[2])]
  if (major < MIN_PIP[0] || (major === MIN_PIP[0] && minor < MIN_PIP[1])) {
    throw new Error(
      `python: pip ${major}.${minor} is too old; the action needs pip ${MIN_PIP.join('.')} or later (run: ${python} -m pip install --upgrade pip)`
    )
  }
  // an embedded interpreter may not know its own path: then the one asked stays
  const own = executable && path.isAbsolute(executable) ? executable : python
  return { executable: own, pipVersion: `${major}.${minor}` }
}

/**
 * Installs the requirements for the target. A package with only an sdist is built to a wheel
 * on the runner and accepted if pure (the way `sam build` does it); then pip runs again.
 */
export async function installRequirements(install: PipInstall): Promise<PipResult> {
  const reportFile = path.join(install.workDir, 'pip-report.json')
  const indexPagesFile = path.join(install.workDir, 'index-pages.json')
  const wheelhouse = path.join(install.workDir, 'wheelhouse')
  await mkdir(wheelhouse, { recursive: true })
  const builtFromSdist: string[] = []
  let requirementsFile = install.requirementsFile
  for (;;) {
    const { wheelDir } = install
    await rm(wheelDir ?? install.siteDir, { recursive: true, force: true })
    await rm(indexPagesFile, { force: true })
    const args = await pipForTarget(
      install.workDir,
      install.target,
      wheelDir
        ? pipDownloadArgs({ ...install, requirementsFile }, wheelDir, wheelhouse)
        : pipInstallArgs({ ...install, requirementsFile }, reportFile, wheelhouse),
      indexPagesFile
    )
    const command = wheelDir ? 'pip download' : 'pip install'
    const output = await core.group(command, () => runPip(install.python, args))
    if (output.exitCode === 0 && wheelDir) {
      const wheels = (await readdir(wheelDir).catch(() => [] as string[]))
        .filter(file => file.endsWith('.whl'))
        .sort()
        .map(file => path.join(wheelDir, file))
      const chosen = wheels.map(wheelFileNameVersion)
      const seen = await readSeenOnIndex(indexPagesFile)
      return {
        installed: [],
        wheels,
        builtFromSdist,
        heldBack: heldBackByGlibc(seen, chosen, install.target)
      }
    }
    if (output.exitCode === 0) {
      const installed = await readReport(reportFile)
      const seen = await readSeenOnIndex(indexPagesFile)
      return {
        installed,
        wheels: [],
        builtFromSdist,
        heldBack: heldBackByGlibc(seen, installed, install.target)
      }
    }
    const mismatch = hashMismatch(output.stderr)
    if (mismatch && builtFromSdist.includes(mismatch.name)) {
      throw new UnresolvableRequirement(
        `${mismatch.name} ${mismatch.version} has only an sdist, and the wheel built from it on the runner matches none of its --hash values, which are of the index's files; pin a version that publishes a wheel, or use a lock file (uv.lock, poetry.lock, Pipfile.lock), whose sdists the action checks and then builds`,
        mismatch.name,
        mismatch.name
      )
    }
    if (mismatch) throw new HashCheckFailed(mismatch)
    const missing = unresolvableRequirement(output.stderr)
    if (!missing) throw new Error(`${command} failed: ${pipError(output.stderr)}`)
    const unreachable = indexFailure(
      await readIndexPages(indexPagesFile),
      missing.name,
      output.stderr,
      install
    )
    // named at the requirement's line too: the package is where the user sees the failure
    if (unreachable) {
      throw new UnresolvableRequirement(
        unreachable,
        missing.requirement,
        missing.name,
        missing.requiredBy
      )
    }
    // what the files pip saw need instead (a newer glibc, another CPython): no sdist build then
    const reason = unavailableReason(
      await readSeenOnIndex(indexPagesFile),
      missing.name,
      specifierOf(missing.requirement),
      install.target,
      missing.requiredBy
    )
    if (reason) {
      throw new UnresolvableRequirement(
        reason,
        missing.requirement,
        missing.name,
        missing.requiredBy
      )
    }
    if (builtFromSdist.includes(missing.name)) {
      throw noDistribution(missing, install.target)
    }
    const wheel = await buildPureWheel(install, missing, wheelhouse)
    if (install.locked) {
      const sha256 = createHash('sha256')
        .update(await readFile(path.join(wheelhouse, wheel)))
        .digest('hex')
      requirementsFile = await install.locked.acceptBuiltWheel(missing.name, sha256)
    }
    builtFromSdist.push(missing.name)
  }
}

/** Builds the sdist to a wheel in the wheelhouse and returns the wheel's file name. */
async function buildPureWheel(
  install: PipInstall,
  missing: Unresolved,
  wheelhouse: string
): Promise<string> {
  const before = new Set(await readdir(wheelhouse))
  // from a lock, pip checks the sdist against the locked hashes before building it
  const lockedLine = install.locked?.line(missing.name)
  const lockedFile = path.join(install.workDir, `sdist-${missing.name}.txt`)
  if (lockedLine) await writeFile(lockedFile, lockedLine + '\n')
  const what = lockedLine ? ['--require-hashes', '-r', lockedFile] : [missing.requirement]
  const output = await core.group(`pip wheel ${missing.requirement} (sdist only)`, () =>
    runPip(
      install.python,
      pipWheelArgs(install, wheelhouse, ['--no-binary', missing.name, ...what])
    )
  )
  if (output.exitCode !== 0) {
    const mismatch = hashMismatch(output.stderr)
    if (mismatch) throw new HashCheckFailed(mismatch)
    if (unresolvableRequirement(output.stderr)) {
      throw noDistribution(missing, install.target)
    }
    throw new UnresolvableRequirement(
      `${missing.name} has no wheel for ${describeTarget(install.target)}, and building its sdist failed: ${pipError(output.stderr)}`,
      missing.requirement,
      missing.name
    )
  }
  const built = (await readdir(wheelhouse)).filter(
    file => !before.has(file) && file.endsWith('.whl')
  )
  const native = built.filter(file => !/-none-any\.whl$/.test(file))
  if (native.length > 0) {
    await Promise.all(native.map(file => rm(path.join(wheelhouse, file))))
    const version = native[0].split('-')[1]
    throw new UnresolvableRequirement(
      `${missing.name} ${version} has no wheel for ${describeTarget(install.target)}, only an sdist with native code, which cannot be built for Lambda on this runner; pin a version that publishes manylinux wheels for ${cpythonTag(install.target.runtime)} ${WHEEL_MACHINE[install.target.architecture]}, or build it in an Amazon Linux container`,
      missing.requirement,
      missing.name
    )
  }
  return built[0]
}

function noDistribution(missing: Unresolved, target: Target): UnresolvableRequirement {
  const { requirement, name, requiredBy } = missing
  const by = requiredBy ? ` (required by ${requiredBy})` : ''
  return new UnresolvableRequirement(
    `${requirement}${by}: no version on the index has a wheel for ${describeTarget(target)} (or an sdist of pure Python); check the name and version, or whether the project publishes manylinux wheels for ${cpythonTag(target.runtime)} ${WHEEL_MACHINE[target.architecture]}`,
    requirement,
    name,
    requiredBy
  )
}

/** The version clauses of a requirement pip printed, "" when it has none or cannot be read. */
function specifierOf(requirement: string): string {
  try {
    return parseRequirement(requirement).specifier
  } catch {
    return ''
  }
}

export function describeTarget(target: Target): string {
  const [major, minor] = target.runtime.glibcCeiling
  return `${target.runtime.name} on ${target.architecture} (manylinux up to glibc ${major}.${minor})`
}

/**
 * Finds the requirement pip gave up on. pip words it as
 * `Could not find a version that satisfies the requirement foo==1.0 (from -r r.txt (line 3)) (from versions: none)`.
 */
export interface Unresolved {
  requirement: string
  name: string
  requiredBy?: string
}

export function unresolvableRequirement(stderr: string): Unresolved | undefined {
  const match =
    /Could not find a version that satisfies the requirement (.+?) \(from versions:/.exec(stderr)
  if (!match) return undefined
  const text = match[1].trim()
  const requirement = stripTrailingParenthesis(text)
  const name = requirementName(requirement)
  if (!name) return undefined
  // "(from needsmissing)" names the parent; "(from -r file (line 3))" names a line
  const from = text
    .slice(requirement.length)
    .trim()
    .replace(/^\(from /, '')
  const parent = from.startsWith('-') ? undefined : requirementName(from)
  return { requirement, name, ...(parent ? { requiredBy: parent } : {}) }
}

/**
 * The file pip refused in hash-checking mode. pip words it as
 *     tinyjson==1.0.0 from https://…/tinyjson-1.0.0-py3-none-any.whl#sha256=… (from -r r.txt (line 1)):
 *         Expected sha256 0000…
 *              Got        67fb…
 */
export function hashMismatch(stderr: string): HashMismatch | undefined {
  const match =
    /^ +([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+) from (\S+?)(?: \(from .*\))?:\n +Expected (\w+) .*\n(?: +Expected .*\n)* +Got +([0-9a-f]+)/m.exec(
      stderr
    )
  if (!match) return undefined
  const [, name, version, url, algorithm, got] = match
  const file = decodeURIComponent(url.split('#')[0].split('/').pop() ?? url)
  return { name: canonicalName(name), version, file, got: `${algorithm}:${got}` }
}

/** Drops a trailing "(from ...)" group, which may itself hold parentheses. */
function stripTrailingParenthesis(text: string): string {
  if (!text.endsWith(')')) return text
  let depth = 0
  for (let i = text.length - 1; i >= 0; i--) {
    if (text[i] === ')') depth++
    else if (text[i] === '(') depth--
    if (depth === 0) return text.slice(0, i).trim()
  }
  return text
}

/** The lines of pip's stderr that say what went wrong, without its retry chatter. */
export function pipError(stderr: string): string {
  const errors = stderr
    .split('\n')
    .map(line => line.trim())
    .filter(line => line.startsWith('ERROR:'))
    .map(line => line.replace(/^ERROR:\s*/, ''))
  // a crash logs "ERROR: Exception:" and a traceback; what happened is its last line
  const told = crashLine(stderr) ?? (errors.join(' ') || lastLine(stderr) || 'no output')
  return redact(told)
}

/** The exception a Python traceback ends with (`OSError: [Errno 28] No space left on device`). */
function crashLine(stderr: string): string | undefined {
  const lines = stderr.split('\n')
  const start = lines.findLastIndex(line => line.startsWith('Traceback (most recent call last):'))
  if (start === -1) return undefined
  // frames are indented; the first line after them that is not names the exception
  return lines
    .slice(start + 1)
    .find(line => line.trim() !== '' && !/^\s/.test(line))
    ?.trim()
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.trim() ?? ''
}

/** The index pages one pip run asked for, as the launcher recorded them (see INDEX_PAGES). */
export interface IndexPages {
  fetched: string[]
  failed: Array<{ page: string; reason: string }>
}

async function readIndexPages(file: string): Promise<IndexPages> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as IndexPages
  } catch {
    // a pip that logs differently leaves the usual "no version has a wheel" message
    return { fetched: [], failed: [] }
  }
}

/**
 * When pip found no version of a package because an index failed rather than lacked it, says
 * which index and how. A 404 counts only from an index that served no page at all: a working
 * index answers 404 for a project it does not have.
 */
export function indexFailure(
  pages: IndexPages,
  packageName: string,
  stderr: string,
  install: Pick<PipInstall, 'indexUrl' | 'extraIndexUrls' | 'pipArgs' | 'namedIndexes'>
): string | undefined {
  const name = canonicalName(packageName)
  const isFor = (page: string): boolean => canonicalName(projectOfPage(page)) === name
  if (pages.fetched.some(isFor)) return undefined
  const servedSomething = (root: string): boolean =>
    pages.fetched.some(page => indexRoot(page) === root)
  const failure = pages.failed.find(
    ({ page, reason }) =>
      isFor(page) && (httpStatus(reason) !== 404 || !servedSomething(indexRoot(page)))
  )
  if (failure) {
    const root = indexRoot(failure.page)
    return `${indexNamed(root, install)} ${whatHappened(failure.reason, root, name)}; ${adviceFor(failure.reason)}`
  }
  const ignored = /The repository located at (\S+) is not a trusted or secure host/.exec(stderr)
  if (ignored) {
    const host = ignored[1]
    const root = [install.indexUrl ?? '', ...install.extraIndexUrls].find(
      url => hostOf(url) === host
    )
    const who = root ? indexNamed(root, install) : `the index on ${host}`
    return `${who} is plain http, which pip ignores on a host it is not told to trust; use https, or add --trusted-host ${host} to pip-args`
  }
  return undefined
}

/** `http://host/simple/tinyjson/` → `tinyjson` */
function projectOfPage(page: string): string {
  return page.replace(/\/+$/, '').split('/').pop() ?? ''
}

/** `http://host/simple/tinyjson/` → `http://host/simple/` */
function indexRoot(page: string): string {
  return page.replace(/[^/]+\/*$/, '')
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname
  } catch {
    return undefined
  }
}

/** An index URL as host and path: credentials, scheme and a trailing slash do not matter. */
function indexKey(url: string): string {
  const rest = url.slice(url.indexOf('://') + 3)
  const pathAt = rest.search(/[/?#]|$/)
  const host = rest.slice(0, pathAt).split('@').pop() ?? ''
  const pathname = rest.slice(pathAt).split(/[?#]/)[0]
  return `${host.toLowerCase()}${pathname.replace(/\/*$/, '/')}`
}

/** Names an index by the input that gave it to pip, or as pip's own configuration. */
function indexNamed(
  root: string,
  install: Pick<PipInstall, 'indexUrl' | 'extraIndexUrls' | 'pipArgs' | 'namedIndexes'>
): string {
  const key = indexKey(root)
  const named = install.namedIndexes?.find(index => indexKey(index.url) === key)
  if (named) return `${named.from}: ${redact(named.url)}`
  if (install.indexUrl && indexKey(install.indexUrl) === key) {
    return `index-url: ${redact(install.indexUrl)}`
  }
  const extra = install.extraIndexUrls.find(url => indexKey(url) === key)
  if (extra) return `extra-index-url: ${redact(extra)}`
  const word = install.pipArgs.find(arg => arg.includes('://') && indexKey(arg) === key)
  if (word) return `pip-args: ${redact(root)}`
  return `the index ${redact(root)} (from pip's configuration)`
}

/** The HTTP status in pip's reason: a 4xx/5xx answer, or retries that ran out on one. */
function httpStatus(reason: string): number | undefined {
  const status =
    /^(\d{3}) (?:Client|Server) Error/.exec(reason)?.[1] ??
    /too many (\d{3}) error responses/.exec(reason)?.[1]
  return status ? Number(status) : undefined
}

/** What pip's reason for skipping a page says happened, as "answered 401 Unauthorized for x". */
function whatHappened(reason: string, root: string, name: string): string {
  const status = httpStatus(reason)
  if (status) return `answered ${status} ${STATUS_CODES[status] ?? 'error'} for ${name}`
  const errno = /\[Errno (-?\d+)\] ([^'"()\]]+)/.exec(reason)
  // getaddrinfo's errors are negative: -2 unknown name, -3 no answer from DNS
  if (errno && Number(errno[1]) < 0) {
    return `could not be reached for ${name}: its host ${hostOf(root) ?? ''} was not found (${errno[2].trim()})`
  }
  if (errno) return `could not be reached for ${name} (${errno[2].trim()})`
  const tls = /\[SSL: \w+\] ([^'"(]+)/.exec(reason)
  if (tls) return `could not be reached for ${name} (TLS: ${tls[1].trim()})`
  if (/timed out/i.test(reason)) return `did not answer in time for ${name}`
  return `could not be read for ${name} (${redact(reason.slice(0, 200))})`
}

function adviceFor(reason: string): string {
  const status = httpStatus(reason)
  if (status === 401) return "check the credentials in the URL or the runner's pip configuration"
  if (status === 403) {
    return "check that the credentials in the URL or the runner's pip configuration may read it"
  }
  if (status === 404) {
    return "check the package name, and the URL: pip needs the index's simple API, which often ends in /simple/"
  }
  if (status) return 'the index failed; try again, or check the index'
  return "check the URL and the runner's network"
}

interface ReportJson {
  install?: Array<{
    requested?: boolean
    download_info?: { url?: string }
    metadata?: { name?: string; version?: string; requires_dist?: string[] }
  }>
}

async function readReport(reportFile: string): Promise<InstalledDistribution[]> {
  const report = JSON.parse(await readFile(reportFile, 'utf8')) as ReportJson
  return (report.install ?? []).map(item => ({
    name: canonicalName(item.metadata?.name ?? ''),
    version: item.metadata?.version ?? '',
    requested: item.requested ?? false,
    requiresDist: item.metadata?.requires_dist ?? [],
    url: redact(item.download_info?.url ?? '')
  }))
}

/** numpy-2.2.6-cp311-…whl → numpy, 2.2.6: a wheel file's name says what pip chose. */
function wheelFileNameVersion(file: string): { name: string; version: string } {
  const [name = '', version = ''] = path.basename(file).split('-')
  return { name: canonicalName(name), version }
}

/**
 * `pip wheel --no-deps` of one sdist or local project into wheelDir, from the same indexes and
 * with the same pip-args as the download (less the install-only ones).
 */
export function pipWheelArgs(
  install: Pick<PipInstall, 'indexUrl' | 'extraIndexUrls' | 'pipArgs' | 'namedIndexes'>,
  wheelDir: string,
  what: string[]
): string[] {
  return [
    '-m',
    'pip',
    'wheel',
    '--no-deps',
    '--disable-pip-version-check',
    '--progress-bar',
    'off',
    '--wheel-dir',
    wheelDir,
    ...indexArgs(install),
    ...wheelArgs(install.pipArgs),
    ...what
  ]
}
