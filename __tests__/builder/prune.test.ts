import { describe, expect, it } from 'vitest'
import type { InstalledDistribution } from '../../src/builder/pip.js'
import {
  halfSetWarnings,
  isSlimmable,
  packagesToExclude,
  prune,
  sdkPins
} from '../../src/builder/prune.js'

function dist(
  name: string,
  requested: boolean,
  requiresDist: string[] = []
): InstalledDistribution {
  return { name, version: '1.0', requested, requiresDist, url: '' }
}

const sdk = [
  dist('boto3', false, ['botocore>=1.35', 's3transfer<0.11', 'jmespath']),
  dist('botocore', false, ['jmespath', 'python-dateutil', 'urllib3']),
  dist('s3transfer', false, ['botocore']),
  dist('jmespath', false),
  dist('python-dateutil', false, ['six>=1.5']),
  dist('six', false),
  dist('urllib3', false)
]

describe('which packages leave the layer', () => {
  it('keeps the SDK set when a kept package pins botocore (aiobotocore, pulled in by s3fs)', () => {
    const installed = [
      dist('s3fs', true, ['aiobotocore>=2.5']),
      dist('aiobotocore', false, ['botocore<1.35.37,>=1.35.16', 'aiohttp']),
      dist('aiohttp', false),
      ...sdk
    ]
    expect([...packagesToExclude(installed, []).keys()]).toEqual([])
    expect(sdkPins(installed, [])).toEqual([
      { by: 'aiobotocore 1.0', requirement: 'botocore<1.35.37,>=1.35.16' }
    ])
  })

  it('still leaves the SDK out for a lower bound, an exclusion or a pin behind an extra', () => {
    const lowerBound = [dist('awshelper', true, ['boto3>=1.20', 'botocore!=1.30.0']), ...sdk]
    expect(sdkPins(lowerBound, [])).toEqual([])
    expect(packagesToExclude(lowerBound, []).has('botocore')).toBe(true)
    const behindExtra = [dist('awshelper', true, ['botocore==1.35.0; extra == "aws"']), ...sdk]
    expect(sdkPins(behindExtra, [])).toEqual([])
    const excludedPinner = [dist('pinner', true, ['botocore==1.35.0']), ...sdk]
    expect(sdkPins(excludedPinner, ['pinner'])).toEqual([])
    expect(packagesToExclude(excludedPinner, ['pinner']).has('botocore')).toBe(true)
  })

  it('drops the whole SDK when a requested package pulls it in', () => {
    const excluded = packagesToExclude([dist('awshelper', true, ['boto3']), ...sdk], [])
    expect([...excluded.keys()].sort()).toEqual([
      'boto3',
      'botocore',
      'jmespath',
      'python-dateutil',
      's3transfer',
      'six',
      'urllib3'
    ])
  })

  it('keeps an SDK dependency that a kept package needs (requests keeps urllib3)', () => {
    const excluded = packagesToExclude(
      [dist('awshelper', true, ['boto3']), dist('requests', true, ['urllib3<3']), ...sdk],
      []
    )
    expect(excluded.has('urllib3')).toBe(false)
    expect(excluded.has('botocore')).toBe(true)
  })

  it('keeps the whole set when boto3 is requested', () => {
    const installed = sdk.map(d => (d.name === 'boto3' ? { ...d, requested: true } : d))
    expect(packagesToExclude(installed, []).size).toBe(0)
  })

  it('always drops what exclude names, requested or not', () => {
    expect([...packagesToExclude([dist('numpy', true)], ['numpy']).keys()]).toEqual(['numpy'])
  })

  it('ignores requirements behind an extra', () => {
    const excluded = packagesToExclude(
      [dist('tool', true, ['urllib3; extra == "http"']), ...sdk.filter(d => d.name === 'urllib3')],
      []
    )
    expect(excluded.has('urllib3')).toBe(true)
  })
})

describe('half sets', () => {
  it('warns when botocore is in the layer without boto3', () => {
    const warnings = halfSetWarnings([
      { name: 'botocore', version: '1.35.0', requested: true, files: [], bytes: 0 }
    ])
    expect(warnings[0]).toMatch(/^the layer has botocore 1.35.0 but not boto3, s3transfer/)
  })

  it('says nothing for a whole set or none', () => {
    expect(halfSetWarnings([])).toEqual([])
  })
})

