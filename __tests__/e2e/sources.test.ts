// The bundled action (dist/index.js) on Node 24 with real pip against the loopback index of the
// test world, fed the files teams actually keep: pyproject.toml, uv.lock, poetry.lock and
// Pipfile.lock, generated here in the shape their tools write, pinning the catalog's packages
// with the real sha256 of its files. Then the import check, with the runner's own CPython.
// publish: false throughout.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { annotationLocations, failure, runAction, type ActionRun } from '../support/action.js'
import { catalog, hashOf } from '../support/catalog.js'
import { startIndex, type PackageIndex } from '../support/index-server.js'
import {
  pipfile,
  pipfileLock,
  poetryLock,
  pyprojectToml,
  uvLock,
  type LockedProject
} from '../support/locks.js'
import { isolatedPipEnv } from '../support/pip-env.js'
import { buildWheel } from '../support/wheels.js'

let index: PackageIndex

beforeAll(async () => {
  index = await startIndex(catalog())
})
afterAll(async () => {
  await index?.close()
})

/**
 * A small service as its team locked it: direct dependencies (one bringing a transitive one),
 * packages wanted only on aarch64, only on x86_64, only below Python 3.12 (a backport, also
 * asked for directly) and only on Windows, an extra, and a dev group. tinyjson is locked at
 * 1.0.0 although the index has 1.1.0.
 */
const ORDERS_API: LockedProject = {
  name: 'orders-api',
  version: '0.1.0',
  requiresPython: '>=3.10',
  dependencies: [
    { name: 'greeter', specifier: '>=1.0' },
    { name: 'machinedeps' },
    { name: 'oldpy', marker: "python_version < '3.12'" },
    { name: 'pywin32stub', marker: "sys_platform == 'win32'" }
  ],
  extras: { fast: [{ name: 'fastmath', specifier: '>=2.0' }] },
  groups: { dev: [{ name: 'hasscripts' }] },
  packages: [
    { name: 'armonly', version: '1.0.0', marker: "platform_machine == 'aarch64'" },
    { name: 'fastmath', version: '2.1.0', onlyWithExtra: 'fast' },
    {
      name: 'greeter',
      version: '1.0.0',
      dependencies: [
        { name: 'tinyjson', specifier: '>=1.0' },
        { name: 'pywin32stub', marker: "sys_platform == 'win32'" }
      ],
      extras: { fast: [{ name: 'fastmath', specifier: '>=2.0' }] }
    },
    { name: 'hasscripts', version: '1.0.0', groups: ['dev'] },
    {
      name: 'machinedeps',
      version: '1.0.0',
      dependencies: [
        { name: 'armonly', marker: "platform_machine == 'aarch64'" },
        { name: 'x86only', marker: "platform_machine == 'x86_64'" },
        { name: 'oldpy', marker: "python_version < '3.12'" }
      ]
    },
    { name: 'oldpy', version: '1.0.0', marker: "python_version < '3.12'" },
    { name: 'pywin32stub', version: '1.0.0', marker: "sys_platform == 'win32'" },
    { name: 'tinyjson', version: '1.0.0' },
    { name: 'x86only', version: '1.0.0', marker: "platform_machine == 'x86_64'" }
  ]
}

/** ORDERS_API with a monorepo neighbour it takes from a folder instead of an index. */
const WITH_PATH_DEPENDENCY: LockedProject = {
  ...ORDERS_API,
  dependencies: [...ORDERS_API.dependencies, { name: 'shared-utils' }],
  packages: [
    ...ORDERS_API.packages,
    { name: 'shared-utils', version: '0.3.0', directory: '../shared-utils' }
  ]
}

