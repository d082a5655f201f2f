// The test world's packages: every wheel and sdist the end-to-end tests, the demo and the
// benchmark install with real pip. Each package exists to provoke one behaviour of the action
// (see the comment on each). Native wheels hold genuine ELF shared objects (./elf.ts) for
// x86_64 and aarch64, so verification has real bytes to read; they are not loadable code.

import { makeSharedObject } from './elf.js'
import {
  buildSdist,
  buildWheel,
  filenameName,
  sha256Hex,
  type Distribution,
  type WheelSpec
} from './wheels.js'

export type Machine = 'x86_64' | 'aarch64'
export const MACHINES: readonly Machine[] = ['x86_64', 'aarch64']

/** CPython minor versions the Lambda runtimes in the test world cover (python3.10 … 3.14). */
export const PYTHON_MINORS: readonly number[] = [10, 11, 12, 13, 14]

/** Bytes of bigblob's data file: above the 50 MB direct-upload limit even after zipping. */
export const BIGBLOB_BYTES = 60 * 1024 * 1024

let built: Distribution[] | undefined
let hashes: Map<string, string> | undefined
let blob: Distribution | undefined

/** Every distribution of the test world except bigblob, built once per process. */
export function catalog(): Distribution[] {
  built ??= buildCatalog()
  return [...built]
}

/** The ~60 MB pure wheel for the too-big-for-direct-upload path; built on first use only. */
export function bigblob(): Distribution {
  blob ??= buildWheel({
    name: 'bigblob',
    version: '1.0.0',
    files: {
      'bigblob/__init__.py':
        "import os\nDATA = os.path.join(os.path.dirname(__file__), 'data.bin')\n",
      'bigblob/data.bin': randomBytes(BIGBLOB_BYTES, 0x5eed)
    }
  })
  return blob
}

/** Hex sha256 of a catalog (or bigblob) file, for `--hash=sha256:` in hash-checking mode. */
export function hashOf(filename: string): string {
  hashes ??= new Map(catalog().map(d => [d.filename, sha256Hex(d.bytes)]))
  const known = hashes.get(filename)
  if (known) return known
  if (filename === bigblob().filename) return sha256Hex(bigblob().bytes)
  throw new Error(`${filename} is not in the test catalog`)
}

/** The catalog's files of one project (normalised name), e.g. filesOf('fastmath'). */
export function filesOf(project: string): Distribution[] {
  const prefix = filenameName(project) + '-'
  return catalog().filter(d => d.filename.startsWith(prefix))
}