describe('slimming', () => {
  it.each([
    ['pkg/__pycache__/mod.cpython-312.pyc', true],
    ['pkg/tests/test_x.py', true],
    ['pkg/sub/tests/data.txt', true],
    ['django/test/signals.py', false],
    ['pkg/mod.pyi', true],
    ['pkg/_ext.c', true],
    ['bin/console-script', true],
    ['tests/__init__.py', false],
    ['pkg/testing/utils.py', false],
    ['pkg-1.0.dist-info/RECORD', false],
    ['numpy.libs/libopenblas.so', false],
    ['pkg/_ext.cpython-312-x86_64-linux-gnu.so', false]
  ])('%s is slimmable: %s', (file, expected) => {
    expect(isSlimmable(file)).toBe(expected)
  })
})

describe('slimming a real site folder', () => {
  async function site(files: Record<string, string>) {
    const { mkdtempSync, mkdirSync, writeFileSync } = await import('node:fs')
    const path = await import('node:path')
    const os = await import('node:os')
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slim-'))
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true })
      writeFileSync(path.join(dir, file), text)
    }
    const pkg = {
      name: 'pkg',
      version: '1.0',
      requested: true,
      files: Object.keys(files),
      bytes: 0
    }
    return { dir, pkg }
  }

  it('keeps the tests module the package imports at run time (astropy does), not the tests around it', async () => {
    const { dir, pkg } = await site({
      'pkg/__init__.py': 'from .tests.runner import TestRunner\n',
      'pkg/tests/__init__.py': '',
      'pkg/tests/runner.py': 'from . import helper\nclass TestRunner: pass\n',
      'pkg/tests/helper.py': '',
      'pkg/tests/test_big.py': 'def test(): pass\n'
    })
    const result = await prune(dir, [pkg], [dist('pkg', true)], { exclude: [], slim: true })
    expect([...result.packages[0].files].sort()).toEqual([
      'pkg/__init__.py',
      'pkg/tests/__init__.py',
      'pkg/tests/helper.py',
      'pkg/tests/runner.py'
    ])
  })

  it("drops numpy 2.2's tests but the one module numpy.testing imports; conftest.py and imports inside functions keep nothing", async () => {
    const { dir, pkg } = await site({
      'pkg/__init__.py': 'def test():\n    from pkg._core.tests import test_multiarray\n',
      'pkg/conftest.py': 'from pkg._core.tests._natype import pd_NA\n',
      'pkg/testing/__init__.py': 'from ._private.utils import *\n',
      'pkg/testing/_private/utils.py': 'import os\nfrom pkg._core.tests._natype import pd_NA\n',
      'pkg/_core/tests/_natype.py': 'pd_NA = None\n',
      'pkg/_core/tests/test_multiarray.py': 'def test(): pass\n',
      'pkg/_core/tests/data/big.csv': '1,2\n',
      'pkg/lib/tests/test_io.py': 'def test(): pass\n'
    })
    const result = await prune(dir, [pkg], [dist('pkg', true)], { exclude: [], slim: true })
    expect([...result.packages[0].files].sort()).toEqual([
      'pkg/__init__.py',
      'pkg/_core/tests/_natype.py',
      'pkg/conftest.py',
      'pkg/testing/__init__.py',
      'pkg/testing/_private/utils.py'
    ])
    expect(result.slimmed.files).toBe(3)
  })

  it('drops a tests folder nothing imports', async () => {
    const { dir, pkg } = await site({
      'pkg/__init__.py': 'import os\n',
      'pkg/tests/test_it.py': 'def test(): pass\n'
    })
    const result = await prune(dir, [pkg], [dist('pkg', true)], { exclude: [], slim: true })
    expect(result.packages[0].files).toEqual(['pkg/__init__.py'])
    expect(result.slimmed.files).toBe(1)
  })
})

describe('leaving a package out', () => {
  it('never removes a file that a package staying in the layer lists (a RECORD that lies)', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, existsSync } = await import('node:fs')
    const path = await import('node:path')
    const os = await import('node:os')
    const dir = mkdtempSync(path.join(os.tmpdir(), 'prune-shared-'))
    for (const file of ['numpy/__init__.py', 'liar/__init__.py']) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true })
      writeFileSync(path.join(dir, file), 'X = 1\n')
    }
    const numpy = {
      name: 'numpy',
      version: '2.0',
      requested: true,
      files: ['numpy/__init__.py'],
      bytes: 6
    }
    // the excluded package claims numpy's file as its own
    const liar = {
      name: 'liar',
      version: '1.0',
      requested: true,
      files: ['liar/__init__.py', 'numpy/__init__.py'],
      bytes: 12
    }
    const result = await prune(dir, [numpy, liar], [dist('numpy', true), dist('liar', true)], {
      exclude: ['liar'],
      slim: false
    })
    expect(result.packages.map(p => p.name)).toEqual(['numpy'])
    expect(existsSync(path.join(dir, 'numpy/__init__.py'))).toBe(true)
    expect(existsSync(path.join(dir, 'liar/__init__.py'))).toBe(false)
  })
})