/** A service whose one dependency imports boto3, which the lock then pins with all of the SDK. */
const WITH_AWS_HELPER: LockedProject = {
  name: 'orders-api',
  version: '0.1.0',
  requiresPython: '>=3.10',
  dependencies: [{ name: 'awshelper' }],
  packages: [
    { name: 'awshelper', version: '1.0.0', dependencies: [{ name: 'boto3', specifier: '>=1.26' }] },
    {
      name: 'boto3',
      version: '1.35.0',
      dependencies: [{ name: 'botocore' }, { name: 'jmespath' }, { name: 's3transfer' }]
    },
    {
      name: 'botocore',
      version: '1.35.0',
      dependencies: [{ name: 'jmespath' }, { name: 'python-dateutil' }, { name: 'urllib3' }]
    },
    { name: 'jmespath', version: '1.0.1' },
    { name: 'python-dateutil', version: '2.9.0.post0', dependencies: [{ name: 'six' }] },
    { name: 's3transfer', version: '0.10.2', dependencies: [{ name: 'botocore' }] },
    { name: 'six', version: '1.16.0' },
    { name: 'urllib3', version: '2.2.3' }
  ]
}

/** A service with an old pure package that never published a wheel (docopt-style). */
const WITH_SDIST_ONLY: LockedProject = {
  name: 'orders-api',
  version: '0.1.0',
  requiresPython: '>=3.10',
  dependencies: [{ name: 'onlysdist' }, { name: 'tinyjson' }],
  packages: [
    { name: 'onlysdist', version: '0.5.0' },
    { name: 'tinyjson', version: '1.0.0' }
  ]
}

/** The lock as if made when the index served other bytes under that file name. */
function lockedWithAnotherHash(lock: string, filename: string): string {
  const other = createHash('sha256').update(`another build of ${filename}`).digest('hex')
  if (!lock.includes(hashOf(filename))) throw new Error(`the lock has no hash of ${filename}`)
  return lock.replaceAll(hashOf(filename), other)
}

/** The runner's own CPython: the import check can run for the runtime of its version. */
const RUNNER_PYTHON: { version: string; machine: string; executable: string } = JSON.parse(
  execFileSync(
    'python3',
    [
      '-c',
      'import json, os, platform, sys\n' +
        'print(json.dumps({"version": "%d.%d" % sys.version_info[:2], ' +
        '"machine": platform.machine(), "executable": os.path.realpath(sys.executable)}))'
    ],
    { env: isolatedPipEnv(), encoding: 'utf8' }
  )
)
/** python3.11 x86_64 on this machine. */
const RUNNER_RUNTIME = `python${RUNNER_PYTHON.version}`
const RUNNER_ARCHITECTURE = RUNNER_PYTHON.machine === 'aarch64' ? 'arm64' : 'x86_64'
const OTHER_ARCHITECTURE = RUNNER_ARCHITECTURE === 'arm64' ? 'x86_64' : 'arm64'
const OTHER_MACHINE = OTHER_ARCHITECTURE === 'arm64' ? 'aarch64' : 'x86_64'
const OTHER_RUNTIME = RUNNER_RUNTIME === 'python3.12' ? 'python3.13' : 'python3.12'
const OTHER_VERSION = OTHER_RUNTIME.replace('python', '')

/** Writes the files (relative path → text) into a fresh project folder. */
async function projectWith(files: Record<string, string>): Promise<string> {
  const project = await mkdtemp(path.join(os.tmpdir(), 'project-'))
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(project, name)), { recursive: true })
    await writeFile(path.join(project, name), text)
  }
  return project
}

/** Runs the bundle in a fresh project folder holding `files`. */
async function build(
  files: Record<string, string>,
  inputs: Record<string, string>,
  env: Record<string, string | undefined> = {}
): Promise<ActionRun & { project: string }> {
  const project = await projectWith(files)
  const run = await runAction(
    { publish: 'false', 'index-url': index.url, ...inputs },
    { cwd: project, env }
  )
  return { ...run, project }
}

/** "name version" of each package in the layer, from the `packages` output. */
function layer(run: ActionRun): string[] {
  const packages: Array<{ name: string; version: string }> = JSON.parse(run.outputs.packages)
  return packages.map(p => `${p.name} ${p.version}`).sort()
}

/** What the job summary says about the import check. */
function importCheckOf(run: ActionRun): string {
  return /^\*\*Import check:\*\* (.*)$/m.exec(run.summary)?.[1] ?? ''
}

/** The 1-based line of the first line of `text` that is exactly `line`. */
function lineOf(text: string, line: string): number {
  const at = text.split('\n').indexOf(line)
  if (at === -1) throw new Error(`no line ${line}`)
  return at + 1
}

