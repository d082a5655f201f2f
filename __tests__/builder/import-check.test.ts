import { execFileSync } from 'node:child_process'
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { findRuntime, type Architecture } from '../../src/facts.js'
import {
  checkImports,
  describeImportFailure,
  extensionModules,
  importAnnotation,
  otherLayerSites,
  topLevelModules
} from '../../src/builder/import-check.js'
import { findInterpreter, type Interpreter } from '../../src/builder/interpreter.js'
import type { Target } from '../../src/facts.js'
import type { LayerPackage } from '../../src/builder/site.js'

const dirs: string[] = []
afterAll(() => dirs.forEach(d => rmSync(d, { recursive: true, force: true })))

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}

function target(runtime: string, architecture: Architecture): Target {
  return { runtime: findRuntime(runtime)!, architecture }
}

type Files = Record<string, string | Buffer>

/**
 * A site directory holding each package's files plus its `.dist-info` (with `top_level.txt`
 * when given), and the LayerPackage records pip's RECORD would yield.
 */
function layer(
  packages: Record<string, { files: Files; topLevel?: string[]; requires?: string[] }>
) {
  const siteDir = tempDir('importcheck-site-')
  const records: LayerPackage[] = []
  for (const [name, { files, topLevel, requires = [] }] of Object.entries(packages)) {
    const distInfo = `${name.replace(/-/g, '_')}-1.0.dist-info`
    const metadata = [`Name: ${name}`, 'Version: 1.0', ...requires.map(r => `Requires-Dist: ${r}`)]
    const all: Files = { ...files, [`${distInfo}/METADATA`]: metadata.join('\n') + '\n' }
    if (topLevel) all[`${distInfo}/top_level.txt`] = topLevel.join('\n') + '\n'
    for (const [file, content] of Object.entries(all)) {
      if (file.startsWith('../')) continue // recorded outside the site directory
      mkdirSync(dirname(join(siteDir, file)), { recursive: true })
      writeFileSync(join(siteDir, file), content)
    }
    records.push({ name, version: '1.0', requested: true, files: Object.keys(all), bytes: 0 })
  }
  return { siteDir, packages: records }
}

const EXTENSION_SOURCE = `
#define PY_SSIZE_T_CLEAN
#include <Python.h>
static PyObject *answer(PyObject *self, PyObject *args) { return PyLong_FromLong(42); }
static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef definition = {PyModuleDef_HEAD_INIT, "_speedups", NULL, -1, methods};
PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&definition); }
`

/**
 * A real extension module `name` whose initialisation imports `needs` first, as a compiled
 * module that depends on another one (cryptography's `_rust` on `_cffi_backend`) does.
 */
function extensionNeeding(name: string, needs: string): string {
  return `
#include <Python.h>
static struct PyModuleDef definition = {PyModuleDef_HEAD_INIT, "${name}", NULL, -1, NULL};
PyMODINIT_FUNC PyInit_${name}(void) {
  PyObject *needed = PyImport_ImportModule("${needs}");
  if (needed == NULL) return NULL;
  Py_DECREF(needed);
  return PyModule_Create(&definition);
}
`
}

/** A real CPython extension module `_speedups`, built against `python`'s own headers. */
function compileExtension(
  python: string,
  name = '_speedups',
  source = EXTENSION_SOURCE
): { binary: Buffer; suffix: string } {
  const [include, suffix] = execFileSync(python, [
    '-c',
    "import sysconfig; print(sysconfig.get_paths()['include']); print(sysconfig.get_config_var('EXT_SUFFIX'))"
  ])
    .toString()
    .trim()
    .split('\n')
  const dir = tempDir('importcheck-ext-')
  writeFileSync(join(dir, 'speedups.c'), source)
  const out = join(dir, `${name}${suffix}`)
  execFileSync('gcc', [
    '-shared',
    '-fPIC',
    '-O0',
    `-I${include}`,
    '-o',
    out,
    join(dir, 'speedups.c')
  ])
  return { binary: readFileSync(out), suffix }
}

