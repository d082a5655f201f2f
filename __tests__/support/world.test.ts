// Proves the test world is what the end-to-end tests assume: REAL pip, isolated from this
// machine's pip config, resolves and installs the catalog from the local index exactly as it
// would from PyPI — per architecture, per glibc ceiling, with markers, extras, sdists, hashes.

import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  cpythonTag,
  findRuntime,
  LIMITS,
  platformTags,
  type Architecture
} from '../../src/facts.js'
import { bigblob, catalog, hashOf } from './catalog.js'
import { startIndex, type PackageIndex } from './index-server.js'
import { isolatedPipEnv } from './pip-env.js'
import { buildSdist, buildWheel, type Distribution } from './wheels.js'

let index: PackageIndex
let work: string
let dists: Distribution[]

beforeAll(async () => {
  dists = catalog()
  index = await startIndex(dists)
  work = await mkdtemp(join(tmpdir(), 'test-world-'))
})

afterAll(async () => {
  await index?.close()
  if (work) await rm(work, { recursive: true, force: true })
})

interface Run {
  code: number
  out: string
}

/** Runs a command without blocking the event loop (the index answers from this process). */
function run(command: string, args: string[], env = isolatedPipEnv()): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env })
    let out = ''
    child.stdout.on('data', chunk => (out += chunk))
    child.stderr.on('data', chunk => (out += chunk))
    child.on('error', reject)
    child.on('close', code => resolve({ code: code ?? -1, out }))
  })
}

function pip(...args: string[]): Promise<Run> {
  return run('python3', ['-m', 'pip', ...args, '--no-cache-dir'])
}

let installs = 0

/** `pip install --target` for a Lambda runtime and architecture; returns what pip's report lists. */
async function installFor(
  runtimeName: string,
  architecture: Architecture,
  requirements: string[],
  extra: string[] = []
) {
  const runtime = findRuntime(runtimeName)!
  const target = join(work, `site-${++installs}`)
  const report = join(work, `report-${installs}.json`)
  const result = await pip(
    'install',
    '--target',
    target,
    '--only-binary=:all:',
    ...platformTags(runtime, architecture).flatMap(tag => ['--platform', tag]),
    '--implementation',
    'cp',
    '--python-version',
    runtime.pythonVersion,
    '--abi',
    cpythonTag(runtime),
    '--abi',
    'abi3',
    '--abi',
    'none',
    '--index-url',
    index.url,
    '--report',
    report,
    ...extra,
    ...requirements
  )
  expect(result.code, result.out).toBe(0)
  const parsed = JSON.parse(await readFile(report, 'utf8')) as {
    install: Array<{ requested: boolean; metadata: { name: string; version: string } }>
  }
  const installed = Object.fromEntries(
    parsed.install.map(i => [i.metadata.name, i.metadata.version])
  )
  return { target, installed, report: parsed }
}

/** readelf's view of a shared object: its machine and the GLIBC versions it needs. */
async function readElf(path: string): Promise<{ machine: string; glibc: string[] }> {
  const header = await run('readelf', ['-h', path])
  const versions = await run('readelf', ['-V', path])
  expect(header.code, header.out).toBe(0)
  return {
    machine: /Machine:\s+(.+)/.exec(header.out)![1].trim(),
    glibc: [...new Set(versions.out.match(/GLIBC_[0-9.]+/g) ?? [])].sort()
  }
}

async function findFiles(dir: string, suffix: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true })
  return entries.filter(e => e.endsWith(suffix)).map(e => join(dir, e))
}