/** A PATH on which the only Python is the runner's own `python3`, as on a runner set up with one version. */
async function pathWithOnlyRunnerPython(): Promise<string> {
  const bin = await mkdtemp(path.join(os.tmpdir(), 'only-python-'))
  await symlink(RUNNER_PYTHON.executable, path.join(bin, 'python3'))
  return bin
}

/** For python3.12 on arm64, on a runner that is CPython 3.11 on x86_64. */
const ARM_312 = { runtime: 'python3.12', architecture: 'arm64' }
/** Amazon Linux 2: glibc 2.26, and Python below 3.12. */
const X86_311 = { runtime: 'python3.11', architecture: 'x86_64' }

describe('pyproject.toml as the requirements input', () => {
  const files = (): Record<string, string> => ({ 'pyproject.toml': pyprojectToml(ORDERS_API) })

  it('installs [project].dependencies, the asked extra and dependency group, with markers evaluated for python3.12 on arm64', async () => {
    const run = await build(files(), {
      requirements: 'pyproject.toml',
      extras: 'fast',
      groups: 'dev',
      ...ARM_312
    })
    expect(run.exitCode, run.stdout).toBe(0)
    // not a lock: pip resolves, so tinyjson is the newest the index has
    expect(layer(run)).toEqual([
      'armonly 1.0.0',
      'fastmath 2.1.0',
      'greeter 1.0.0',
      'hasscripts 1.0.0',
      'machinedeps 1.0.0',
      'tinyjson 1.1.0'
    ])
    expect(run.summary).toContain('Built from `pyproject.toml` (pyproject)')
  })

  it('leaves the extra and the dev group out unless asked, and picks the x86_64 and Python 3.11 packages for python3.11', async () => {
    const run = await build(files(), { requirements: 'pyproject.toml', ...X86_311 })
    expect(run.exitCode, run.stdout).toBe(0)
    expect(layer(run)).toEqual([
      'greeter 1.0.0',
      'machinedeps 1.0.0',
      'oldpy 1.0.0',
      'tinyjson 1.1.0',
      'x86only 1.0.0'
    ])
  })
})

interface LockFormat {
  file: string
  /** The lock and the manifest its tool keeps beside it. */
  files: (project: LockedProject) => Record<string, string>
  /** Pipfile.lock has no extras: it already flattens what the Pipfile asked for. */
  extras: string
  armLayer: string[]
}

/** What the locked project gives on arm64 with the `fast` extra (fastmath comes with it). */
const ARM_LAYER_WITH_FAST = [
  'armonly 1.0.0',
  'fastmath 2.1.0',
  'greeter 1.0.0',
  'hasscripts 1.0.0',
  'machinedeps 1.0.0',
  'tinyjson 1.0.0'
]

const LOCK_FORMATS: LockFormat[] = [
  {
    file: 'uv.lock',
    files: project => ({
      'uv.lock': uvLock(project, index.url),
      'pyproject.toml': pyprojectToml(project)
    }),
    extras: 'fast',
    armLayer: ARM_LAYER_WITH_FAST
  },
  {
    file: 'poetry.lock',
    files: project => ({
      'poetry.lock': poetryLock(project),
      'pyproject.toml': pyprojectToml(project)
    }),
    extras: 'fast',
    armLayer: ARM_LAYER_WITH_FAST
  },
  {
    file: 'Pipfile.lock',
    files: project => ({
      'Pipfile.lock': pipfileLock(project, index.url),
      Pipfile: pipfile(project, index.url)
    }),
    extras: '',
    armLayer: [
      'armonly 1.0.0',
      'greeter 1.0.0',
      'hasscripts 1.0.0',
      'machinedeps 1.0.0',
      'tinyjson 1.0.0'
    ]
  }
]