function buildCatalog(): Distribution[] {
  return [
    // Two versions so that changing a pin changes the layer.
    ...['1.0.0', '1.1.0'].map(version =>
      pure('tinyjson', version, {
        requiresPython: '>=3.8',
        files: {
          'tinyjson/__init__.py': `__version__ = '${version}'\n\nfrom json import dumps, loads\n`
        }
      })
    ),
    // Transitive dependency, an extra that pulls a native package, and a marker for
    // another platform whose target must never be installed.
    pure('greeter', '1.0.0', {
      requires: ['tinyjson>=1.0', 'pywin32stub; sys_platform == "win32"'],
      extras: { fast: ['fastmath>=2.0'] },
      files: {
        'greeter/__init__.py':
          "from tinyjson import dumps\n\n\ndef greet(name):\n    return dumps({'hello': name})\n"
      }
    }),
    // Dependencies chosen by markers of the TARGET (machine, Python version), which pip would
    // otherwise evaluate for the runner.
    pure('machinedeps', '1.0.0', {
      requires: [
        'armonly; platform_machine == "aarch64"',
        'x86only; platform_machine == "x86_64"',
        'oldpy; python_version < "3.12"'
      ],
      files: { 'machinedeps/__init__.py': '' }
    }),
    pure('armonly', '1.0.0', { files: { 'armonly/__init__.py': '' } }),
    pure('x86only', '1.0.0', { files: { 'x86only/__init__.py': '' } }),
    pure('oldpy', '1.0.0', { files: { 'oldpy/__init__.py': '' } }),
    // Pure on purpose: if the marker above were ignored, pip would find and install it.
    pure('pywin32stub', '1.0.0', { files: { 'pywin32stub/__init__.py': '' } }),

    // Native, glibc-levelled: AL2 (ceiling 2.26) must get 2.0.0, AL2023 (2.34) gets 2.1.0.
    ...MACHINES.map(machine =>
      native('fastmath', '2.0.0', abi3Tag(machine, '2_17'), {
        'fastmath/_core.abi3.so': so(machine, glibcBase(machine, '2.17'))
      })
    ),
    ...MACHINES.map(machine =>
      native('fastmath', '2.1.0', abi3Tag(machine, '2_28'), {
        'fastmath/_core.abi3.so': so(machine, glibcBase(machine, '2.28'))
      })
    ),

    // One wheel per CPython version (cp310 … cp314) and machine, with matching .so names.
    ...MACHINES.flatMap(machine =>
      PYTHON_MINORS.map(minor =>
        native('speedups', '1.0.0', cpythonTag(minor, machine, '2_17'), {
          [`speedups/_speedups.cpython-3${minor}-${machine}-linux-gnu.so`]: so(
            machine,
            glibcBase(machine, '2.17')
          )
        })
      )
    ),

    // Lies about its glibc: tagged manylinux_2_17 (pip accepts it) but needs GLIBC_2.35.
    ...MACHINES.map(machine =>
      native('newglibc', '1.0.0', abi3Tag(machine, '2_17'), {
        'newglibc/_native.abi3.so': so(machine, [...glibcBase(machine, '2.17'), 'GLIBC_2.35'])
      })
    ),
    // Lies about its machine: each wheel holds the other architecture's shared object.
    ...MACHINES.map(machine =>
      native('wrongarch', '1.0.0', abi3Tag(machine, '2_17'), {
        'wrongarch/_native.abi3.so': so(other(machine), glibcBase(other(machine), '2.17'))
      })
    ),
    // Lies about its Python ABI: tagged cp312 but its extension is built for CPython 3.11.
    ...MACHINES.map(machine =>
      native('wrongabi', '1.0.0', `cp312-cp312-manylinux2014_${machine}`, {
        [`wrongabi/_ext.cpython-311-${machine}-linux-gnu.so`]: so(
          machine,
          glibcBase(machine, '2.17')
        )
      })
    ),

    // sdist only, pure: the action builds it with `pip wheel --no-deps` and includes it.
    buildSdist({
      name: 'onlysdist',
      version: '0.5.0',
      files: { 'onlysdist/__init__.py': "__version__ = '0.5.0'\n" }
    }),
    // sdist only, native: building it yields a platform wheel, which must be a clear error.
    buildSdist({
      name: 'nativesdist',
      version: '0.1.0',
      native: true,
      nativeObjects: Object.fromEntries(
        MACHINES.map(machine => [machine, so(machine, glibcBase(machine, '2.17'))])
      ),
      files: {
        'nativesdist/__init__.py': "__version__ = '0.1.0'\n",
        'nativesdist/_ext.c': '#include <Python.h>\n/* compiled by the in-tree backend */\n'
      }
    }),

    // Stand-ins for the SDK the Lambda runtime already ships (dependency edges as upstream).
    pure('boto3', '1.35.0', {
      requiresPython: '>=3.8',
      requires: [
        'botocore<1.36.0,>=1.35.0',
        'jmespath<2.0.0,>=0.7.1',
        's3transfer<0.11.0,>=0.10.0'
      ],
      files: { 'boto3/__init__.py': "__version__ = '1.35.0'\n" }
    }),
    pure('botocore', '1.35.0', {
      requiresPython: '>=3.8',
      requires: [
        'jmespath<2.0.0,>=0.7.1',
        'python-dateutil<3.0.0,>=2.1',
        'urllib3<1.27,>=1.25.4; python_version < "3.10"',
        'urllib3!=2.2.0,<3,>=1.25.4; python_version >= "3.10"'
      ],
      files: { 'botocore/__init__.py': "__version__ = '1.35.0'\n" }
    }),
    pure('s3transfer', '0.10.2', {
      requiresPython: '>=3.8',
      requires: ['botocore<2.0a.0,>=1.33.2'],
      files: { 's3transfer/__init__.py': "__version__ = '0.10.2'\n" }
    }),
    pure('jmespath', '1.0.1', { files: { 'jmespath/__init__.py': "__version__ = '1.0.1'\n" } }),
    pure('python-dateutil', '2.9.0.post0', {
      tag: 'py2.py3-none-any',
      requires: ['six>=1.5'],
      files: { 'dateutil/__init__.py': "__version__ = '2.9.0.post0'\n" }
    }),
    pure('six', '1.16.0', {
      tag: 'py2.py3-none-any',
      files: { 'six.py': "__version__ = '1.16.0'\n" }
    }),
    pure('urllib3', '2.2.3', { files: { 'urllib3/__init__.py': "__version__ = '2.2.3'\n" } }),
    // Pulls the whole SDK in transitively only.
    pure('awshelper', '1.0.0', {
      requires: ['boto3>=1.26'],
      files: { 'awshelper/__init__.py': 'import boto3\n' }
    }),
    // Imports a module no distribution declares or ships: installs and verifies fine, and
    // only the import check can tell that it will not load on Lambda.
    pure('brokenimport', '1.0.0', {
      files: { 'brokenimport/__init__.py': 'import missingdep\n' }
    }),
    // Pulls half the SDK set: botocore without boto3 and s3transfer.
    pure('needsbotocore', '1.0.0', {
      requires: ['botocore>=1.30'],
      files: { 'needsbotocore/__init__.py': 'import botocore\n' }
    }),

    // Things slimming may remove (tests, stubs, C sources) and things it must keep
    // (executables with their mode, py.typed).
    buildWheel({
      name: 'hasscripts',
      version: '1.0.0',
      files: {
        'hasscripts/__init__.py': 'from .core import run\n',
        'hasscripts/core.py': "def run():\n    return 'ran'\n",
        'hasscripts/core.pyi': 'def run() -> str: ...\n',
        'hasscripts/py.typed': '',
        'hasscripts/_speedups.c': 'int hasscripts_speedup(void) { return 1; }\n',
        'hasscripts/bin/hs-helper': '#!/bin/sh\necho helper\n',
        'hasscripts/tests/__init__.py': '',
        'hasscripts/tests/test_core.py':
          'from hasscripts import run\n\n\ndef test_run():\n    assert run() == "ran"\n',
        'hasscripts-1.0.0.data/scripts/hasscripts-run':
          '#!python\nfrom hasscripts import run\nprint(run())\n'
      },
      executable: ['hasscripts/bin/hs-helper', 'hasscripts-1.0.0.data/scripts/hasscripts-run']
    })
  ]
}

