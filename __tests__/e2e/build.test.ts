// The bundled action (dist/index.js) run the way the runner runs it, on Node 24, with real
// pip against a loopback PEP 503 index of wheels this test world builds. publish: false
// throughout: this file is about the layer zip, not AWS.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, symlinkSync } from 'node:fs'
import { STATUS_CODES } from 'node:http'
import { mkdtemp, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { annotationLocations, failure, runAction, type ActionRun } from '../support/action.js'
import { catalog, filesOf, hashOf } from '../support/catalog.js'
import { startIndex, type PackageIndex } from '../support/index-server.js'
import { closedPort } from '../support/loopback.js'
import { makeSharedObject } from '../support/elf.js'
import { startResultsService } from '../support/results-service.js'
import { buildWheel } from '../support/wheels.js'

let index: PackageIndex

beforeAll(async () => {
  index = await startIndex(catalog())
})
afterAll(async () => {
  await index?.close()
})

/** Builds a layer from the given requirements lines, in a fresh project folder. */
async function build(
  requirements: string,
  inputs: Record<string, string> = {},
  env: Record<string, string | undefined> = {}
): Promise<ActionRun & { project: string }> {
  const project = await mkdtemp(path.join(os.tmpdir(), 'project-'))
  await writeFile(path.join(project, 'requirements.txt'), requirements)
  const run = await runAction(
    { publish: 'false', 'index-url': index.url, runtime: 'python3.12', ...inputs },
    { cwd: project, env }
  )
  return { ...run, project }
}

/** name → mode of each entry of a zip, read with Python's zipfile (an independent reader). */
function zipEntries(zipPath: string): Record<string, number> {
  const script =
    'import json, sys, zipfile\n' +
    'z = zipfile.ZipFile(sys.argv[1])\n' +
    'print(json.dumps({i.filename: i.external_attr >> 16 for i in z.infolist()}))'
  return JSON.parse(execFileSync('python3', ['-c', script, zipPath], { encoding: 'utf8' }))
}

function packagesOf(run: ActionRun): Array<{ name: string; version: string; bytes: number }> {
  return JSON.parse(run.outputs.packages)
}

describe('a layer for the target, not for the runner', () => {
  it('builds python3.12 x86_64 with newest fitting wheels, everything under python/', async () => {
    const run = await build('greeter[fast]\n')
    expect(run.exitCode, run.stdout).toBe(0)
    const names = packagesOf(run).map(p => `${p.name} ${p.version}`)
    expect(names.sort()).toEqual(['fastmath 2.1.0', 'greeter 1.0.0', 'tinyjson 1.1.0'])
    const entries = zipEntries(run.outputs['zip-path'])
    expect(Object.keys(entries).every(name => name.startsWith('python/'))).toBe(true)
    expect(entries).toHaveProperty(['python/fastmath/_core.abi3.so'])
    expect(entries).toHaveProperty(['python/greeter-1.0.0.dist-info/METADATA'])
    // the runner's Python never compiled anything for the layer
    expect(Object.keys(entries).some(name => name.endsWith('.pyc'))).toBe(false)
    // a marker for another platform kept pywin32stub out
    expect(Object.keys(entries).some(name => name.includes('pywin32stub'))).toBe(false)
  })

  it('gives an Amazon Linux 2 runtime on arm64 only wheels its glibc 2.26 can load', async () => {
    const run = await build('fastmath\n', { runtime: 'python3.11', architecture: 'arm64' })
    expect(run.exitCode, run.stdout).toBe(0)
    expect(packagesOf(run).map(p => `${p.name} ${p.version}`)).toEqual(['fastmath 2.0.0'])
    const so = execFileSync('unzip', [
      '-p',
      run.outputs['zip-path'],
      'python/fastmath/_core.abi3.so'
    ])
    expect(so.readUInt16LE(18)).toBe(183) // EM_AARCH64
    expect(run.summary).toContain('manylinux_2_26_aarch64')
    expect(run.summary).not.toContain('manylinux_2_27_aarch64')
  })

  it('picks the CPython-specific wheel of the runtime (cp313 on python3.13)', async () => {
    const run = await build('speedups\n', { runtime: 'python3.13' })
    expect(run.exitCode, run.stdout).toBe(0)
    expect(Object.keys(zipEntries(run.outputs['zip-path']))).toContain(
      'python/speedups/_speedups.cpython-313-x86_64-linux-gnu.so'
    )
  })

  it('evaluates dependency markers for the target, not for the runner', async () => {
    const arm = await build('machinedeps\n', { architecture: 'arm64', runtime: 'python3.12' })
    expect(arm.exitCode, arm.stdout).toBe(0)
    expect(
      packagesOf(arm)
        .map(p => p.name)
        .sort()
    ).toEqual(['armonly', 'machinedeps'])
    const old = await build('machinedeps\n', { architecture: 'x86_64', runtime: 'python3.11' })
    expect(
      packagesOf(old)
        .map(p => p.name)
        .sort()
    ).toEqual(['machinedeps', 'oldpy', 'x86only'])
  })

  it('reports outputs that match the zip: CodeSha256 as base64, sizes, packages', async () => {
    const run = await build('tinyjson==1.0.0\n')
    expect(run.exitCode, run.stdout).toBe(0)
    const bytes = readFileSync(run.outputs['zip-path'])
    expect(run.outputs['code-sha256']).toBe(createHash('sha256').update(bytes).digest('base64'))
    expect(Number(run.outputs['zip-size'])).toBe(bytes.length)
    expect(Number(run.outputs['unzipped-size'])).toBeGreaterThan(0)
    expect(packagesOf(run)).toEqual([
      { name: 'tinyjson', version: '1.0.0', bytes: expect.any(Number) }
    ])
    expect(run.summary).toContain('| tinyjson | 1.0.0 |')
    expect(run.summary).toContain('Verification:** passed')
  })

  it('runs outside GitHub Actions too, printing the summary to the log', async () => {
    const run = await build('tinyjson==1.0.0\n', {}, { GITHUB_STEP_SUMMARY: undefined })
    expect(run.exitCode, run.stdout).toBe(0)
    expect(run.stdout).toContain('| tinyjson | 1.0.0 |')
  })

  it('rebuilds byte for byte: same inputs, same CodeSha256', async () => {
    const first = await build('greeter[fast]\nhasscripts\n')
    const second = await build('greeter[fast]\nhasscripts\n')
    expect(first.exitCode).toBe(0)
    expect(second.outputs['code-sha256']).toBe(first.outputs['code-sha256'])
    expect(
      readFileSync(second.outputs['zip-path']).equals(readFileSync(first.outputs['zip-path']))
    ).toBe(true)
    const changed = await build('greeter[fast]\nhasscripts\ntinyjson==1.0.0\n')
    expect(changed.outputs['code-sha256']).not.toBe(first.outputs['code-sha256'])
  })

  it.each(['true', 'false'])(
    "gives the same CodeSha256 whatever the path of the runner's Python (slim: %s)",
    async slim => {
      const real = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], {
        encoding: 'utf8'
      }).trim()
      const elsewhere = path.join(await mkdtemp(path.join(os.tmpdir(), 'other-python-')), 'python3')
      symlinkSync(real, elsewhere)
      const first = await build('hasscripts\n', { slim, python: real })
      const second = await build('hasscripts\n', { slim, python: elsewhere })
      expect(first.exitCode, first.stdout).toBe(0)
      expect(second.outputs['code-sha256']).toBe(first.outputs['code-sha256'])
    }
  )

  it('stores world-readable files and keeps the execute bit', async () => {
    const run = await build('hasscripts\n', { slim: 'false' })
    const entries = zipEntries(run.outputs['zip-path'])
    expect(entries['python/hasscripts/core.py'] & 0o777).toBe(0o644)
    expect(entries['python/hasscripts/bin/hs-helper'] & 0o777).toBe(0o755)
  })

  it('slims what never loads at run time and keeps dist-info', async () => {
    const run = await build('hasscripts\n')
    expect(run.exitCode, run.stdout).toBe(0)
    const names = Object.keys(zipEntries(run.outputs['zip-path']))
    expect(names).toContain('python/hasscripts/core.py')
    expect(names).toContain('python/hasscripts-1.0.0.dist-info/METADATA')
    expect(names).not.toContain('python/hasscripts/core.pyi')
    expect(names).not.toContain('python/hasscripts/_speedups.c')
    expect(names.some(name => name.includes('/tests/'))).toBe(false)
  })
})