describe.each(LOCK_FORMATS)('$file as the requirements input', format => {
  it('installs exactly the locked pins for python3.12 on arm64, with the asked extra and group, in hash-checking mode', async () => {
    const run = await build(format.files(ORDERS_API), {
      requirements: format.file,
      extras: format.extras,
      groups: 'dev',
      ...ARM_312
    })
    expect(run.exitCode, run.stdout).toBe(0)
    expect(layer(run)).toEqual(format.armLayer)
    // pip checks every file against the lock's hashes and resolves nothing itself
    expect(run.stdout).toMatch(/--no-deps .*--require-hashes/)
    expect(run.summary).toContain(`Built from \`${format.file}\` (${format.file})`)
  })

  it('leaves the dev group out unless asked, and picks the x86_64 and Python 3.11 packages for python3.11', async () => {
    const run = await build(format.files(ORDERS_API), { requirements: format.file, ...X86_311 })
    expect(run.exitCode, run.stdout).toBe(0)
    expect(layer(run)).toEqual([
      'greeter 1.0.0',
      'machinedeps 1.0.0',
      'oldpy 1.0.0',
      'tinyjson 1.0.0',
      'x86only 1.0.0'
    ])
  })
})

describe('what a lock cannot be trusted with', () => {
  it('refuses a lock whose hash does not match the file the index serves, naming both and what to do', async () => {
    const wheel = 'tinyjson-1.0.0-py3-none-any.whl'
    const lock = lockedWithAnotherHash(uvLock(ORDERS_API, index.url), wheel)
    const run = await build({ 'uv.lock': lock }, { requirements: 'uv.lock', ...ARM_312 })
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toBe(
      `requirements: uv.lock line ${lineOf(lock, 'name = "tinyjson"')}: the index serves ${wheel} with sha256:${hashOf(wheel)}, a hash the lock does not have for tinyjson 1.0.0; re-lock (uv lock) if it was re-published on purpose, otherwise check the index`
    )
    expect(run.outputs).toEqual({})
  })

  it('checks a locked sdist against the lock before building it on the runner', async () => {
    const sdist = 'onlysdist-0.5.0.tar.gz'
    const lock = lockedWithAnotherHash(poetryLock(WITH_SDIST_ONLY), sdist)
    const run = await build({ 'poetry.lock': lock }, { requirements: 'poetry.lock', ...ARM_312 })
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toBe(
      `requirements: poetry.lock line ${lineOf(lock, 'name = "onlysdist"')}: the index serves ${sdist} with sha256:${hashOf(sdist)}, a hash the lock does not have for onlysdist 0.5.0; re-lock (poetry lock) if it was re-published on purpose, otherwise check the index`
    )
    expect(run.stdout).not.toContain('Building wheel for onlysdist')
  })

  it.each([
    {
      file: 'uv.lock',
      lock: () => uvLock(WITH_PATH_DEPENDENCY, index.url),
      entry: 'name = "shared-utils"',
      problem: 'is a local project (../shared-utils)'
    },
    {
      file: 'poetry.lock',
      lock: () => poetryLock(WITH_PATH_DEPENDENCY),
      entry: 'name = "shared-utils"',
      problem: 'is a local project (../shared-utils)'
    },
    {
      file: 'Pipfile.lock',
      lock: () => pipfileLock(WITH_PATH_DEPENDENCY, index.url),
      entry: '        "shared-utils": {',
      problem: 'is a local project (../shared-utils)'
    }
  ])(
    'refuses a path dependency outside the workspace in $file, naming it and its entry',
    async ({ file, lock, entry, problem }) => {
      const text = lock()
      const run = await build({ [file]: text }, { requirements: file, ...ARM_312 })
      expect(run.exitCode).toBe(1)
      // a path dependency inside the workspace is built (e2e/local.test.ts); this one is not
      expect(failure(run)).toBe(
        `requirements: ${file} line ${lineOf(text, entry)}: shared-utils ${problem} that reaches ${path.resolve(run.project, '../shared-utils')}, outside the workspace (${run.project}); move it into the repository, or set allow-outside-workspace: true`
      )
      expect(run.stdout).not.toContain('pip install')
    }
  )
})

describe('hash-checking mode with a requirements file', () => {
  it('refuses a hashed package that has only an sdist, saying why and what to do instead', async () => {
    const sdist = 'onlysdist-0.5.0.tar.gz'
    const run = await build(
      {
        'requirements.txt': `tinyjson==1.0.0 --hash=sha256:${hashOf('tinyjson-1.0.0-py3-none-any.whl')}\nonlysdist==0.5.0 --hash=sha256:${hashOf(sdist)}\n`
      },
      ARM_312
    )
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toBe(
      "onlysdist 0.5.0 has only an sdist, and the wheel built from it on the runner matches none of its --hash values, which are of the index's files; pin a version that publishes a wheel, or use a lock file (uv.lock, poetry.lock, Pipfile.lock), whose sdists the action checks and then builds"
    )
    expect(annotationLocations(run.stdout, 'error')[0]).toBe('file=requirements.txt,line=2')
  })
})