function pure(name: string, version: string, spec: Omit<WheelSpec, 'name' | 'version'>) {
  return buildWheel({ name, version, ...spec })
}

function native(name: string, version: string, tag: string, objects: Record<string, Buffer>) {
  return buildWheel({
    name,
    version,
    tag,
    requiresPython: '>=3.10',
    files: { [`${name}/__init__.py`]: `__version__ = '${version}'\n`, ...objects }
  })
}

/** A stable-ABI wheel for CPython ≥ 3.10 at a manylinux level, with the legacy alias for 2_17. */
function abi3Tag(machine: Machine, level: string): string {
  const platform = `manylinux_${level}_${machine}`
  return `cp310-abi3-${level === '2_17' ? `${platform}.manylinux2014_${machine}` : platform}`
}

function cpythonTag(minor: number, machine: Machine, level: string): string {
  const platform = `manylinux_${level}_${machine}`
  const platforms = level === '2_17' ? `${platform}.manylinux2014_${machine}` : platform
  return `cp3${minor}-cp3${minor}-${platforms}`
}

/** What a real build against glibc 2.x needs: the machine's base symbol version plus 2.x. */
function glibcBase(machine: Machine, version: string): string[] {
  const base = machine === 'x86_64' ? ['GLIBC_2.2.5'] : ['GLIBC_2.17']
  const wanted = `GLIBC_${version}`
  return base.includes(wanted) ? base : [...base, wanted]
}

function so(machine: Machine, glibc: string[]): Buffer {
  return makeSharedObject({ machine, glibc })
}

function other(machine: Machine): Machine {
  return machine === 'x86_64' ? 'aarch64' : 'x86_64'
}

/** Incompressible but reproducible bytes (xorshift32 from a fixed seed). */
function randomBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length)
  let state = seed >>> 0 || 1
  for (let at = 0; at + 4 <= length; at += 4) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    out.writeUInt32LE(state >>> 0, at)
  }
  return out
}
