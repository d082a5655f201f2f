import * as core from '@actions/core'
import * as exec from '@actions/exec'
import { createHash } from 'node:crypto'
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { MIN_PIP, WHEEL_MACHINE, cpythonTag, platformTags } from '../facts.js'
import { redact, withoutCredentials } from '../secrets.js'
import { canonicalName, requirementName } from '../sources/pep508.js'
import { lambdaMarkerEnvironment, type HashMismatch, type LockedPins } from '../sources/index.js'
import type { Target } from '../facts.js'

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
  pipArgs: string[]
  /** The requirements are a complete, locked set: install exactly them. */
  noDeps?: boolean
  requireHashes?: boolean
  /** A lock in hash-checking mode: how a package with only an sdist is built and accepted. */
  locked?: LockedPins
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
  installed: InstalledDistribution[]
  /** Pure packages that had only an sdist, built to wheels on the runner. */
  builtFromSdist: string[]
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

/** pip flags that the action itself sets; letting pip-args change them would build for the runner. */
const RESERVED_PIP_FLAGS = [
  '--target',
  '--platform',
  '--python-version',
  '--abi',
  '--implementation',
  '--only-binary',
  '--no-binary',
  '--prefix',
  '--root',
  '--user',
  '--editable',
  '--report',
  '--requirement'
]

/** pip options that are whole words although a reserved flag starts with them. */
const NOT_ABBREVIATIONS = ['--pre']

/**
 * pip reads its options with optparse, which also takes unique abbreviations (`--plat`) and
 * short options joined to their value (`-t/dir`); each of those is refused too.
 */
export function checkPipArgs(pipArgs: string[]): void {
  for (const arg of pipArgs) {
    const flag = arg.split('=')[0]
    const reserved = flag.startsWith('--')
      ? flag.length > 2 &&
        !NOT_ABBREVIATIONS.includes(flag) &&
        RESERVED_PIP_FLAGS.find(long => long.startsWith(flag))
      : /^-[ter]/.test(flag) && flag.slice(0, 2)
    if (reserved) {
      throw new Error(
        `pip-args: ${reserved === flag ? flag : `${flag} (${reserved})`} is set by the action from runtime and architecture and cannot be overridden; remove it`
      )
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
    install.requirementsFile
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
const PIP_FOR_LAMBDA = `${MARKERS_FOR_LAMBDA}
sys.argv[0] = "pip"
runpy.run_module("pip", run_name="__main__", alter_sys=True)
`

/** `python pip-for-lambda.py <env> <pip args…>`: pip, with markers evaluated for the target. */
async function pipForTarget(workDir: string, target: Target, pipArgs: string[]): Promise<string[]> {
  const script = path.join(workDir, 'pip-for-lambda.py')
  await writeFile(script, PIP_FOR_LAMBDA)
  const [, , ...rest] = pipArgs // drop "-m pip"
  // the same values the lock readers evaluate markers with: one source for both
  return [script, JSON.stringify(lambdaMarkerEnvironment(target)), ...rest]
}

/**
 * pip's environment: the user's own pip configuration stays (CodeArtifact, mirrors, proxies,
 * certificates, keyrings), the runner's and the action's credentials go, since pip runs the
 * build backend (setup.py) of every sdist it builds.
 */
export function pipEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return { ...withoutCredentials(env), PIP_NO_INPUT: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1' }
}

/**
 * Runs pip with its command line and output in the log, every URL's credentials cut out: the
 * runner masks only the exact strings registered, not what pip prints of them
 * (`user:****@ss/w#rd@host` for a password with a raw `/`).
 */
async function runPip(python: string, args: string[]): Promise<exec.ExecOutput> {
  core.info(`[command]${python} ${args.map(redact).join(' ')}`)
  const log = (line: string): void => core.info(redact(line))
  return exec.getExecOutput(python, args, {
    ignoreReturnCode: true,
    silent: true,
    env: pipEnv(),
    listeners: { stdline: log, errline: log }
  })
}

export async function checkPip(python: string): Promise<string> {
  let output: exec.ExecOutput
  try {
    output = await exec.getExecOutput(python, ['-m', 'pip', '--version'], {
      ignoreReturnCode: true,
      silent: true,
      env: pipEnv()
    })
  } catch {
    throw new Error(
      `python: "${python}" was not found on the runner; install Python (actions/setup-python) or set python to an interpreter path`
    )
  }
  const match = /^pip (\d+)\.(\d+)/.exec(output.stdout.trim())
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
  return `${major}.${minor}`
}

/**
 * Installs the requirements for the target. A package with only an sdist is built to a wheel
 * on the runner and accepted if pure (the way `sam build` does it); then pip runs again.
 */
export async function installRequirements(install: PipInstall): Promise<PipResult> {
  const reportFile = path.join(install.workDir, 'pip-report.json')
  const wheelhouse = path.join(install.workDir, 'wheelhouse')
  await mkdir(wheelhouse, { recursive: true })
  const builtFromSdist: string[] = []
  let requirementsFile = install.requirementsFile
  for (;;) {
    await rm(install.siteDir, { recursive: true, force: true })
    const args = await pipForTarget(
      install.workDir,
      install.target,
      pipInstallArgs({ ...install, requirementsFile }, reportFile, wheelhouse)
    )
    const output = await core.group('pip install', () => runPip(install.python, args))
    if (output.exitCode === 0) {
      return { installed: await readReport(reportFile), builtFromSdist }
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
    if (!missing) throw new Error(`pip install failed: ${pipError(output.stderr)}`)
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
    runPip(install.python, [
      '-m',
      'pip',
      'wheel',
      '--no-deps',
      '--disable-pip-version-check',
      '--progress-bar',
      'off',
      '--no-binary',
      missing.name,
      '--wheel-dir',
      wheelhouse,
      ...indexArgs(install),
      ...wheelArgs(install.pipArgs),
      ...what
    ])
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
  return redact(errors.join(' ') || lastLine(stderr) || 'no output')
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.trim() ?? ''
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
