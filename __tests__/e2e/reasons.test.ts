// The bundled action (dist/index.js) on Node 24 with real pip against loopback indexes of wheels
// built here, about what it says when the index has no fitting version, or only an older one,
// for the runtime: the reason (a newer glibc, another CPython, another machine) said once, and
// the packages the runtime's glibc held back, from what pip saw during its one run. Then locks
// that name their own index, built with no index-url input. publish: false throughout.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { annotationLocations, failure, runAction, type ActionRun } from '../support/action.js'
import { catalog } from '../support/catalog.js'
import { startIndex, type PackageIndex } from '../support/index-server.js'
import {
  pipfile,
  pipfileLock,
  poetryLock,
  pyprojectToml,
  uvLock,
  type LockedProject
} from '../support/locks.js'
import { closedPort } from '../support/loopback.js'
import { buildSdist, buildWheel, type Distribution } from '../support/wheels.js'

/** A compiled package's wheel for one tag; the module is Python, enough for pip and the checks. */
function wheel(name: string, version: string, tag: string): Distribution {
  return buildWheel({
    name,
    version,
    tag,
    files: { [`${name}/__init__.py`]: `__version__ = "${version}"\n` }
  })
}

/**
 * arrowlike is pyarrow's story: 1.0.0 has manylinux2014 wheels, 2.0.0 only manylinux_2_28 ones
 * (abi3, so every CPython from 3.11 on) and an sdist that is native. cp313only has wheels only
 * for CPython 3.13; armonly-native only for aarch64.
 */
function reasonsWorld(): Distribution[] {
  return [
    wheel('arrowlike', '1.0.0', 'cp311-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64'),
    wheel('arrowlike', '2.0.0', 'cp311-abi3-manylinux_2_28_x86_64'),
    buildSdist({
      name: 'arrowlike',
      version: '2.0.0',
      files: { 'arrowlike/__init__.py': '' }
    }),
    wheel('cp313only', '1.0.0', 'cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64'),
    wheel('armonlynative', '1.0.0', 'cp311-abi3-manylinux_2_17_aarch64.manylinux2014_aarch64'),
    buildWheel({ name: 'usesarrow', version: '1.0.0', requires: ['arrowlike>=2'] })
  ]
}

let index: PackageIndex

beforeAll(async () => {
  index = await startIndex(reasonsWorld())
})
afterAll(async () => {
  await index?.close()
})

async function build(
  requirements: string,
  inputs: Record<string, string> = {}
): Promise<ActionRun & { project: string }> {
  const project = await mkdtemp(path.join(os.tmpdir(), 'project-'))
  await mkdir(project, { recursive: true })
  await writeFile(path.join(project, 'requirements.txt'), requirements)
  const run = await runAction(
    {
      publish: 'false',
      'index-url': index.url,
      runtime: 'python3.11',
      'import-check': 'false',
      ...inputs
    },
    { cwd: project }
  )
  return { ...run, project }
}

function packagesOf(run: ActionRun): string[] {
  const packages: Array<{ name: string; version: string }> = JSON.parse(run.outputs.packages)
  return packages.map(p => `${p.name} ${p.version}`).sort()
}