describe('verification catches what would not load', () => {
  it('fails on a shared object needing a newer glibc than the runtime has', async () => {
    const run = await build('newglibc\n')
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toContain(
      'newglibc 1.0.0: newglibc/_native.abi3.so needs GLIBC_2.35; python3.12 (Amazon Linux 2023) has 2.34'
    )
    expect(annotationLocations(run.stdout, 'error')[0]).toBe('file=requirements.txt,line=1')
  })

  it('only warns about it with verify: warn', async () => {
    const run = await build('newglibc\n', { verify: 'warn' })
    expect(run.exitCode).toBe(0)
    expect(run.warnings.join('\n')).toContain('needs GLIBC_2.35')
  })

  it('fails on a shared object for the other architecture', async () => {
    const run = await build('wrongarch\n', { architecture: 'arm64' })
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toContain('wrongarch 1.0.0: wrongarch/_native.abi3.so is built for x86_64')
  })

  it('fails on an extension module built for another CPython', async () => {
    const run = await build('wrongabi\n')
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toContain(
      'wrongabi 1.0.0: wrongabi/_ext.cpython-311-x86_64-linux-gnu.so is built for CPython 3.11; python3.12 runs CPython 3.12'
    )
  })
})

describe('a layer with many wrong shared objects reads as a short list', () => {
  // 12 packages, one with 30 shared objects: each lies (manylinux_2_17) and needs GLIBC_2.28,
  // too new for python3.11's Amazon Linux 2
  const names = Array.from({ length: 12 }, (_, i) => `toonew${String.fromCharCode(97 + i)}`)
  const filesOfPackage = (name: string, i: number) =>
    Array.from({ length: i === 0 ? 30 : 2 }, (_, n) => `${name}/_native${n}.abi3.so`)
  let manyIndex: PackageIndex

  beforeAll(async () => {
    manyIndex = await startIndex(
      names.map((name, i) =>
        buildWheel({
          name,
          version: '1.0.0',
          tag: 'cp310-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64',
          requiresPython: '>=3.10',
          files: {
            [`${name}/__init__.py`]: '',
            ...Object.fromEntries(
              filesOfPackage(name, i).map(file => [
                file,
                makeSharedObject({ machine: 'x86_64', glibc: ['GLIBC_2.2.5', 'GLIBC_2.28'] })
              ])
            )
          }
        })
      )
    )
  })
  afterAll(async () => {
    await manyIndex?.close()
  })

  it('annotates once per package, under GitHub’s 10 errors, the failure line last', async () => {
    const run = await build(names.join('\n') + '\n', {
      runtime: 'python3.11',
      'index-url': manyIndex.url
    })
    expect(run.exitCode, run.stdout).toBe(1)
    expect(run.errors.length).toBeLessThanOrEqual(10)
    expect(failure(run)).toMatch(
      /^verification failed: the layer will not load on python3.11 x86_64/
    )
    // the import check (which now imports these fake extension modules too) adds one line
    const findingAnnotations = run.errors
      .slice(0, -1)
      .filter(annotation => !annotation.startsWith('import check:'))
    expect(run.errors.filter(a => a.startsWith('import check:')).length).toBeLessThanOrEqual(1)
    expect(findingAnnotations).toHaveLength(8)
    // the 30 files of the first package are one annotation, at its requirement's line
    expect(findingAnnotations[0]).toBe(
      'toonewa 1.0.0: toonewa/_native0.abi3.so needs GLIBC_2.28; python3.11 (Amazon Linux 2) has 2.26 (and 29 more files)'
    )
    expect(annotationLocations(run.stdout, 'error')[0]).toBe('file=requirements.txt,line=1')
    for (const name of names.slice(0, 7)) {
      expect(findingAnnotations.filter(a => a.includes(`${name} 1.0.0`))).toHaveLength(1)
    }
    expect(findingAnnotations[7]).toBe(
      'verification: 5 more problems (5 packages, 10 files) are listed in the log and the job summary'
    )
    // the failure line names every package once
    for (const name of names) {
      expect(failure(run).split(`${name} 1.0.0:`)).toHaveLength(2)
    }
    // the log still lists every file
    for (const [i, name] of names.entries()) {
      for (const file of filesOfPackage(name, i)) {
        expect(run.stdout).toContain(`${name} 1.0.0: ${file} needs GLIBC_2.28`)
      }
    }
  })
})

