// Your own code in the layer, through the bundled action (dist/index.js) on Node 24 with real
// pip: projects of the workspace built into wheels, and files added with the `files` input.
//
// Build backends: pip's build isolation installs a project's backend from the index, and the
// test index must not reach PyPI, nor can it serve setuptools or hatchling (nothing in this
// repository can obtain their wheels without PyPI). So the tests write two small PEP 517
// backends of their own as wheels on the test index (`plainbuild`: packages at the project
// root; `srcbuild`: packages under src/), which exercises the same path: pip reads
// [build-system], fetches the backend from the index, and calls its build_wheel.
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { failure, runAction, type ActionRun } from '../support/action.js'
import { catalog, hashOf } from '../support/catalog.js'
import { makeSharedObject } from '../support/elf.js'
import { startIndex, type PackageIndex } from '../support/index-server.js'
import { buildWheel, type Distribution } from '../support/wheels.js'

let index: PackageIndex

/** A PEP 517 backend: [project] name, version and dependencies; `[tool.<backend>] native` tags the wheel for this machine. */
function backendWheel(name: string, root: string): Distribution {
  const code = String.raw`"""PEP 517 backend of the local-package tests: stdlib only."""
import base64, hashlib, os, re, sys, sysconfig, tomllib, zipfile

ROOT = '${root}'
DATE = (2020, 1, 1, 0, 0, 0)


def _project():
    with open('pyproject.toml', 'rb') as f:
        doc = tomllib.load(f)
    return doc['project'], doc.get('tool', {}).get('${name}', {})


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    project, tool = _project()
    name, version = project['name'], project['version']
    dist = re.sub(r'[-_.]+', '_', name).lower()
    if tool.get('native'):
        interpreter = 'cp%d%d' % sys.version_info[:2]
        tag = '%s-%s-%s' % (interpreter, interpreter, sysconfig.get_platform().replace('-', '_').replace('.', '_'))
    else:
        tag = 'py3-none-any'
    base = os.path.join('.', ROOT)
    entries = []
    for package in tool.get('packages', [dist]):
        for folder, dirs, files in os.walk(os.path.join(base, package)):
            dirs[:] = sorted(d for d in dirs if d != '__pycache__')
            for file in sorted(files):
                full = os.path.join(folder, file)
                with open(full, 'rb') as f:
                    entries.append((os.path.relpath(full, base).replace(os.sep, '/'), f.read()))
    info = '%s-%s.dist-info' % (dist, version)
    metadata = 'Metadata-Version: 2.1\nName: %s\nVersion: %s\n' % (name, version)
    metadata += ''.join('Requires-Dist: %s\n' % r for r in project.get('dependencies', []))
    entries.append((info + '/METADATA', metadata.encode()))
    entries.append((info + '/WHEEL', ('Wheel-Version: 1.0\nGenerator: ${name}\nRoot-Is-Purelib: true\nTag: %s\n\n' % tag).encode()))
    record = ''
    for path, data in entries:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
        record += '%s,sha256=%s,%d\n' % (path, digest, len(data))
    entries.append((info + '/RECORD', (record + info + '/RECORD,,\n').encode()))
    filename = '%s-%s-%s.whl' % (dist, version, tag)
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), 'w') as archive:
        for path, data in entries:
            archive.writestr(zipfile.ZipInfo(path, DATE), data)
    return filename
`
  return buildWheel({ name, version: '1.0.0', files: { [`${name}.py`]: code } })
}

beforeAll(async () => {
  index = await startIndex([
    ...catalog(),
    backendWheel('plainbuild', ''),
    backendWheel('srcbuild', 'src')
  ])
})
afterAll(async () => {
  await index?.close()
})

/** A workspace with these files (executable when the content starts with #!). */
async function workspace(files: Record<string, string | Buffer>): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'workspace-'))
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true })
    writeFileSync(path.join(root, file), content)
    if (String(content).startsWith('#!')) chmodSync(path.join(root, file), 0o755)
  }
  return root
}

function run(root: string, inputs: Record<string, string> = {}): Promise<ActionRun> {
  return runAction(
    { publish: 'false', 'index-url': index.url, runtime: 'python3.12', ...inputs },
    { cwd: root }
  )
}

