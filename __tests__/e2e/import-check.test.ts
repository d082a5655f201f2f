// The import check through the bundled action (dist/index.js), with real pip against a loopback
// index of wheels this file builds: a compiled binding that needs a module the layer lacks, a
// psycopg[binary]-like pair, and a pandas-like package whose numpy `exclude` left out.
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { failure, runAction, type ActionRun } from '../support/action.js'
import { startIndex, type PackageIndex } from '../support/index-server.js'
import { isolatedPipEnv } from '../support/pip-env.js'
import { buildWheel, type Distribution } from '../support/wheels.js'

/** The runner's own CPython, which the check runs for the runtime of its version. */
const RUNNER_PYTHON: { version: string; machine: string; include: string; suffix: string } =
  JSON.parse(
    execFileSync(
      'python3',
      [
        '-c',
        'import json, platform, sys, sysconfig\n' +
          'print(json.dumps({"version": "%d.%d" % sys.version_info[:2], "machine": platform.machine(), ' +
          '"include": sysconfig.get_paths()["include"], "suffix": sysconfig.get_config_var("EXT_SUFFIX")}))'
      ],
      { env: isolatedPipEnv(), encoding: 'utf8' }
    )
  )
const RUNTIME = `python${RUNNER_PYTHON.version}`
const ARCHITECTURE = RUNNER_PYTHON.machine === 'aarch64' ? 'arm64' : 'x86_64'
const CP = `cp${RUNNER_PYTHON.version.replace('.', '')}`
const TAG = `${CP}-${CP}-manylinux_2_17_${RUNNER_PYTHON.machine}.manylinux2014_${RUNNER_PYTHON.machine}`

/** A real extension module `name` whose initialisation imports `needs`, built with gcc. */
async function compiledModule(name: string, needs: string): Promise<Buffer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'e2e-ext-'))
  const source = `
#include <Python.h>
static struct PyModuleDef definition = {PyModuleDef_HEAD_INIT, "${name}", NULL, -1, NULL};
PyMODINIT_FUNC PyInit_${name}(void) {
  PyObject *needed = PyImport_ImportModule("${needs}");
  if (needed == NULL) return NULL;
  Py_DECREF(needed);
  return PyModule_Create(&definition);
}
`
  await writeFile(path.join(dir, 'ext.c'), source)
  const out = path.join(dir, `${name}${RUNNER_PYTHON.suffix}`)
  execFileSync('gcc', [
    '-shared',
    '-fPIC',
    '-O1',
    `-I${RUNNER_PYTHON.include}`,
    '-o',
    out,
    path.join(dir, 'ext.c')
  ])
  return readFile(out)
}

async function world(): Promise<Distribution[]> {
  const rust = await compiledModule('_rust', '_cffi_backend')
  return [
    // cryptography's shape: its package imports fine, its compiled binding needs cffi's backend
    buildWheel({
      name: 'cryptolike',
      version: '1.0.0',
      tag: TAG,
      requires: ['cffilike>=1'],
      files: {
        'cryptolike/__init__.py': '',
        'cryptolike/hazmat/__init__.py': '',
        'cryptolike/hazmat/bindings/__init__.py': '',
        [`cryptolike/hazmat/bindings/_rust${RUNNER_PYTHON.suffix}`]: rust,
        'cryptolike/fernet.py': 'from cryptolike.hazmat.bindings import _rust\n'
      }
    }),
    buildWheel({ name: 'cffilike', version: '1.0.0', files: { '_cffi_backend.py': '' } }),
    // psycopg 3: psycopg_binary refuses to be imported before psycopg
    buildWheel({
      name: 'psylike',
      version: '1.0.0',
      extras: { binary: ['psylike-binary==1.0.0'] },
      files: {
        'psylike/__init__.py': 'try:\n    import psylike_binary\nexcept ImportError:\n    pass\n'
      }
    }),
    buildWheel({
      name: 'psylike-binary',
      version: '1.0.0',
      files: {
        'psylike_binary/__init__.py':
          "import sys\nif 'psylike' not in sys.modules:\n    raise ImportError('the psylike package should be imported before psylike_binary')\n"
      }
    }),
    // pandas: a missing numpy becomes a bare ImportError of its own
    buildWheel({
      name: 'pandalike',
      version: '1.0.0',
      requires: ['numpylike'],
      files: {
        'pandalike/__init__.py':
          "missing = []\ntry:\n    import numpylike\nexcept ImportError:\n    missing.append('numpylike')\nif missing:\n    raise ImportError('Unable to import required dependencies: ' + ', '.join(missing))\n"
      }
    }),
    buildWheel({ name: 'numpylike', version: '1.0.0', files: { 'numpylike/__init__.py': '' } })
  ]
}