/** Every `__pycache__` folder below `dir`. */
function pycacheDirs(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter(p =>
    p.split('/').includes('__pycache__')
  )
}

describe('topLevelModules', () => {
  it('derives modules from installed files: packages, namespaces, single files, extensions', async () => {
    const site = layer({
      regular: { files: { 'regular/__init__.py': '', 'regular/sub.py': '' } },
      'ns-part': { files: { 'nspkg/part/__init__.py': '' } },
      single: { files: { 'single.py': '' } },
      native: {
        files: {
          'fast.cpython-311-x86_64-linux-gnu.so': '',
          'stable.abi3.so': '',
          'plain.so': '',
          'native.libs/libz-1a2b.so.1': '',
          'native-1.0.data/scripts/run': '',
          'bin/native-tool': '',
          '__pycache__/x.cpython-311.pyc': '',
          'my-scripts/helper.py': '',
          'datafiles/table.csv': '',
          'stubs.pyi': '',
          'native.pth': '',
          '../../bin/native': ''
        }
      }
    })
    expect(await topLevelModules(site.siteDir, site.packages)).toEqual([
      { module: 'regular', package: 'regular' },
      { module: 'nspkg', package: 'ns-part' },
      { module: 'single', package: 'single' },
      { module: 'fast', package: 'native' },
      { module: 'plain', package: 'native' },
      { module: 'stable', package: 'native' }
    ])
  })

  it('prefers top_level.txt, dropping names the package does not ship', async () => {
    const site = layer({
      pyyaml: {
        files: { 'yaml/__init__.py': '', '_yaml/__init__.py': '', 'tests/test_yaml.py': '' },
        topLevel: ['_yaml', 'yaml', 'ghost']
      }
    })
    expect(await topLevelModules(site.siteDir, site.packages)).toEqual([
      { module: 'yaml', package: 'pyyaml' }
    ])
  })

  it('keeps a private module only when it is all the package has', async () => {
    const site = layer({
      cffi: {
        files: { 'cffi/__init__.py': '', '_cffi_backend.cpython-311-x86_64-linux-gnu.so': '' }
      },
      'only-private': { files: { '_cffi_backend_only.abi3.so': '' } }
    })
    expect(await topLevelModules(site.siteDir, site.packages)).toEqual([
      { module: 'cffi', package: 'cffi' },
      { module: '_cffi_backend_only', package: 'only-private' }
    ])
  })

  it('falls back to the files when top_level.txt is recorded but missing on disk', async () => {
    const site = layer({ six: { files: { 'six.py': '' }, topLevel: ['ghost'] } })
    rmSync(join(site.siteDir, 'six-1.0.dist-info', 'top_level.txt'))
    expect(await topLevelModules(site.siteDir, site.packages)).toEqual([
      { module: 'six', package: 'six' }
    ])
  })

  it('lists a namespace shared by two packages once', async () => {
    const site = layer({
      protobuf: { files: { 'google/protobuf/__init__.py': '' }, topLevel: ['google'] },
      'googleapis-common-protos': { files: { 'google/api/__init__.py': '' } }
    })
    expect(await topLevelModules(site.siteDir, site.packages)).toEqual([
      { module: 'google', package: 'protobuf' }
    ])
  })
})