/** A project built by one of the test backends. */
function localProject(
  dir: string,
  options: { name: string; version: string; backend?: string; deps?: string[]; native?: boolean }
): Record<string, string> {
  const backend = options.backend ?? 'plainbuild'
  const module = options.name.replace(/-/g, '_')
  const packageRoot = backend === 'srcbuild' ? `${dir}/src` : dir
  return {
    [`${dir}/pyproject.toml`]: [
      '[build-system]',
      `requires = ["${backend}"]`,
      `build-backend = "${backend}"`,
      '',
      '[project]',
      `name = "${options.name}"`,
      `version = "${options.version}"`,
      `dependencies = [${(options.deps ?? []).map(d => `"${d}"`).join(', ')}]`,
      ...(options.native ? ['', `[tool.${backend}]`, 'native = true'] : []),
      ''
    ].join('\n'),
    [`${packageRoot}/${module}/__init__.py`]: `NAME = '${options.name}'\n`
  }
}

/** name → mode of each zip entry, read with Python's zipfile. */
function zipEntries(zipPath: string): Record<string, number> {
  const script =
    'import json, sys, zipfile\n' +
    'z = zipfile.ZipFile(sys.argv[1])\n' +
    'print(json.dumps({i.filename: i.external_attr >> 16 for i in z.infolist()}))'
  return JSON.parse(execFileSync('python3', ['-c', script, zipPath], { encoding: 'utf8' }))
}

function packagesOf(run: ActionRun): string[] {
  const packages = JSON.parse(run.outputs.packages) as Array<{ name: string; version: string }>
  return packages.map(p => `${p.name} ${p.version}`).sort()
}