describe('the package index', () => {
  it('lists every project and serves PEP 503 pages with hashes and requires-python', async () => {
    const root = await (await fetch(index.url)).text()
    expect(root).toContain('href="/simple/python-dateutil/"')
    expect(root).toContain('href="/simple/fastmath/"')

    const page = await (await fetch(index.url + 'fastmath/')).text()
    const wheel = 'fastmath-2.0.0-cp310-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl'
    expect(page).toContain(`${wheel}#sha256=${hashOf(wheel)}"`)
    expect(page).toContain('data-requires-python="&gt;=3.10"')

    const file = await fetch(new URL(`/files/${wheel}`, index.url))
    expect(Buffer.from(await file.arrayBuffer())).toEqual(
      dists.find(d => d.filename === wheel)!.bytes
    )
  })

  it('redirects non-normalised project names and answers 404 for unknown projects', async () => {
    const redirect = await fetch(index.url + 'Python_DateUtil/', { redirect: 'manual' })
    expect(redirect.status).toBe(301)
    expect(redirect.headers.get('location')).toBe('/simple/python-dateutil/')
    expect((await fetch(index.url + 'no-such-project/')).status).toBe(404)
  })

  it('stops by itself once idle', async () => {
    const idle = await startIndex([], { idleTimeoutMs: 50 })
    await new Promise(resolve => setTimeout(resolve, 500))
    await expect(fetch(idle.url)).rejects.toThrow()
  })
})

describe('the built archives', () => {
  it('are byte-for-byte reproducible', () => {
    const spec = { name: 'Same_Name', version: '1.0', files: { 'same/__init__.py': 'x = 1\n' } }
    expect(buildWheel(spec).bytes).toEqual(buildWheel(spec).bytes)
    expect(buildWheel(spec).filename).toBe('same_name-1.0-py3-none-any.whl')
    expect(buildSdist(spec).bytes).toEqual(buildSdist(spec).bytes)
    expect(buildSdist(spec).filename).toBe('same_name-1.0.tar.gz')
  })

  it('carry RECORD files whose hashes and sizes match every member', async () => {
    const dir = join(work, 'records')
    await rm(dir, { recursive: true, force: true })
    await mkdir(dir)
    for (const d of dists) await writeFile(join(dir, d.filename), d.bytes)
    const check = await run('python3', [
      '-c',
      `
import base64, csv, glob, hashlib, io, sys, zipfile
bad = []
for path in glob.glob(sys.argv[1] + '/*.whl'):
    with zipfile.ZipFile(path) as z:
        record = [n for n in z.namelist() if n.endswith('.dist-info/RECORD')][0]
        rows = list(csv.reader(io.StringIO(z.read(record).decode())))
        listed = {row[0] for row in rows}
        if listed != set(z.namelist()):
            bad.append(path + ' lists ' + str(sorted(listed ^ set(z.namelist()))))
        for name, digest, size in rows:
            if name == record:
                continue
            data = z.read(name)
            want = 'sha256=' + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
            if digest != want or int(size) != len(data):
                bad.append(path + ': ' + name)
print('\\n'.join(bad) or 'ok')
`,
      dir
    ])
    expect(check.out.trim()).toBe('ok')
  })

  it('include a bigblob wheel too big to upload directly even when zipped', () => {
    const wheel = bigblob()
    expect(wheel.filename).toBe('bigblob-1.0.0-py3-none-any.whl')
    expect(wheel.bytes.length).toBeGreaterThan(LIMITS.directUploadBytes)
  })
})