describe('the job summary of a failed build', () => {
  it('names the requirements file, runtime, architecture and the error when pip fails', async () => {
    // tinyjson first: the index preflight asks about it, so the failure comes from pip
    const run = await build('tinyjson\nno-such-package==1.0\n', {
      runtime: 'python3.13',
      architecture: 'arm64'
    })
    expect(run.exitCode).toBe(1)
    expect(run.summary).toContain(
      'Asked for: requirements `requirements.txt`, runtime python3.13, architecture arm64.'
    )
    expect(run.summary).toContain(
      'no-such-package==1.0: no version on the index has a wheel for python3.13 on arm64'
    )
    expect(run.summary).toContain(failure(run))
  })

  it('follows the build summary when verification fails', async () => {
    const run = await build('newglibc\n')
    expect(run.exitCode).toBe(1)
    expect(run.summary).toContain('**Verification:** 1 problem(s)')
    expect(run.summary.indexOf('### Failed')).toBeGreaterThan(
      run.summary.indexOf('**Verification:**')
    )
    expect(run.summary).toContain(
      'verification failed: the layer will not load on python3.12 x86_64'
    )
  })
})

describe('packages with only an sdist', () => {
  it('builds a pure one on the runner and includes it', async () => {
    const run = await build('onlysdist==0.5.0\ntinyjson\n')
    expect(run.exitCode, run.stdout).toBe(0)
    expect(
      packagesOf(run)
        .map(p => p.name)
        .sort()
    ).toEqual(['onlysdist', 'tinyjson'])
    expect(run.summary).toContain('built from sdist')
  })

  it('refuses a native one, naming package, runtime, architecture and what to do', async () => {
    const run = await build('tinyjson\nnativesdist\n', { architecture: 'arm64' })
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toBe(
      'nativesdist 0.1.0 has no wheel for python3.12 on arm64 (manylinux up to glibc 2.34), only an sdist with native code, which cannot be built for Lambda on this runner; pin a version that publishes manylinux wheels for cp312 aarch64, or build it in an Amazon Linux container'
    )
    expect(annotationLocations(run.stdout, 'error')[0]).toBe('file=requirements.txt,line=2')
  })
})