describe('a folder as the requirements input', () => {
  /** Each file of the folder locks a different package, so the layer shows which was read. */
  const everyKind = (): Record<string, string> => {
    const only = (name: string, version: string): LockedProject => ({
      name: 'orders-api',
      version: '0.1.0',
      requiresPython: '>=3.10',
      dependencies: [{ name }],
      packages: [{ name, version }]
    })
    return {
      'uv.lock': uvLock(only('tinyjson', '1.0.0'), index.url),
      'poetry.lock': poetryLock(only('armonly', '1.0.0')),
      'Pipfile.lock': pipfileLock(only('x86only', '1.0.0'), index.url),
      'requirements.txt': 'oldpy==1.0.0\n',
      'pyproject.toml': pyprojectToml(only('hasscripts', '1.0.0'))
    }
  }

  it('requirements: . reads uv.lock before any other file there, and the summary says so', async () => {
    const run = await build(everyKind(), { requirements: '.', ...ARM_312 })
    expect(run.exitCode, run.stdout).toBe(0)
    expect(layer(run)).toEqual(['tinyjson 1.0.0'])
    expect(run.summary).toMatch(/Built from `uv\.lock` \(found in `[^`]+`\) \(uv\.lock\)/)
  })

  it('a folder without uv.lock falls back in order: poetry.lock, Pipfile.lock, requirements.txt, pyproject.toml', async () => {
    const project = await projectWith(
      Object.fromEntries(Object.entries(everyKind()).map(([name, text]) => [`svc/${name}`, text]))
    )
    await rm(path.join(project, 'svc', 'uv.lock'))
    const order = [
      { file: 'poetry.lock', kind: 'poetry.lock', layer: 'armonly 1.0.0' },
      { file: 'Pipfile.lock', kind: 'Pipfile.lock', layer: 'x86only 1.0.0' },
      { file: 'requirements.txt', kind: 'requirements', layer: 'oldpy 1.0.0' },
      { file: 'pyproject.toml', kind: 'pyproject', layer: 'hasscripts 1.0.0' }
    ]
    for (const { file, kind, layer: expected } of order) {
      const run = await runAction(
        { publish: 'false', 'index-url': index.url, requirements: 'svc', ...ARM_312 },
        { cwd: project }
      )
      expect(run.exitCode, run.stdout).toBe(0)
      expect(layer(run)).toEqual([expected])
      expect(run.summary).toContain(`Built from \`svc/${file}\` (found in \`svc\`) (${kind})`)
      await rm(path.join(project, 'svc', file))
    }
  })
})

describe('a lock, like a requirements file', () => {
  it.each(LOCK_FORMATS)(
    'leaves out the runtime SDK that a package in $file pulls in',
    async format => {
      const run = await build(format.files(WITH_AWS_HELPER), {
        requirements: format.file,
        ...ARM_312
      })
      expect(run.exitCode, run.stdout).toBe(0)
      expect(layer(run)).toEqual(['awshelper 1.0.0'])
      expect(run.summary).toContain('boto3 1.35.0: the runtime ships it')
      expect(run.summary).toMatch(/\| awshelper \| 1\.0\.0 \| [^|]+ \| requested \|/)
    }
  )

  it('builds a locked pure package that has only an sdist, still in hash-checking mode', async () => {
    const run = await build(
      { 'poetry.lock': poetryLock(WITH_SDIST_ONLY) },
      { requirements: 'poetry.lock', ...ARM_312 }
    )
    expect(run.exitCode, run.stdout).toBe(0)
    expect(layer(run)).toEqual(['onlysdist 0.5.0', 'tinyjson 1.0.0'])
    expect(run.summary).toContain('| onlysdist | 0.5.0 |')
    expect(run.summary).toContain('built from sdist')
  })
})