describe('real pip against the test world', () => {
  const machineName: Record<Architecture, RegExp> = { x86_64: /X86-64/, arm64: /AArch64/ }

  for (const architecture of ['x86_64', 'arm64'] as const) {
    it(`installs pure and native packages for python3.12 on ${architecture} (AL2023 gets fastmath 2.1.0)`, async () => {
      const { target, installed, report } = await installFor('python3.12', architecture, [
        'greeter[fast]',
        'speedups'
      ])
      expect(installed).toEqual({
        greeter: '1.0.0',
        tinyjson: '1.1.0',
        fastmath: '2.1.0',
        speedups: '1.0.0'
      })
      expect(report.install.filter(i => i.requested).map(i => i.metadata.name)).toEqual(
        expect.arrayContaining(['greeter', 'speedups'])
      )
      const machine = architecture === 'arm64' ? 'aarch64' : 'x86_64'
      const ext = join(target, `speedups/_speedups.cpython-312-${machine}-linux-gnu.so`)
      expect((await readElf(ext)).machine).toMatch(machineName[architecture])
      const core = await readElf(join(target, 'fastmath/_core.abi3.so'))
      expect(core.machine).toMatch(machineName[architecture])
      expect(core.glibc).toContain('GLIBC_2.28')
    })

    it(`resolves fastmath 2.0.0 under Amazon Linux 2's glibc ceiling on ${architecture}`, async () => {
      const { target, installed } = await installFor('python3.11', architecture, ['fastmath'])
      expect(installed).toEqual({ fastmath: '2.0.0' })
      const core = await readElf(join(target, 'fastmath/_core.abi3.so'))
      expect(core.glibc).not.toContain('GLIBC_2.28')
      expect(core.glibc).toContain('GLIBC_2.17')
    })
  }

  it('picks the CPython-specific wheel of every runtime from python3.10 to python3.14', async () => {
    for (const [runtime, architecture] of [
      ['python3.10', 'arm64'],
      ['python3.11', 'x86_64'],
      ['python3.13', 'arm64'],
      ['python3.14', 'x86_64']
    ] as const) {
      const { target } = await installFor(runtime, architecture, ['speedups'])
      const version = runtime.replace('python3.', '')
      const machine = architecture === 'arm64' ? 'aarch64' : 'x86_64'
      expect(await findFiles(join(target, 'speedups'), '.so')).toEqual([
        join(target, `speedups/_speedups.cpython-3${version}-${machine}-linux-gnu.so`)
      ])
    }
  })

  it('drops requirements whose markers name another platform', async () => {
    const { installed } = await installFor('python3.12', 'x86_64', ['greeter'])
    expect(installed).toEqual({ greeter: '1.0.0', tinyjson: '1.1.0' })
    expect(index.requests).not.toContain('/simple/pywin32stub/')
  })

  it('installs the traps as pip sees nothing wrong with them, while their ELF files lie', async () => {
    const { target, installed } = await installFor('python3.12', 'x86_64', [
      'newglibc',
      'wrongarch',
      'wrongabi'
    ])
    expect(installed).toEqual({ newglibc: '1.0.0', wrongarch: '1.0.0', wrongabi: '1.0.0' })
    expect((await readElf(join(target, 'newglibc/_native.abi3.so'))).glibc).toContain('GLIBC_2.35')
    expect((await readElf(join(target, 'wrongarch/_native.abi3.so'))).machine).toMatch(/AArch64/)
    expect(await findFiles(join(target, 'wrongabi'), '.so')).toEqual([
      join(target, 'wrongabi/_ext.cpython-311-x86_64-linux-gnu.so')
    ])
  })

  it('pulls the whole runtime SDK transitively, or half of it', async () => {
    const whole = await installFor('python3.12', 'x86_64', ['awshelper'])
    expect(Object.keys(whole.installed).sort()).toEqual([
      'awshelper',
      'boto3',
      'botocore',
      'jmespath',
      'python-dateutil',
      's3transfer',
      'six',
      'urllib3'
    ])
    expect(whole.report.install.filter(i => i.requested).map(i => i.metadata.name)).toEqual([
      'awshelper'
    ])
    const half = await installFor('python3.12', 'arm64', ['needsbotocore'])
    expect(half.installed).toHaveProperty('botocore', '1.35.0')
    expect(half.installed).not.toHaveProperty('boto3')
    expect(half.installed).not.toHaveProperty('s3transfer')
  })

  it('keeps scripts executable and ships tests, stubs and C sources for slimming to find', async () => {
    const { target } = await installFor('python3.12', 'x86_64', ['hasscripts'])
    expect((await stat(join(target, 'bin/hasscripts-run'))).mode & 0o111).toBe(0o111)
    expect((await stat(join(target, 'hasscripts/bin/hs-helper'))).mode & 0o111).toBe(0o111)
    for (const file of ['tests/test_core.py', 'core.pyi', '_speedups.c', 'py.typed']) {
      await expect(stat(join(target, 'hasscripts', file))).resolves.toBeTruthy()
    }
  })

  it('accepts the served hashes in hash-checking mode and rejects a wrong one', async () => {
    const wheel = 'tinyjson-1.1.0-py3-none-any.whl'
    const good = join(work, 'hashed.txt')
    await writeFile(good, `tinyjson==1.1.0 --hash=sha256:${hashOf(wheel)}\n`)
    const passed = await installFor('python3.12', 'x86_64', [], ['--require-hashes', '-r', good])
    expect(passed.installed).toEqual({ tinyjson: '1.1.0' })

    const wrong = join(work, 'wrong-hash.txt')
    await writeFile(wrong, `tinyjson==1.1.0 --hash=sha256:${'0'.repeat(64)}\n`)
    const failed = await pip(
      'install',
      '--target',
      join(work, 'wrong-hash'),
      '--index-url',
      index.url,
      '--require-hashes',
      '-r',
      wrong
    )
    expect(failed.code).not.toBe(0)
    expect(failed.out).toContain('DO NOT MATCH THE HASHES')
  })

  it('cannot install the sdist-only package with --only-binary, but builds it into a pure wheel offline', async () => {
    const refused = await pip(
      'install',
      '--target',
      join(work, 'refused'),
      '--only-binary=:all:',
      '--index-url',
      index.url,
      'onlysdist'
    )
    expect(refused.code).not.toBe(0)
    expect(refused.out).toContain('No matching distribution found for onlysdist')

    const out = join(work, 'onlysdist-wheel')
    const built = await pip(
      'wheel',
      '--no-deps',
      '--wheel-dir',
      out,
      '--index-url',
      index.url,
      'onlysdist'
    )
    expect(built.code, built.out).toBe(0)
    expect(await readdir(out)).toEqual(['onlysdist-0.5.0-py3-none-any.whl'])

    const downloaded = join(work, 'onlysdist-download')
    const download = await pip(
      'download',
      '--no-deps',
      '--dest',
      downloaded,
      '--index-url',
      index.url,
      'onlysdist'
    )
    expect(download.code, download.out).toBe(0)
    expect(await readdir(downloaded)).toEqual(['onlysdist-0.5.0.tar.gz'])
  })

  it('builds the native sdist into a platform wheel holding a shared object', async () => {
    const out = join(work, 'nativesdist-wheel')
    const built = await pip(
      'wheel',
      '--no-deps',
      '--wheel-dir',
      out,
      '--index-url',
      index.url,
      'nativesdist'
    )
    expect(built.code, built.out).toBe(0)
    const [wheel] = await readdir(out)
    expect(wheel).toMatch(/^nativesdist-0\.1\.0-cp3\d+-cp3\d+-linux_(x86_64|aarch64)\.whl$/)

    const site = join(work, 'nativesdist-site')
    const installed = await pip('install', '--no-deps', '--target', site, join(out, wheel))
    expect(installed.code, installed.out).toBe(0)
    const [so] = await findFiles(join(site, 'nativesdist'), '.so')
    expect(so).toMatch(/_ext\.cpython-3\d+-.*linux-gnu\.so$/)
    expect((await readElf(so)).glibc).toContain('GLIBC_2.17')
  })
})

describe('isolatedPipEnv', () => {
  it("hides the machine's pip configuration and keeps everything else", () => {
    const env = isolatedPipEnv({
      PATH: '/usr/bin',
      PIP_FIND_LINKS: '/opt/wheels',
      PIP_INDEX_URL: 'file:///opt/pypi/simple',
      PIP_EXTRA_INDEX_URL: 'x',
      PIP_CONSTRAINT: '/etc/xdg/pip/constraints.txt',
      pip_no_index: '1'
    })
    expect(env).toEqual({
      PATH: '/usr/bin',
      PIP_CONFIG_FILE: '/dev/null',
      PIP_DISABLE_PIP_VERSION_CHECK: '1',
      PIP_NO_INPUT: '1'
    })
  })

  it('leaves pip with no configuration at all on this machine', async () => {
    const listed = await run('python3', ['-m', 'pip', 'config', 'list'])
    expect(listed.out).not.toMatch(/find-links|extra-index-url|constraint/)
  })
})