describe('projects of the workspace', () => {
  it('builds pure local projects with the backends they name, each with its own dependencies', async () => {
    const root = await workspace({
      'requirements.txt': './libs/common\nlibs/helpers\n',
      ...localProject('libs/common', {
        name: 'common',
        version: '1.2.0',
        deps: ['tinyjson==1.0.0']
      }),
      ...localProject('libs/helpers', { name: 'helpers', version: '0.3.0', backend: 'srcbuild' })
    })
    const result = await run(root)
    expect(result.exitCode, failure(result)).toBe(0)
    expect(packagesOf(result)).toEqual(['common 1.2.0', 'helpers 0.3.0', 'tinyjson 1.0.0'])
    const entries = Object.keys(zipEntries(result.outputs['zip-path']))
    expect(entries).toContain('python/common/__init__.py')
    expect(entries).toContain('python/helpers/__init__.py')
    expect(result.summary).toMatch(/\| common \| 1\.2\.0 \|[^\n]*requested, local/)
    expect(result.summary).toMatch(/\| tinyjson \| 1\.0\.0 \|[^\n]*dependency \|/)
  })

  it('builds an editable project as a normal wheel and says so', async () => {
    const root = await workspace({
      'requirements.txt': '-e ./libs/common\n',
      ...localProject('libs/common', { name: 'common', version: '1.2.0' })
    })
    const result = await run(root)
    expect(result.exitCode, failure(result)).toBe(0)
    expect(packagesOf(result)).toEqual(['common 1.2.0'])
    expect(result.stdout).toMatch(
      /::notice::-e \.\/libs\/common: built common 1\.2\.0 as a normal wheel/
    )
    const entries = Object.keys(zipEntries(result.outputs['zip-path']))
    expect(entries).toContain('python/common/__init__.py')
    // no link back to the runner's checkout, nor the runner's scratch path of the wheel
    expect(entries.some(name => name.endsWith('.pth'))).toBe(false)
    expect(entries.some(name => name.endsWith('/direct_url.json'))).toBe(false)
    // so another run, in another scratch folder, gives the same zip (no new layer version)
    const again = await run(root)
    expect(again.exitCode, failure(again)).toBe(0)
    expect(again.outputs['code-sha256']).toBe(result.outputs['code-sha256'])
  })

  it('refuses a local project with native code, naming it at its line', async () => {
    const root = await workspace({
      'requirements.txt': 'tinyjson\n./libs/fast\n',
      ...localProject('libs/fast', { name: 'fast', version: '2.0.0', native: true })
    })
    const result = await run(root)
    expect(result.exitCode).not.toBe(0)
    expect(failure(result)).toMatch(
      /requirements\.txt line 2: \.\/libs\/fast: fast 2\.0\.0 has native code .*which cannot be built for Lambda on this runner/
    )
    expect(result.outputs['zip-path']).toBeUndefined()
  })

  it('names a build backend that no index has, in one line', async () => {
    const root = await workspace({
      'requirements.txt': './libs/common\n',
      ...localProject('libs/common', { name: 'common', version: '1.2.0', backend: 'nosuchbackend' })
    })
    const result = await run(root)
    expect(result.exitCode).not.toBe(0)
    expect(failure(result)).toMatch(
      /requirements\.txt line 1: \.\/libs\/common: its build backend needs nosuchbackend, which no index has/
    )
  })

  it('refuses a path outside the workspace before pip runs', async () => {
    const outside = await workspace(localProject('common', { name: 'common', version: '1.2.0' }))
    const root = await workspace({ 'requirements.txt': `${path.join(outside, 'common')}\n` })
    const result = await run(root)
    expect(result.exitCode).not.toBe(0)
    expect(failure(result)).toMatch(
      /requirements\.txt line 1: .* is a local project that reaches .*, outside the workspace/
    )
    expect(result.stdout).not.toContain('pip wheel')
  })

  it('builds a uv workspace member from uv.lock, the lock pinning its dependencies', async () => {
    const tinyjson = 'tinyjson-1.0.0-py3-none-any.whl'
    const root = await workspace({
      'uv.lock': [
        'version = 1',
        'requires-python = ">=3.12"',
        '',
        '[[package]]',
        'name = "app"',
        'version = "0.1.0"',
        'source = { virtual = "." }',
        'dependencies = [{ name = "common" }]',
        '',
        '[[package]]',
        'name = "common"',
        'version = "1.2.0"',
        'source = { editable = "packages/common" }',
        'dependencies = [{ name = "tinyjson" }]',
        '',
        '[[package]]',
        'name = "tinyjson"',
        'version = "1.0.0"',
        `source = { registry = "${index.url}" }`,
        `wheels = [{ url = "${index.url}../files/${tinyjson}", hash = "sha256:${hashOf(tinyjson)}" }]`,
        ''
      ].join('\n'),
      ...localProject('packages/common', { name: 'common', version: '1.2.0', deps: ['tinyjson'] })
    })
    const result = await run(root, { requirements: 'uv.lock' })
    expect(result.exitCode, failure(result)).toBe(0)
    expect(packagesOf(result)).toEqual(['common 1.2.0', 'tinyjson 1.0.0'])
    expect(result.summary).toMatch(/\| common \| 1\.2\.0 \|[^\n]*requested, local/)
  })

  it('builds a path dependency of poetry.lock', async () => {
    const tinyjson = 'tinyjson-1.1.0-py3-none-any.whl'
    const root = await workspace({
      'poetry.lock': [
        '[[package]]',
        'name = "common"',
        'version = "1.2.0"',
        'description = ""',
        'optional = false',
        'python-versions = "*"',
        'groups = ["main"]',
        'files = []',
        'develop = false',
        '',
        '[package.dependencies]',
        'tinyjson = "*"',
        '',
        '[package.source]',
        'type = "directory"',
        'url = "libs/common"',
        '',
        '[[package]]',
        'name = "tinyjson"',
        'version = "1.1.0"',
        'description = ""',
        'optional = false',
        'python-versions = "*"',
        'groups = ["main"]',
        `files = [{file = "${tinyjson}", hash = "sha256:${hashOf(tinyjson)}"}]`,
        '',
        '[metadata]',
        'lock-version = "2.1"',
        'python-versions = ">=3.12"',
        'content-hash = "0"',
        ''
      ].join('\n'),
      ...localProject('libs/common', { name: 'common', version: '1.2.0', deps: ['tinyjson'] })
    })
    const result = await run(root, { requirements: 'poetry.lock' })
    expect(result.exitCode, failure(result)).toBe(0)
    expect(packagesOf(result)).toEqual(['common 1.2.0', 'tinyjson 1.1.0'])
  })
})