describe('the layer follows the lock', () => {
  it('gives the same layer for an unchanged lock and a new one when a pin changes', async () => {
    const files = (): Record<string, string> => ({ 'uv.lock': uvLock(ORDERS_API, index.url) })
    const first = await build(files(), { requirements: 'uv.lock', ...ARM_312 })
    const again = await build(files(), { requirements: 'uv.lock', ...ARM_312 })
    expect(first.exitCode, first.stdout).toBe(0)
    expect(again.outputs['code-sha256']).toBe(first.outputs['code-sha256'])

    const bumped: LockedProject = {
      ...ORDERS_API,
      packages: ORDERS_API.packages.map(p =>
        p.name === 'tinyjson' ? { ...p, version: '1.1.0' } : p
      )
    }
    const changed = await build(
      { 'uv.lock': uvLock(bumped, index.url) },
      { requirements: 'uv.lock', ...ARM_312 }
    )
    expect(changed.exitCode, changed.stdout).toBe(0)
    expect(layer(changed)).toContain('tinyjson 1.1.0')
    expect(changed.outputs['code-sha256']).not.toBe(first.outputs['code-sha256'])
  })
})

describe(`the import check (the runner has CPython ${RUNNER_PYTHON.version} on ${RUNNER_PYTHON.machine})`, () => {
  const onRunnerPython = { runtime: RUNNER_RUNTIME, architecture: RUNNER_ARCHITECTURE }
  const requirements = (text: string): Record<string, string> => ({ 'requirements.txt': text })

  it('imports every module of the layer and says so in the summary', async () => {
    const run = await build(requirements('greeter\n'), onRunnerPython)
    expect(run.exitCode, run.stdout).toBe(0)
    expect(importCheckOf(run)).toMatch(
      new RegExp(
        `^passed: 2 modules imported with /\\S+ \\(${RUNNER_PYTHON.version} ${RUNNER_PYTHON.machine}\\)$`
      )
    )
  })

  it('fails the step on a module the layer lacks, naming the package and the exception', async () => {
    const run = await build(requirements('brokenimport\ntinyjson\n'), onRunnerPython)
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toBe(
      "import check failed:\n  brokenimport: ModuleNotFoundError: No module named 'missingdep'"
    )
    // the file checks have nothing to object to: only importing finds it
    expect(run.summary).toContain('**Verification:** passed')
    expect(importCheckOf(run)).toBe('1 of 2 modules failed to import')
    expect(run.summary).toContain(
      "- brokenimport: ModuleNotFoundError: No module named 'missingdep'"
    )
  })

  it('only warns about it with verify: warn', async () => {
    const run = await build(requirements('brokenimport\ntinyjson\n'), {
      ...onRunnerPython,
      verify: 'warn'
    })
    expect(run.exitCode, run.stdout).toBe(0)
    expect(run.warnings).toContain(
      "import check: brokenimport: ModuleNotFoundError: No module named 'missingdep'"
    )
  })

  it('leaves out the modules import-check-skip names', async () => {
    const run = await build(requirements('brokenimport\ntinyjson\n'), {
      ...onRunnerPython,
      'import-check-skip': 'brokenimport'
    })
    expect(run.exitCode, run.stdout).toBe(0)
    expect(importCheckOf(run)).toMatch(
      /^passed: 1 module imported with \S+ \(.*\); not imported \(import-check-skip\): brokenimport$/
    )
  })

  it('puts the runtime’s own SDK beside the layer, so a package importing boto3 passes though boto3 was left out', async () => {
    const run = await build(requirements('awshelper\n'), onRunnerPython)
    expect(run.exitCode, run.stdout).toBe(0)
    expect(layer(run)).toEqual(['awshelper 1.0.0'])
    expect(importCheckOf(run)).toMatch(/^passed: /)
  })

  it(`is skipped, saying why, for ${OTHER_RUNTIME} when the runner has only CPython ${RUNNER_PYTHON.version}`, async () => {
    const only = await pathWithOnlyRunnerPython()
    const run = await build(
      requirements('tinyjson\n'),
      { runtime: OTHER_RUNTIME, architecture: RUNNER_ARCHITECTURE },
      { PATH: only }
    )
    expect(run.exitCode, run.stdout).toBe(0)
    expect(importCheckOf(run)).toBe(
      `skipped: no CPython ${OTHER_VERSION} for ${RUNNER_PYTHON.machine} on this runner (found python3 ${RUNNER_PYTHON.version} ${RUNNER_PYTHON.machine})`
    )
  })

  it(`is skipped, saying why, for ${OTHER_ARCHITECTURE}, which the runner cannot run`, async () => {
    const only = await pathWithOnlyRunnerPython()
    const run = await build(
      requirements('tinyjson\n'),
      { runtime: RUNNER_RUNTIME, architecture: OTHER_ARCHITECTURE },
      { PATH: only }
    )
    expect(run.exitCode, run.stdout).toBe(0)
    expect(importCheckOf(run)).toBe(
      `skipped: no CPython ${RUNNER_PYTHON.version} for ${OTHER_MACHINE} on this runner (found python3 ${RUNNER_PYTHON.version} ${RUNNER_PYTHON.machine})`
    )
  })

  it('with import-check: true, fails when the runner has no matching interpreter', async () => {
    const only = await pathWithOnlyRunnerPython()
    const run = await build(
      requirements('tinyjson\n'),
      { runtime: OTHER_RUNTIME, architecture: RUNNER_ARCHITECTURE, 'import-check': 'true' },
      { PATH: only }
    )
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toBe(
      `import-check: true, but there is no CPython ${OTHER_VERSION} for ${RUNNER_PYTHON.machine} on this runner (found python3 ${RUNNER_PYTHON.version} ${RUNNER_PYTHON.machine}); install Python ${OTHER_VERSION} (actions/setup-python) or set import-check: auto`
    )
    // said before any work is done
    expect(run.stdout).not.toContain('pip install')
  })
})