describe('the runtime SDK', () => {
  it('stays when a package in the layer pins botocore, saying why', async () => {
    const pinner = buildWheel({
      name: 'awspinned',
      version: '1.0.0',
      requires: ['botocore==1.35.0'],
      files: { 'awspinned/__init__.py': 'import botocore\n' }
    })
    const pinnedIndex = await startIndex([...catalog(), pinner])
    try {
      const project = await mkdtemp(path.join(os.tmpdir(), 'project-'))
      await writeFile(path.join(project, 'requirements.txt'), 'awspinned\n')
      const run = await runAction(
        { publish: 'false', 'index-url': pinnedIndex.url, runtime: 'python3.12' },
        { cwd: project }
      )
      expect(run.exitCode, run.stdout).toBe(0)
      expect(packagesOf(run).map(p => p.name)).toContain('botocore')
      expect(run.stdout).toContain(
        "::notice::botocore stays in the layer although the runtime ships it: awspinned 1.0.0 requires botocore==1.35.0, which the runtime's own copy need not satisfy"
      )
    } finally {
      await pinnedIndex.close()
    }
  })

  it('is left out when only pulled in transitively', async () => {
    const run = await build('awshelper\n')
    expect(run.exitCode, run.stdout).toBe(0)
    expect(packagesOf(run).map(p => p.name)).toEqual(['awshelper'])
    expect(run.summary).toContain('boto3 1.35.0: the runtime ships it')
  })

  it('stays when named in the requirements file', async () => {
    const run = await build('boto3==1.35.0\n')
    expect(run.exitCode, run.stdout).toBe(0)
    expect(
      packagesOf(run)
        .map(p => p.name)
        .sort()
    ).toEqual(['boto3', 'botocore', 'jmespath', 'python-dateutil', 's3transfer', 'six', 'urllib3'])
  })

  it('warns about half a set: botocore without boto3', async () => {
    const run = await build('needsbotocore\nbotocore\n')
    expect(run.exitCode, run.stdout).toBe(0)
    expect(run.warnings.join('\n')).toContain(
      'the layer has botocore 1.35.0 but not boto3, s3transfer'
    )
  })

  it('leaves out what exclude names', async () => {
    const run = await build('greeter\n', { exclude: 'TinyJSON' })
    expect(packagesOf(run).map(p => p.name)).toEqual(['greeter'])
  })
})