describe('a version that exists only for a newer glibc', () => {
  it('is reported as that, once, at its line, naming the newest version that fits and the runtimes that take it', async () => {
    const run = await build('arrowlike==2.0.0\n')
    expect(run.exitCode).toBe(1)
    const reason =
      'arrowlike 2.0.0 has only manylinux_2_28 wheels for cp311 x86_64; python3.11 (Amazon Linux 2) has glibc 2.26: pin arrowlike<=1.0.0 (the newest that fits), or use python3.12+'
    expect(run.errors).toEqual([reason])
    expect(annotationLocations(run.stdout, 'error')).toEqual(['file=requirements.txt,line=1'])
    expect(run.summary).toContain(reason.replace('<', '&lt;'))
    // the sdist of a compiled package is not built on the runner
    expect(run.stdout).not.toContain('pip wheel')
  })

  it('names the package that required it', async () => {
    const run = await build('usesarrow\n')
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toBe(
      'arrowlike 2.0.0 (required by usesarrow) has only manylinux_2_28 wheels for cp311 x86_64; python3.11 (Amazon Linux 2) has glibc 2.26: pin arrowlike<=1.0.0 (the newest that fits), or use python3.12+'
    )
    expect(run.errors).toHaveLength(1)
  })

  it('builds the same requirement for python3.12, whose glibc takes it', async () => {
    const run = await build('arrowlike==2.0.0\n', { runtime: 'python3.12' })
    expect(run.exitCode, run.stdout).toBe(0)
    expect(packagesOf(run)).toEqual(['arrowlike 2.0.0'])
    expect(run.summary).not.toContain('Held back')
  })
})

describe('other reasons no version fits', () => {
  it('wheels only for another CPython', async () => {
    const run = await build('cp313only\n')
    expect(failure(run)).toBe(
      'cp313only 1.0.0 has Linux wheels for x86_64 only for cp313; python3.11 needs cp311 or abi3: use python3.13'
    )
    expect(run.errors).toHaveLength(1)
  })

  it('wheels only for another machine', async () => {
    const run = await build('armonlynative\n')
    expect(failure(run)).toBe(
      'armonlynative 1.0.0 has Linux wheels for cp311 only for aarch64; x86_64 needs x86_64: build for architecture arm64'
    )
  })
})

describe('a package the runtime glibc held back', () => {
  it('is listed in the job summary with the runtimes that would take the newest, and noticed in the log', async () => {
    const run = await build('arrowlike\n')
    expect(run.exitCode, run.stdout).toBe(0)
    expect(packagesOf(run)).toEqual(['arrowlike 1.0.0'])
    expect(run.summary).toContain(
      '**Held back by glibc 2.26** (python3.11, Amazon Linux 2): 1 package is older than the newest on the index.'
    )
    expect(run.summary).toContain('| arrowlike | 1.0.0 | 2.0.0 | manylinux_2_28 | python3.12+ |')
    expect(run.stdout).toContain(
      '::notice::the glibc of python3.11 held back a package to an older version than the newest on the index:%0A  arrowlike 1.0.0, not 2.0.0 (the newest on the index): 2.0.0 has only manylinux_2_28 wheels and python3.11 (Amazon Linux 2) has glibc 2.26; python3.12+ would take it'
    )
  })

  it('is not listed when the requirement itself asks for the older version', async () => {
    const run = await build('arrowlike<2\n')
    expect(run.exitCode, run.stdout).toBe(0)
    expect(packagesOf(run)).toEqual(['arrowlike 1.0.0'])
    expect(run.summary).not.toContain('Held back')
    expect(run.stdout).not.toContain('::notice::the glibc')
  })
})

/** A small locked service: greeter, which brings tinyjson. */
const SERVICE: LockedProject = {
  name: 'svc',
  version: '0.1.0',
  requiresPython: '>=3.10',
  dependencies: [{ name: 'greeter' }],
  packages: [
    {
      name: 'greeter',
      version: '1.0.0',
      dependencies: [{ name: 'tinyjson', specifier: '>=1.0' }]
    },
    { name: 'tinyjson', version: '1.0.0' }
  ]
}

/** A pyproject.toml with Poetry sources after the project table. */
function withPoetrySource(project: LockedProject, url: string, priority: string): string {
  return `${pyprojectToml(project)}
[[tool.poetry.source]]
name = "private"
url = "${url}"
priority = "${priority}"
`
}