let index: PackageIndex

beforeAll(async () => {
  index = await startIndex(await world())
})
afterAll(async () => {
  await index?.close()
})

/** Runs the bundle for the runner's own Python in a fresh project folder holding `files`. */
async function build(
  files: Record<string, string>,
  inputs: Record<string, string> = {}
): Promise<ActionRun> {
  const project = await mkdtemp(path.join(os.tmpdir(), 'project-'))
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(project, name)), { recursive: true })
    await writeFile(path.join(project, name), text)
  }
  return runAction(
    {
      publish: 'false',
      'index-url': index.url,
      runtime: RUNTIME,
      architecture: ARCHITECTURE,
      'import-check': 'true',
      ...inputs
    },
    { cwd: project }
  )
}

/** What the job summary says about the import check. */
function importCheckOf(run: ActionRun): string {
  return /^\*\*Import check:\*\* (.*)$/m.exec(run.summary)?.[1] ?? ''
}

/** `::notice ...::message` lines. */
function notices(run: ActionRun): string[] {
  return run.stdout
    .split('\n')
    .flatMap(line => (line.startsWith('::notice') ? [line.slice(line.indexOf('::', 2) + 2)] : []))
}

describe(`the import check, deeper (CPython ${RUNNER_PYTHON.version} on ${RUNNER_PYTHON.machine})`, () => {
  it('fails a --no-deps layer whose compiled binding needs a module it lacks, naming module and distribution', async () => {
    const run = await build({ 'requirements.txt': 'cryptolike\n' }, { 'pip-args': '--no-deps' })
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toBe(
      "import check failed:\n  cryptolike (import cryptolike.hazmat.bindings._rust): ModuleNotFoundError: No module named '_cffi_backend'"
    )
    expect(importCheckOf(run)).toBe('1 of 2 modules failed to import')
  })

  it('passes the same package with its dependencies, importing the binding by its dotted name', async () => {
    const run = await build({ 'requirements.txt': 'cryptolike\n' })
    expect(run.exitCode, run.stdout).toBe(0)
    expect(importCheckOf(run)).toMatch(/^passed: 3 modules imported with /)
  })

  it('passes psylike[binary], whose binary part refuses to be imported first, and says how', async () => {
    const run = await build({ 'requirements.txt': 'psylike[binary]\n' })
    expect(run.exitCode, run.stdout).toBe(0)
    expect(importCheckOf(run)).toMatch(
      /^passed: 2 modules imported with .*; imported through what imports them: psylike-binary through psylike$/
    )
  })

  it('skips by distribution name, normalised, and names module and distribution', async () => {
    const run = await build(
      { 'requirements.txt': 'cryptolike\n' },
      { 'pip-args': '--no-deps', 'import-check-skip': 'CryptoLike' }
    )
    expect(run.exitCode, run.stdout).toBe(0)
    expect(importCheckOf(run)).toMatch(
      /; not imported \(import-check-skip\): cryptolike, cryptolike \(import cryptolike\.hazmat\.bindings\._rust\)$/
    )
  })

  it('says a failure comes from a package exclude left out, as a notice, not a failure', async () => {
    const run = await build({ 'requirements.txt': 'pandalike\n' }, { exclude: 'numpylike' })
    expect(run.exitCode, run.stdout).toBe(0)
    expect(notices(run)).toContain(
      'import check: pandalike: import failed: numpylike is not in the layer (exclude left it out); ImportError: Unable to import required dependencies: numpylike; not counted as a failure: add the layer that provides it to import-check-layers to check pandalike'
    )
    expect(importCheckOf(run)).toMatch(
      /; not checked, needs a distribution exclude left out: pandalike$/
    )
  })

  it('imports with the other layer given in import-check-layers, and fails when it lacks the package', async () => {
    const numpyLayer = { 'layers/numpy/python/numpylike/__init__.py': '' }
    const passed = await build(
      { 'requirements.txt': 'pandalike\n', ...numpyLayer },
      { exclude: 'numpylike', 'import-check-layers': 'layers/numpy' }
    )
    expect(passed.exitCode, passed.stdout).toBe(0)
    expect(importCheckOf(passed)).toMatch(/^passed: 1 module imported with [^;]*$/)

    const otherLayer = { 'layers/other/python/unrelated.py': '' }
    const failed = await build(
      { 'requirements.txt': 'pandalike\n', ...otherLayer },
      { exclude: 'numpylike', 'import-check-layers': 'layers/other' }
    )
    expect(failed.exitCode).toBe(1)
    expect(failure(failed)).toBe(
      'import check failed:\n  pandalike: import failed: numpylike is not in the layer (exclude left it out) nor in import-check-layers; ImportError: Unable to import required dependencies: numpylike'
    )
  })
})