describe('findInterpreter', () => {
  let python311: Interpreter

  beforeAll(async () => {
    const found = await findInterpreter(target('python3.11', 'x86_64'), '')
    // This runner (and CI) must have CPython 3.11 on x86_64 for these tests to mean anything.
    expect(found.reason).toBeUndefined()
    python311 = found.interpreter!
  })

  /** A PATH of one folder holding the given commands, each a symlink or a script. */
  function pathWith(commands: Record<string, string | { script: string }>): NodeJS.ProcessEnv {
    const bin = tempDir('importcheck-bin-')
    for (const [name, what] of Object.entries(commands)) {
      if (typeof what === 'string') symlinkSync(what, join(bin, name))
      else {
        writeFileSync(join(bin, name), what.script)
        chmodSync(join(bin, name), 0o755)
      }
    }
    return { PATH: bin }
  }

  // pyenv's shim for a version that is not selected exits 127 with a message.
  const brokenShim = {
    script: '#!/bin/sh\necho "pyenv: python3.12: command not found" >&2\nexit 127\n'
  }

  it('finds the runner CPython 3.11 for a python3.11 x86_64 layer', async () => {
    expect(python311).toMatchObject({ version: '3.11', machine: 'x86_64' })
    const version = execFileSync(python311.path, ['-c', 'import sys; print(sys.version_info[:2])'])
    expect(version.toString().trim()).toBe('(3, 11)')
  })

  it('says why there is none for python3.12, passing over a shim that does not run', async () => {
    const env = pathWith({ 'python3.12': brokenShim, python3: python311.path })
    expect(await findInterpreter(target('python3.12', 'x86_64'), '', env)).toEqual({
      reason: 'no CPython 3.12 for x86_64 on this runner (found python3 3.11 x86_64)'
    })
  })

  it('says why there is none for arm64, naming each interpreter once', async () => {
    const env = pathWith({ 'python3.11': python311.path, python3: python311.path })
    expect(await findInterpreter(target('python3.11', 'arm64'), '', env)).toEqual({
      reason: 'no CPython 3.11 for aarch64 on this runner (found python3.11 3.11 x86_64)'
    })
  })

  it('tries the python input first', async () => {
    const env = pathWith({ 'python3.11': python311.path })
    const input = join(tempDir('importcheck-input-'), 'my-python')
    symlinkSync(python311.path, input)
    const found = await findInterpreter(target('python3.11', 'x86_64'), input, env)
    expect(found.interpreter?.path).toBe(input)
  })

  it('says when the python input does not run and nothing else fits', async () => {
    const env = pathWith({})
    expect(await findInterpreter(target('python3.11', 'arm64'), '/nowhere/python', env)).toEqual({
      reason:
        'no CPython 3.11 for aarch64 on this runner (none of /nowhere/python, python3.11, python3, python runs; the python input "/nowhere/python" does not run)'
    })
  })
})