describe('files of the workspace (the files input)', () => {
  const FILES = [
    'src/shared_utils -> python/shared_utils',
    'vendor/libpq.so.5 -> lib/',
    'tools/report.sh -> bin/report'
  ].join('\n')

  it('adds modules under python/, a library under lib/ and an executable under bin/, reproducibly', async () => {
    const root = await workspace({
      'requirements.txt': 'tinyjson==1.0.0\n',
      'src/shared_utils/__init__.py': 'from .money import cents\n',
      'src/shared_utils/money.py': 'def cents(x):\n    return round(x * 100)\n',
      'vendor/libpq.so.5': makeSharedObject({ machine: 'x86_64', glibc: ['GLIBC_2.17'] }),
      'tools/report.sh': '#!/bin/sh\necho report\n'
    })
    const first = await run(root, { files: FILES })
    expect(first.exitCode, failure(first)).toBe(0)
    const entries = zipEntries(first.outputs['zip-path'])
    expect(entries['python/shared_utils/__init__.py']).toBe(0o100644)
    expect(entries['python/shared_utils/money.py']).toBe(0o100644)
    expect(entries['lib/libpq.so.5']).toBe(0o100644)
    expect(entries['bin/report']).toBe(0o100755)
    expect(entries).toHaveProperty(['python/tinyjson/__init__.py'])
    expect(first.summary).toContain('`lib/libpq.so.5`')

    // other mtimes and a private mode on the runner: the same zip, byte for byte
    utimesSync(path.join(root, 'src/shared_utils/money.py'), 1_000_000, 1_000_000)
    chmodSync(path.join(root, 'src/shared_utils/__init__.py'), 0o600)
    const second = await run(root, { files: FILES })
    expect(second.exitCode, failure(second)).toBe(0)
    expect(second.outputs['code-sha256']).toBe(first.outputs['code-sha256'])
  })

  it('refuses a library built for another machine, or for a newer glibc, naming each', async () => {
    const root = await workspace({
      'requirements.txt': 'tinyjson==1.0.0\n',
      'vendor/libvendor.so': makeSharedObject({ machine: 'aarch64' }),
      'vendor/libnew.so.1': makeSharedObject({ machine: 'x86_64', glibc: ['GLIBC_2.38'] })
    })
    const result = await run(root, { files: 'vendor/ -> lib/' })
    expect(result.exitCode).not.toBe(0)
    expect(failure(result)).toMatch(
      /files: lib\/vendor\/libvendor\.so is built for aarch64; the layer targets x86_64/
    )
    expect(failure(result)).toMatch(
      /files: lib\/vendor\/libnew\.so\.1 needs GLIBC_2\.38; python3\.12 \(Amazon Linux 2023\) has 2\.34/
    )
  })

  it('refuses, before pip runs, what would reach outside the workspace or land where Lambda does not look', async () => {
    const outside = await workspace({ 'secret.txt': 'not yours\n' })
    const root = await workspace({ 'requirements.txt': 'tinyjson==1.0.0\n', 'src/ok.py': '\n' })
    symlinkSync(outside, path.join(root, 'src', 'escape'))
    const cases: Array<[string, RegExp]> = [
      [
        '../outside -> python/x',
        /^files: "\.\.\/outside -> python\/x": the source must be a path inside the workspace/
      ],
      [
        'src/ok.py -> etc/ok.py',
        /^files: "src\/ok\.py -> etc\/ok\.py": the destination must be under python\/, lib\/ or bin\//
      ],
      [
        'src -> python/src',
        /^files: "src -> python\/src": .*escape reaches .*, outside the workspace/
      ]
    ]
    for (const [files, message] of cases) {
      const result = await run(root, { files })
      expect(result.exitCode).not.toBe(0)
      expect(failure(result)).toMatch(message)
      expect(result.stdout).not.toContain('pip install')
    }
  })
})