describe('what a requirements file cannot make the action do', () => {
  const OUTSIDE_FIX = 'move it into the repository, or set allow-outside-workspace: true'

  it('compile a native sdist on the runner with --no-binary: refused at its line before pip runs', async () => {
    const text = 'tinyjson==1.0.0\n--no-binary :all:\nnativesdist==0.1.0\n'
    const run = await build({ 'requirements.txt': text }, ARM_312)
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toBe(
      'requirements: requirements.txt line 2: --no-binary makes pip compile packages on the runner, which cannot build them for Lambda; remove it (the action builds pure sdists itself and refuses native ones)'
    )
    expect(run.stdout).not.toContain('pip install')
    expect(run.stdout).not.toMatch(/Building wheel|nativesdist-0\.1\.0\.tar\.gz/)
    expect(index.requests.some(r => r.includes('nativesdist'))).toBe(false)
  })

  it('read a file outside the workspace through an include, or as the requirements input', async () => {
    const outside = await projectWith({ 'shared.txt': 'tinyjson==1.0.0\n' })
    const project = await projectWith({
      'requirements.txt': `greeter\n\n-r ../${path.basename(outside)}/shared.txt\n`
    })
    const included = await runAction(
      { publish: 'false', 'index-url': index.url, ...ARM_312 },
      { cwd: project }
    )
    expect(included.exitCode).toBe(1)
    expect(failure(included)).toBe(
      `requirements: requirements.txt line 3: -r ../${path.basename(outside)}/shared.txt reaches ${path.join(outside, 'shared.txt')}, outside the workspace; ${OUTSIDE_FIX}`
    )
    expect(included.stdout).not.toContain('pip install')

    const direct = await runAction(
      { publish: 'false', 'index-url': index.url, requirements: '/proc/self/environ' },
      { cwd: project }
    )
    expect(failure(direct)).toBe(
      `requirements: /proc/self/environ is outside the workspace (${project}); ${OUTSIDE_FIX}`
    )

    const allowed = await runAction(
      { publish: 'false', 'index-url': index.url, 'allow-outside-workspace': 'true', ...ARM_312 },
      { cwd: project }
    )
    expect(allowed.exitCode, allowed.stdout).toBe(0)
    expect(layer(allowed)).toEqual(['greeter 1.0.0', 'tinyjson 1.0.0'])
  })
})