describe('checkImports', () => {
  let interpreter: Interpreter
  let extension: { binary: Buffer; suffix: string }

  beforeAll(async () => {
    const found = await findInterpreter(target('python3.11', 'x86_64'), '')
    expect(found.reason).toBeUndefined()
    interpreter = found.interpreter!
    extension = compileExtension(interpreter.path)
  })

  const savedEnv = { ...process.env }
  afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key]
    Object.assign(process.env, savedEnv)
  })

  it('passes a layer of pure packages and a real extension module, writing nothing into it', async () => {
    const site = layer({
      fastcore: {
        files: {
          'fastcore/__init__.py': 'from ._speedups import answer\nassert answer() == 42\n',
          [`fastcore/_speedups${extension.suffix}`]: extension.binary
        }
      },
      [`toplevel-ext`]: { files: { [`_speedups${extension.suffix}`]: extension.binary } },
      helpers: {
        files: {
          'helpers/__init__.py': 'from .util import double\n',
          'helpers/util.py': 'def double(x):\n    return 2 * x\n'
        }
      },
      app: {
        files: {
          'app.py': 'import helpers, fastcore\nassert helpers.double(fastcore.answer()) == 84\n'
        }
      }
    })
    const result = await checkImports({ interpreter, ...site, skip: [] })
    expect(result).toMatchObject({
      checked: ['fastcore', 'fastcore._speedups', '_speedups', 'helpers', 'app'],
      skipped: [],
      failures: []
    })
    expect(pycacheDirs(site.siteDir)).toEqual([])
  })

  it('reports a missing transitive module by the package that imports it', async () => {
    const site = layer({
      a: { files: { 'a/__init__.py': 'import b\n' } },
      ok: { files: { 'ok.py': '' } }
    })
    const result = await checkImports({ interpreter, ...site, skip: [] })
    expect(result.failures).toEqual([
      { package: 'a', module: 'a', error: "ModuleNotFoundError: No module named 'b'" }
    ])
    expect(result.failures.map(describeImportFailure)).toEqual([
      "a: ModuleNotFoundError: No module named 'b'"
    ])
  })

  it('reports an extension module built for another platform as the module Python cannot find', async () => {
    const site = layer({
      'pydantic-core': {
        files: {
          'pydantic_core/__init__.py': 'from ._pydantic_core import answer\n',
          'pydantic_core/_pydantic_core.cpython-311-darwin.so': extension.binary
        }
      }
    })
    const result = await checkImports({ interpreter, ...site, skip: [] })
    expect(result.failures.map(describeImportFailure)).toEqual([
      "pydantic-core: ModuleNotFoundError: No module named 'pydantic_core._pydantic_core'"
    ])
  })

  it('stops an import that hangs and still checks the others', async () => {
    const site = layer({
      hangs: { files: { 'hangs.py': 'import time\ntime.sleep(600)\n' } },
      fine: { files: { 'fine.py': 'VALUE = 1\n' } }
    })
    const result = await checkImports({ interpreter, ...site, skip: [], timeoutMs: 1500 })
    expect(result.checked).toEqual(['hangs', 'fine'])
    expect(result.failures).toEqual([
      { package: 'hangs', module: 'hangs', error: 'TimeoutError: import took longer than 1.5s' }
    ])
  })

  it('leaves out the modules named in skip', async () => {
    const site = layer({
      hangs: { files: { 'hangs.py': 'import time\ntime.sleep(600)\n' } },
      pyyaml: { files: { 'yaml/__init__.py': '' } }
    })
    const result = await checkImports({ interpreter, ...site, skip: ['hangs', 'not-in-layer'] })
    expect(result).toMatchObject({
      checked: ['yaml'],
      skipped: [{ module: 'hangs', package: 'hangs' }],
      failures: [],
      unknownSkips: ['not-in-layer']
    })
  })

  it("does not let the layer see the runner's site-packages, PYTHONPATH or working directory", async () => {
    // pip lives in the runner interpreter's site-packages: importable there, not in the layer.
    expect(() => execFileSync(interpreter.path, ['-c', 'import pip'])).not.toThrow()
    const elsewhere = tempDir('importcheck-elsewhere-')
    writeFileSync(join(elsewhere, 'hidden_dep.py'), '')
    process.env.PYTHONPATH = elsewhere
    const site = layer({
      'needs-pip': { files: { 'needs_pip.py': 'import pip\n' } },
      'needs-hidden': { files: { 'needs_hidden.py': 'import hidden_dep\n' } }
    })
    const cwd = process.cwd()
    try {
      process.chdir(elsewhere)
      const result = await checkImports({ interpreter, ...site, skip: [] })
      expect(result.failures.map(describeImportFailure)).toEqual([
        "needs-pip: ModuleNotFoundError: No module named 'pip'",
        "needs-hidden: ModuleNotFoundError: No module named 'hidden_dep'"
      ])
    } finally {
      process.chdir(cwd)
    }
  })

  it('adds extraPaths, such as a side install of the runtime SDK, after the layer', async () => {
    const sdk = tempDir('importcheck-sdk-')
    mkdirSync(join(sdk, 'boto3'))
    writeFileSync(join(sdk, 'boto3', '__init__.py'), "SOURCE = 'sdk'\n")
    const site = layer({
      'uses-boto3': { files: { 'uses_boto3.py': "import boto3\nassert boto3.SOURCE == 'sdk'\n" } }
    })
    const result = await checkImports({ interpreter, ...site, extraPaths: [sdk], skip: [] })
    expect(result.failures).toEqual([])
  })

  it('runs imports without AWS credentials, PYTHON* settings or the user home', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'AKIAEXAMPLE'
    process.env.AWS_PROFILE = 'prod'
    process.env.PYTHONSTARTUP = '/dev/null'
    const site = layer({
      envcheck: {
        files: {
          'envcheck.py': [
            'import os',
            "leaked = sorted(k for k in os.environ if k.startswith(('AWS_', 'PYTHON')) and k != 'AWS_EC2_METADATA_DISABLED')",
            "assert not leaked, 'leaked: ' + ' '.join(leaked)",
            "assert os.environ['AWS_EC2_METADATA_DISABLED'] == 'true'",
            "assert os.listdir(os.path.expanduser('~')) == [], 'home is not empty'"
          ].join('\n')
        }
      }
    })
    const result = await checkImports({ interpreter, ...site, skip: [] })
    expect(result.failures).toEqual([])
  })

  it('reports an import that crashes the interpreter instead of throwing', async () => {
    const site = layer({
      crashes: { files: { 'crashes.py': 'import ctypes\nctypes.string_at(0)\n' } }
    })
    const result = await checkImports({ interpreter, ...site, skip: [] })
    expect(result.failures).toHaveLength(1)
    expect(result.failures[0].error).toContain('SIGSEGV')
  })

  it('keeps the exception last line for errors raised at import time', async () => {
    const site = layer({
      needsenv: {
        files: {
          'needsenv/__init__.py':
            "import os\nraise RuntimeError('set   API_KEY\\n before import')\n"
        }
      },
      exits: { files: { 'exits.py': 'raise SystemExit(3)\n' } }
    })
    const result = await checkImports({ interpreter, ...site, skip: [] })
    expect(result.failures.map(f => f.error)).toEqual([
      'RuntimeError: set API_KEY before import',
      'SystemExit: 3'
    ])
  })
})