describe('an empty layer', () => {
  const tail =
    '; the layer would be empty and functions moved onto it would lose their dependencies. ' +
    'Fix the requirements, or set allow-empty: true'

  it('fails when every requirement is excluded by its marker for the target', async () => {
    const run = await build(
      'tinyjson; python_version < "3.10"\ngreeter; platform_machine == "aarch64"\n'
    )
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toBe(
      'requirements: requirements.txt gives no packages for python3.12 x86_64 (it lists no ' +
        `requirement, or every one is excluded by its marker)${tail}`
    )
  })

  it('fails when exclude leaves out everything, naming what it left out', async () => {
    const run = await build('tinyjson\n', { exclude: 'tinyjson' })
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toBe(
      'requirements: requirements.txt gives no packages for python3.12 x86_64 (exclude left ' +
        `out everything: tinyjson)${tail}`
    )
  })

  it('names what exclude left out and what the runtime ships', async () => {
    const run = await build('awshelper\n', { exclude: 'awshelper' })
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toMatch(
      /\(exclude left out awshelper and the runtime ships the rest: .*boto3.*botocore.*\); the layer would be empty/
    )
  })

  it('builds with a warning when allow-empty says an empty layer is intended', async () => {
    const run = await build('tinyjson; python_version < "3.10"\n', { 'allow-empty': 'true' })
    expect(run.exitCode, run.stdout).toBe(0)
    expect(packagesOf(run)).toEqual([])
    expect(run.warnings).toContain(
      'requirements: requirements.txt gives no packages for python3.12 x86_64 (it lists no ' +
        'requirement, or every one is excluded by its marker); the layer is empty (allow-empty: true)'
    )
  })
})

describe('hash-checking mode', () => {
  it('installs when every hash matches', async () => {
    const wheel = filesOf('tinyjson').find(d => d.filename.startsWith('tinyjson-1.0.0'))!
    const run = await build(`tinyjson==1.0.0 --hash=sha256:${hashOf(wheel.filename)}\n`)
    expect(run.exitCode, run.stdout).toBe(0)
  })

  it('refuses a file whose hash does not match', async () => {
    const run = await build(`tinyjson==1.0.0 --hash=sha256:${'0'.repeat(64)}\n`)
    expect(run.exitCode).toBe(1)
    const wheel = 'tinyjson-1.0.0-py3-none-any.whl'
    expect(failure(run)).toBe(
      `requirements: requirements.txt line 1: the index serves ${wheel} with sha256:${hashOf(wheel)}, a hash the file does not have for tinyjson 1.0.0; update its --hash if it was re-published on purpose, otherwise check the index`
    )
    expect(annotationLocations(run.stdout, 'error')[0]).toBe('file=requirements.txt,line=1')
  })
})