/**
 * Not in an annotation, the summary or an output; in the log only after `::add-mask::` told the
 * runner to mask it (pip itself prints some URLs whole).
 */
function expectNeverShown(run: ActionRun, secret: string): void {
  for (const text of [...run.errors, ...run.warnings, run.summary, JSON.stringify(run.outputs)])
    expect(text).not.toContain(secret)
  // the runner masks from its ::add-mask:: on; stderr is read after stdout, so it comes later
  const log = (run.stdout + run.stderr).split('\n')
  const masked = log.indexOf(`::add-mask::${secret}`)
  const before = masked === -1 ? log : log.slice(0, masked)
  const shown = before.filter(line => line.includes(secret) && !line.startsWith('::add-mask::'))
  expect(shown).toEqual([])
}

describe('${VAR} in a requirements file never shows its secret', () => {
  const SECRET = 'tok_9f8e7d6c5b4a_never_print_me'
  const host = (): string => new URL(index.url).host

  it.each([
    {
      what: 'a package the index does not have, with the token in an --extra-index-url line',
      lines: () => [
        `--extra-index-url http://ci:\${INDEX_TOKEN}@${host()}/simple/`,
        'doesnotexist==1.0'
      ],
      annotated: 'file=requirements.txt,line=2'
    },
    {
      what: 'a wheel URL that is not there, with the token as its user name',
      lines: () => [
        'tinyjson==1.0.0',
        `greeter @ http://\${INDEX_TOKEN}@${host()}/files/greeter-9.9.9-py3-none-any.whl`
      ]
    },
    {
      what: 'a version-control URL the action refuses itself',
      lines: () => ['tinyjson==1.0.0', 'mylib @ git+https://${INDEX_TOKEN}@github.com/acme/mylib']
    }
  ])('$what', async ({ lines, annotated }) => {
    const run = await build({ 'requirements.txt': lines().join('\n') + '\n' }, ARM_312, {
      INDEX_TOKEN: SECRET
    })
    expect(run.exitCode).toBe(1)
    if (annotated) expect(annotationLocations(run.stdout, 'error'), run.stdout).toContain(annotated)
    expectNeverShown(run, SECRET)
  })

  it('has the runner mask a token it finds in a URL credential', async () => {
    const lines = [`--extra-index-url http://ci:\${INDEX_TOKEN}@${host()}/simple/`, 'tinyjson']
    const run = await build({ 'requirements.txt': lines.join('\n') + '\n' }, ARM_312, {
      INDEX_TOKEN: SECRET
    })
    expect(run.exitCode, run.stdout).toBe(0)
    expect(run.stdout).toContain(`::add-mask::${SECRET}`)
  })
})

describe('a self-hosted runner folder with a quote, a space and a #', () => {
  it('builds with includes, markers and a --find-links folder like any other', async () => {
    const odd = path.join(await mkdtemp(path.join(os.tmpdir(), 'runner-')), 'my "odd" dir #1')
    const project = path.join(odd, '_work', 'app')
    const runnerTemp = path.join(odd, '_work', '_temp')
    await mkdir(path.join(project, 'wheels'), { recursive: true })
    await mkdir(runnerTemp, { recursive: true })
    const local = buildWheel({
      name: 'localonly',
      version: '1.0',
      files: { 'localonly/__init__.py': 'VALUE = 1\n' }
    })
    await writeFile(path.join(project, 'wheels', local.filename), local.bytes)
    await writeFile(
      path.join(project, 'requirements.txt'),
      '--find-links ./wheels\n-r other.txt\narmonly; platform_machine == "aarch64"\nx86only; platform_machine == "x86_64"\nlocalonly==1.0\n'
    )
    await writeFile(path.join(project, 'other.txt'), 'tinyjson==1.0.0\n')
    const run = await runAction(
      { publish: 'false', 'index-url': index.url, ...ARM_312 },
      { cwd: project, env: { RUNNER_TEMP: runnerTemp } }
    )
    expect(run.exitCode, run.stdout).toBe(0)
    expect(layer(run)).toEqual(['armonly 1.0.0', 'localonly 1.0', 'tinyjson 1.0.0'])
    expect(run.outputs['zip-path'].startsWith(runnerTemp)).toBe(true)
  })
})