describe('checkImports: extension modules, dependents, skip and excluded distributions', () => {
  let interpreter: Interpreter
  let rust: { binary: Buffer; suffix: string }

  beforeAll(async () => {
    const found = await findInterpreter(target('python3.11', 'x86_64'), '')
    expect(found.reason).toBeUndefined()
    interpreter = found.interpreter!
    rust = compileExtension(interpreter.path, '_rust', extensionNeeding('_rust', '_cffi_backend'))
  })

  /** cryptography's shape: a package that imports fine, whose compiled binding needs cffi. */
  function cryptoLike(log?: string): Files {
    const record = log ? `open(${JSON.stringify(log)}, 'a').write('imported\\n')\n` : ''
    return {
      'cryptolike/__init__.py': record,
      'cryptolike/hazmat/__init__.py': '',
      'cryptolike/hazmat/bindings/__init__.py': '',
      [`cryptolike/hazmat/bindings/_rust${rust.suffix}`]: rust.binary,
      'cryptolike/fernet.py': 'from cryptolike.hazmat.bindings import _rust\n'
    }
  }

  it('fails a compiled module in a subpackage that needs a module not in the layer, naming module and distribution', async () => {
    const site = layer({ 'crypto-like': { files: cryptoLike() } })
    const result = await checkImports({ interpreter, ...site, skip: [] })
    expect(result.checked).toEqual(['cryptolike', 'cryptolike.hazmat.bindings._rust'])
    expect(result.failures.map(describeImportFailure)).toEqual([
      "crypto-like (import cryptolike.hazmat.bindings._rust): ModuleNotFoundError: No module named '_cffi_backend'"
    ])
  })

  it('passes the same compiled module once the module it needs is in the layer', async () => {
    const site = layer({
      'crypto-like': { files: cryptoLike() },
      cffi: { files: { '_cffi_backend.py': '' } }
    })
    const result = await checkImports({ interpreter, ...site, skip: [] })
    expect(result.failures).toEqual([])
    expect(result.checked).toContain('cryptolike.hazmat.bindings._rust')
  })

  it("imports a distribution's modules in one interpreter, not one per file", async () => {
    const log = join(tempDir('importcheck-log-'), 'imports.log')
    const site = layer({ 'crypto-like': { files: cryptoLike(log) } })
    await checkImports({ interpreter, ...site, skip: [] })
    // a second interpreter would have run the package's __init__ again for the extension
    expect(readFileSync(log, 'utf8')).toBe('imported\n')
  })

  it('ignores extension modules built for another Python and shared libraries in the package', async () => {
    expect(
      extensionModules(
        [
          'pkg/_a.cpython-311-x86_64-linux-gnu.so',
          'pkg/_b.cpython-312-x86_64-linux-gnu.so',
          'pkg/_c.cpython-311-aarch64-linux-gnu.so',
          'pkg/_d.abi3.so',
          'pkg/lib/libthing.so',
          'pkg.libs/libz-1a2b.so.1',
          'my-tools/_e.abi3.so'
        ],
        { version: '3.11', machine: 'x86_64' }
      )
    ).toEqual(['pkg._a', 'pkg._d'])
  })

  it('passes a module that refuses to be imported first when its dependent imports it (psycopg[binary])', async () => {
    const binary: Files = {
      'psycopg_binary/__init__.py': [
        'import sys',
        "if 'psycopg' not in sys.modules:",
        "    raise ImportError('the psycopg package should be imported before psycopg_binary')"
      ].join('\n')
    }
    const site = layer({
      psycopg: {
        files: { 'psycopg/__init__.py': 'import psycopg_binary\n' },
        requires: ['psycopg-binary==1.0; extra == "binary"']
      },
      'psycopg-binary': { files: binary }
    })
    const result = await checkImports({ interpreter, ...site, skip: [] })
    expect(result.failures).toEqual([])
    expect(result.throughDependents).toEqual([
      { module: 'psycopg_binary', package: 'psycopg-binary', dependent: 'psycopg' }
    ])

    // without a dependent in the layer, the same module fails
    const alone = layer({ 'psycopg-binary': { files: binary } })
    const failed = await checkImports({ interpreter, ...alone, skip: [] })
    expect(failed.failures.map(describeImportFailure)).toEqual([
      'psycopg-binary: ImportError: the psycopg package should be imported before psycopg_binary'
    ])
  })

  it('passes a private extension module that can only be imported through its importer (scipy.linalg._matfuncs_sqrtm_triu)', async () => {
    const triu = compileExtension(
      interpreter.path,
      '_triu',
      extensionNeeding('_triu', 'circ._guard')
    )
    const files: Files = {
      'circ/__init__.py': '',
      // stands for the circular import: fine only once _sqrtm, which imports _triu, is loading
      'circ/_guard.py': [
        'import sys',
        "if 'circ._sqrtm' not in sys.modules:",
        "    raise ImportError('partially initialized module circ._triu')"
      ].join('\n'),
      'circ/_sqrtm.py': 'from circ import _triu\n',
      [`circ/_triu${triu.suffix}`]: triu.binary
    }
    const site = layer({ circ: { files } })
    const result = await checkImports({ interpreter, ...site, skip: [] })
    expect(result.checked).toEqual(['circ', 'circ._triu'])
    expect(result.failures).toEqual([])
    expect(result.throughDependents).toEqual([
      { module: 'circ._triu', package: 'circ', dependent: 'circ._sqrtm' }
    ])

    // when nothing of its folder imports it, it fails
    const orphan = layer({ circ: { files: { ...files, 'circ/_sqrtm.py': '' } } })
    const failed = await checkImports({ interpreter, ...orphan, skip: [] })
    expect(failed.failures.map(describeImportFailure)).toEqual([
      'circ (import circ._triu): ImportError: partially initialized module circ._triu'
    ])
  })

  it('skips by module, dotted name or distribution name (normalised), naming both', async () => {
    const site = layer({
      pyyaml: { files: { 'yaml/__init__.py': 'raise ImportError("no")\n' } },
      'crypto-like': { files: cryptoLike() },
      hangs: { files: { 'hangs.py': 'import time\ntime.sleep(600)\n' } }
    })
    const result = await checkImports({
      interpreter,
      ...site,
      skip: ['PyYAML', 'cryptolike.hazmat', 'Hangs', 'nothing_here']
    })
    expect(result.checked).toEqual(['cryptolike'])
    expect(result.failures).toEqual([])
    expect(result.skipped).toEqual([
      { module: 'yaml', package: 'pyyaml' },
      { module: 'cryptolike.hazmat.bindings._rust', package: 'crypto-like' },
      { module: 'hangs', package: 'hangs' }
    ])
    expect(result.unknownSkips).toEqual(['nothing_here'])
  })

  describe('a package whose dependency exclude left out (pandas without numpy)', () => {
    // pandas catches the missing numpy and raises a bare ImportError of its own
    const pandasLike: Files = {
      'pandaslike/__init__.py': [
        'missing = []',
        'try:',
        '    import numpy',
        'except ImportError as e:',
        "    missing.append('numpy')",
        'if missing:',
        "    raise ImportError('Unable to import required dependencies: ' + ', '.join(missing))"
      ].join('\n')
    }
    const excluded = [{ name: 'numpy', modules: ['numpy'] }]

    it('is set aside with the reason, not failed, when no other layer is given', async () => {
      const site = layer({ pandaslike: { files: pandasLike } })
      const result = await checkImports({ interpreter, ...site, excluded, skip: [] })
      expect(result.failures).toEqual([])
      expect(result.setAside.map(describeImportFailure)).toEqual([
        'pandaslike: import failed: numpy is not in the layer (exclude left it out); ImportError: Unable to import required dependencies: numpy'
      ])
    })

    it('passes with the other layer (a zip, python/ layout) on the path', async () => {
      const work = tempDir('importcheck-other-')
      const content = join(work, 'content')
      mkdirSync(join(content, 'python', 'numpy'), { recursive: true })
      writeFileSync(join(content, 'python', 'numpy', '__init__.py'), '')
      const zip = join(work, 'numpy-layer.zip')
      execFileSync(interpreter.path, ['-m', 'zipfile', '-c', zip, 'python'], { cwd: content })
      const otherLayerPaths = await otherLayerSites(interpreter, [zip], join(work, 'unpacked'))
      expect(otherLayerPaths).toEqual([
        join(work, 'unpacked', 'import-check-layers', '0', 'python')
      ])

      const site = layer({ pandaslike: { files: pandasLike } })
      const result = await checkImports({
        interpreter,
        ...site,
        excluded,
        otherLayerPaths,
        skip: []
      })
      expect(result).toMatchObject({ failures: [], setAside: [] })
    })

    it('fails, saying why, when the other layers do not have it either', async () => {
      const other = tempDir('importcheck-other-')
      mkdirSync(join(other, 'python', 'lib', 'python3.11', 'site-packages', 'pytz'), {
        recursive: true
      })
      const otherLayerPaths = await otherLayerSites(interpreter, [other], other)
      expect(otherLayerPaths).toEqual([
        join(other, 'python', 'lib', 'python3.11', 'site-packages'),
        join(other, 'python')
      ])
      const site = layer({ pandaslike: { files: pandasLike } })
      const result = await checkImports({
        interpreter,
        ...site,
        excluded,
        otherLayerPaths,
        skip: []
      })
      expect(result.failures.map(describeImportFailure)).toEqual([
        'pandaslike: import failed: numpy is not in the layer (exclude left it out) nor in import-check-layers; ImportError: Unable to import required dependencies: numpy'
      ])
    })

    it('refuses a folder with no python/ in it', async () => {
      const other = tempDir('importcheck-other-')
      await expect(otherLayerSites(interpreter, [other], other)).rejects.toThrow(
        `import-check-layers: ${other} has no python/ folder; give a layer zip or a folder holding python/`
      )
    })
  })
})

describe('the annotation of failed imports', () => {
  it("is one annotation however many modules fail, so the step's failure line still shows", () => {
    expect(importAnnotation([])).toBeUndefined()
    expect(importAnnotation(['a: ImportError: x'])).toBe('import check: a: ImportError: x')
    const five = ['a: E', 'b: E', 'c: E', 'd: E', 'e: E']
    expect(importAnnotation(five)).toBe(
      'import check: 5 modules failed to import: a: E; b: E; c: E; and 2 more (each in the log and the job summary)'
    )
  })
})