describe("a lock's own index, with no index-url input", () => {
  let lockIndex: PackageIndex
  beforeAll(async () => {
    lockIndex = await startIndex(catalog())
  })
  afterAll(async () => {
    await lockIndex?.close()
  })

  async function buildLock(
    files: (url: string) => Record<string, string>,
    requirements: string,
    inputs: Record<string, string> = {},
    env: Record<string, string> = {}
  ): Promise<ActionRun> {
    const project = await mkdtemp(path.join(os.tmpdir(), 'project-'))
    for (const [name, text] of Object.entries(files(lockIndex.url))) {
      await writeFile(path.join(project, name), text)
    }
    return runAction(
      { publish: 'false', runtime: 'python3.12', requirements, ...inputs },
      { cwd: project, env }
    )
  }

  it.each([
    {
      file: 'Pipfile.lock',
      files: (url: string) => ({
        'Pipfile.lock': pipfileLock(SERVICE, url),
        Pipfile: pipfile(SERVICE, url)
      }),
      from: 'Pipfile.lock _meta.sources "pypi"'
    },
    {
      file: 'poetry.lock',
      files: (url: string) => ({
        'poetry.lock': poetryLock(SERVICE),
        'pyproject.toml': withPoetrySource(SERVICE, url, 'primary')
      }),
      from: 'pyproject.toml [[tool.poetry.source]] "private" (primary)'
    },
    {
      file: 'uv.lock',
      files: (url: string) => ({
        'uv.lock': uvLock(SERVICE, url),
        'pyproject.toml': pyprojectToml(SERVICE)
      }),
      from: 'uv.lock (source registry)'
    }
  ])(
    '$file: pip installs from it, and the log says where it came from',
    async ({ file, files, from }) => {
      const before = lockIndex.requests.length
      const run = await buildLock(files, file)
      expect(run.exitCode, run.stdout).toBe(0)
      expect(packagesOf(run)).toEqual(['greeter 1.0.0', 'tinyjson 1.0.0'])
      expect(run.stdout).toContain(`index: ${lockIndex.url} (${from})`)
      expect(lockIndex.requests.slice(before)).toContain('/simple/greeter/')
    }
  )

  it('Pipfile.lock: a ${VAR} in the source URL is expanded as pipenv does, and the credential stays out of the log', async () => {
    const token = 's3cr3t-t0ken'
    const run = await buildLock(
      url => ({
        'Pipfile.lock': pipfileLock(SERVICE, url.replace('http://', 'http://ci:${INDEX_TOKEN}@'))
      }),
      'Pipfile.lock',
      {},
      { INDEX_TOKEN: token }
    )
    expect(run.exitCode, run.stdout).toBe(0)
    expect(run.stdout).toContain(`::add-mask::${token}`)
    const logged = run.stdout
      .split('\n')
      .filter(line => !line.startsWith('::add-mask::'))
      .join('\n')
    expect(logged).not.toContain(token)
    expect(logged).toContain(`index: ${lockIndex.url.replace('http://', 'http://***@')}`)
  })

  it("an index-url input wins over the lock's index", async () => {
    const port = await closedPort()
    const run = await buildLock(
      () => ({ 'Pipfile.lock': pipfileLock(SERVICE, `http://127.0.0.1:${port}/simple/`) }),
      'Pipfile.lock',
      { 'index-url': lockIndex.url }
    )
    expect(run.exitCode, run.stdout).toBe(0)
    expect(run.stdout).toContain(
      `index: ${lockIndex.url} (index-url) wins over http://127.0.0.1:${port}/simple/ (Pipfile.lock _meta.sources "pypi")`
    )
  })

  it("names the lock's index when it cannot be reached, not PyPI", async () => {
    const port = await closedPort()
    const url = `http://127.0.0.1:${port}/simple/`
    const run = await buildLock(
      () => ({ 'Pipfile.lock': pipfileLock(SERVICE, url) }),
      'Pipfile.lock'
    )
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toMatch(
      new RegExp(
        `^Pipfile\\.lock _meta\\.sources "pypi": ${url.replace(/\./g, '\\.')} could not be reached for greeter`
      )
    )
  })
})