describe('the layer zip as a workflow artifact', () => {
  it('uploads the zip itself, not a zip inside a zip, and outputs its id and URL', async () => {
    const service = await startResultsService()
    try {
      const run = await build(
        'tinyjson==1.0.0\n',
        {
          'upload-artifact': 'true',
          'artifact-name': 'deps-layer',
          'artifact-retention-days': '3'
        },
        {
          ...service.env,
          GITHUB_SERVER_URL: 'https://github.com',
          GITHUB_REPOSITORY: 'octo/app',
          GITHUB_RUN_ID: '42',
          GITHUB_RETENTION_DAYS: '90'
        }
      )
      expect(run.exitCode, run.stdout).toBe(0)
      const [artifact] = [...service.artifacts.values()]
      expect(artifact.bytes?.equals(readFileSync(run.outputs['zip-path']))).toBe(true)
      expect(service.createRequests[0].name).toBe('deps-layer.zip')
      expect(run.outputs['artifact-url']).toBe(
        `https://github.com/octo/app/actions/runs/42/artifacts/${run.outputs['artifact-id']}`
      )
    } finally {
      await service.close()
    }
  })

  it('only warns outside GitHub Actions', async () => {
    const run = await build('tinyjson==1.0.0\n', { 'upload-artifact': 'true' })
    expect(run.exitCode, run.stdout).toBe(0)
    expect(run.warnings.join('\n')).toContain('upload-artifact: not running in GitHub Actions')
  })
})

/** Starts the test index on a port Node's fetch refuses (the WHATWG "bad ports") but pip uses. */
async function indexOnBadPort(): Promise<PackageIndex> {
  for (const port of [6666, 6667, 6668, 6669, 6665, 10080, 6697, 6679, 6000, 5060, 4190]) {
    try {
      return await startIndex(catalog(), { port })
    } catch {
      // taken: try the next bad port
    }
  }
  throw new Error('no bad port free to listen on')
}

describe('an index that fails is named, with what it answered', () => {
  it.each([
    [401, "check the credentials in the URL or the runner's pip configuration"],
    [403, "check that the credentials in the URL or the runner's pip configuration may read it"],
    [
      404,
      "check the package name, and the URL: pip needs the index's simple API, which often ends in /simple/"
    ]
  ])('an index-url answering %i to everything', async (status, advice) => {
    const refusing = await startIndex([], { status })
    try {
      const run = await build('tinyjson\n', { 'index-url': refusing.url })
      expect(run.exitCode).toBe(1)
      expect(failure(run)).toBe(
        `index-url: ${refusing.url} answered ${status} ${STATUS_CODES[status]} for tinyjson; ${advice}`
      )
    } finally {
      await refusing.close()
    }
  })

  it('credentials in the URL that the index refuses, before any pip run and masked', async () => {
    const refusing = await startIndex([], { status: 401 })
    try {
      const url = refusing.url.replace('//', '//ci:s3cret@')
      const run = await build('tinyjson\n', { 'index-url': url })
      expect(failure(run)).toBe(
        `index-url: ${refusing.url.replace('//', '//***@')} answered 401 Unauthorized to the credentials in the URL; check them (a token may have expired)`
      )
      expect(run.stdout).not.toContain('pip install')
    } finally {
      await refusing.close()
    }
  })

  // the runner's pip configuration is never pre-checked: pip's failure itself must say it
  it("an index from the runner's pip configuration that refuses connections", async () => {
    const port = await closedPort()
    const run = await build(
      'tinyjson\n',
      { 'index-url': '' },
      { PIP_INDEX_URL: `http://127.0.0.1:${port}/simple/`, PIP_RETRIES: '0' }
    )
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toBe(
      `the index http://127.0.0.1:${port}/simple/ (from pip's configuration) could not be reached for tinyjson (Connection refused); check the URL and the runner's network`
    )
  })

  it("an index from the runner's pip configuration whose host does not exist", async () => {
    const run = await build(
      'tinyjson\n',
      { 'index-url': '' },
      { PIP_INDEX_URL: 'https://nonexistent.invalid/simple/', PIP_RETRIES: '0' }
    )
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toMatch(
      /^the index https:\/\/nonexistent\.invalid\/simple\/ \(from pip's configuration\) could not be reached for tinyjson: its host nonexistent\.invalid was not found \((Name or service not known|Temporary failure in name resolution|No address associated with hostname)\); check the URL and the runner's network$/
    )
  })

  it('a plain http index that pip ignores, with what to add', async () => {
    const run = await build(
      'tinyjson\n',
      { 'index-url': '' },
      { PIP_INDEX_URL: 'http://nonexistent.invalid/simple/' }
    )
    expect(failure(run)).toBe(
      'the index on nonexistent.invalid is plain http, which pip ignores on a host it is not told to trust; use https, or add --trusted-host nonexistent.invalid to pip-args'
    )
  })

  it("an index on a port Node's fetch refuses is left to pip, and the build succeeds", async () => {
    const unusual = await indexOnBadPort()
    try {
      const run = await build('tinyjson==1.0.0\n', { 'index-url': unusual.url })
      expect(run.exitCode, run.stdout).toBe(0)
      expect(unusual.requests).toContain('/simple/tinyjson/')
    } finally {
      await unusual.close()
    }
  })
})

describe('bad input: one line naming the input, before any pip run', () => {
  it('a requirements file that does not exist', async () => {
    const run = await build('', { requirements: 'nope/requirements.txt' })
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toMatch(/^requirements: .*nope\/requirements.txt does not exist/)
  })

  it('an unknown runtime', async () => {
    const run = await build('tinyjson\n', { runtime: 'python3.8' })
    expect(failure(run)).toMatch(
      /^runtime: "python3.8" is not a Lambda Python runtime; use one of python3.14, python3.13(, python3.1\d)*$/
    )
  })

  it('a runtime past its end of life, with its dates', async () => {
    const run = await build('tinyjson\n', { runtime: 'python3.9' })
    expect(failure(run)).toMatch(
      /^runtime: python3.9 is past its end of life on Lambda \(deprecated 2025-12-15, function create blocked 2026-02-03, update blocked 2026-03-09\): no function on it can be created or updated; use one of python3.14, /
    )
  })

  it('an architecture Lambda does not have', async () => {
    const run = await build('tinyjson\n', { architecture: 'aarch64' })
    expect(failure(run)).toBe('architecture: "aarch64" is not accepted; use one of x86_64, arm64')
  })

  it('an editable requirement', async () => {
    const run = await build('tinyjson\n-e ./mypkg\n')
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toMatch(/requirements\.txt line 2: "-e \.\/mypkg"/)
  })

  it('an index that cannot be reached', async () => {
    const port = await closedPort()
    const run = await build('tinyjson\n', { 'index-url': `http://127.0.0.1:${port}/simple/` })
    expect(failure(run)).toBe(
      `index-url: cannot reach http://127.0.0.1:${port}/simple/ (ECONNREFUSED); check the URL and the runner's network`
    )
  })

  it('a requirement that does not exist, annotated at its line', async () => {
    const run = await build('tinyjson\nno-such-package==1.0\n')
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toBe(
      'no-such-package==1.0: no version on the index has a wheel for python3.12 on x86_64 (manylinux up to glibc 2.34) (or an sdist of pure Python); check the name and version, or whether the project publishes manylinux wheels for cp312 x86_64'
    )
    expect(annotationLocations(run.stdout, 'error')[0]).toBe('file=requirements.txt,line=2')
  })

  it('publish: true without a layer name', async () => {
    const run = await build('tinyjson\n', { publish: 'true' })
    expect(failure(run)).toBe(
      'layer-name: required when publish is true or plan (a name of letters, digits, - and _, or a layer ARN); or set publish: false to only build'
    )
  })

  it('pip-args that would install elsewhere, in a combined short option', async () => {
    const run = await build('tinyjson\n', { 'pip-args': '-qt /tmp/elsewhere' })
    expect(failure(run)).toBe(
      'pip-args: -qt (-t) is set by the action from runtime and architecture and cannot be overridden; remove it'
    )
    expect(run.stdout).not.toContain('pip install')
  })

  it('pip-args that would build for the runner', async () => {
    const run = await build('tinyjson\n', { 'pip-args': '--platform linux_x86_64' })
    expect(failure(run)).toBe(
      'pip-args: --platform is set by the action from runtime and architecture and cannot be overridden; remove it'
    )
  })

  it('refuses before doing any work: no pip run, no build folder, no outputs', async () => {
    const run = await build('tinyjson\n', { runtime: 'python3.8' })
    expect(run.outputs).toEqual({})
    expect(readdirSync(run.runnerTemp).filter(name => name.startsWith('lambda-layer-'))).toEqual([])
    expect(run.stdout).not.toContain('pip install')
  })
})
