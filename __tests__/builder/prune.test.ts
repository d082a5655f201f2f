import { describe, expect, it } from 'vitest'
import type { DistributionLayout } from '../../src/builder/assemble.js'
import type { InstalledDistribution } from '../../src/builder/pip.js'
import {
  halfSetWarnings,
  isSlimmable,
  packagesToExclude,
  pruneLayouts,
  sdkPins
} from '../../src/builder/prune.js'
import { fileInMemory } from '../support/layer-files.js'

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

/** One distribution's layer files, each held in memory as text. */
function layout(name: string, files: Record<string, string>): DistributionLayout {
  return {
    dist: {
      name,
      displayName: name,
      version: '1.0',
      requiresDist: [],
      distInfo: `${name}-1.0.dist-info`,
      recordHashes: new Map(),
      recordPaths: [],
      entryPoints: ''
    },
    files: Object.entries(files).map(([file, text]) => fileInMemory(file, text, { owner: name }))
  }
}

const paths = (result: DistributionLayout) => result.files.map(file => file.path).sort()

describe('slimming a layer', () => {
  const slim = (files: Record<string, string>) =>
    pruneLayouts([layout('pkg', files)], [dist('pkg', true)], { exclude: [], slim: true })

  it('keeps the tests module the package imports at run time (astropy does), not the tests around it', async () => {
    const result = await slim({
      'pkg/__init__.py': 'from .tests.runner import TestRunner\n',
      'pkg/tests/__init__.py': '',
      'pkg/tests/runner.py': 'from . import helper\nclass TestRunner: pass\n',
      'pkg/tests/helper.py': '',
      'pkg/tests/test_big.py': 'def test(): pass\n'
    })
    expect(paths(result.layouts[0])).toEqual([
      'pkg/__init__.py',
      'pkg/tests/__init__.py',
      'pkg/tests/helper.py',
      'pkg/tests/runner.py'
    ])
    expect(result.slimmed).toEqual({ files: 1, bytes: 'def test(): pass\n'.length })
  })

  it("drops numpy 2.2's tests but the one module numpy.testing imports; conftest.py and imports inside functions keep nothing", async () => {
    const result = await slim({
      'pkg/__init__.py': 'def test():\n    from pkg._core.tests import test_multiarray\n',
      'pkg/conftest.py': 'from pkg._core.tests._natype import pd_NA\n',
      'pkg/testing/__init__.py': 'from ._private.utils import *\n',
      'pkg/testing/_private/utils.py': 'import os\nfrom pkg._core.tests._natype import pd_NA\n',
      'pkg/_core/tests/_natype.py': 'pd_NA = None\n',
      'pkg/_core/tests/test_multiarray.py': 'def test(): pass\n',
      'pkg/_core/tests/data/big.csv': '1,2\n',
      'pkg/lib/tests/test_io.py': 'def test(): pass\n'
    })
    expect(paths(result.layouts[0])).toEqual([
      'pkg/__init__.py',
      'pkg/_core/tests/_natype.py',
      'pkg/conftest.py',
      'pkg/testing/__init__.py',
      'pkg/testing/_private/utils.py'
    ])
    expect(result.slimmed.files).toBe(3)
  })

  it('drops a tests folder nothing imports, caches, stubs, C sources and console scripts', async () => {
    const result = await slim({
      'pkg/__init__.py': 'import os\n',
      'pkg/tests/test_it.py': 'def test(): pass\n',
      'pkg/__pycache__/__init__.cpython-312.pyc': 'compiled',
      'pkg/__init__.pyi': 'stub',
      'pkg/_speedups.c': 'int x;',
      'bin/pkg-tool': '#!/usr/bin/env python3\n',
      'pkg-1.0.dist-info/RECORD': ''
    })
    expect(paths(result.layouts[0])).toEqual(['pkg-1.0.dist-info/RECORD', 'pkg/__init__.py'])
    expect(result.slimmed.files).toBe(5)
  })

  it('keeps every file with slim: false', async () => {
    const files = { 'pkg/__init__.py': '', 'pkg/tests/test_it.py': '', 'bin/pkg-tool': '' }
    const result = await pruneLayouts([layout('pkg', files)], [dist('pkg', true)], {
      exclude: [],
      slim: false
    })
    expect(paths(result.layouts[0])).toEqual(Object.keys(files).sort())
    expect(result.slimmed).toEqual({ files: 0, bytes: 0 })
  })
})

describe('leaving a package out', () => {
  it("keeps a kept package's file that the excluded one also holds (a RECORD that lies), with the kept bytes", async () => {
    const numpy = layout('numpy', { 'numpy/__init__.py': 'X = 1\n' })
    // the excluded package holds numpy's path too, with other bytes
    const liar = layout('liar', { 'liar/__init__.py': '', 'numpy/__init__.py': 'HIJACKED = 1\n' })
    const result = await pruneLayouts([liar, numpy], [dist('numpy', true), dist('liar', true)], {
      exclude: ['liar'],
      slim: false
    })
    expect(result.layouts.map(l => l.dist.name)).toEqual(['numpy'])
    expect(result.layouts[0].files).toEqual(numpy.files)
    expect(result.excluded).toEqual([
      {
        name: 'liar',
        version: '1.0',
        reason: 'listed in exclude',
        providedByRuntime: false,
        modules: ['liar', 'numpy']
      }
    ])
  })

  it('says why the runtime SDK stays when a kept package pins it', async () => {
    const installed = [
      dist('s3fs', true, ['aiobotocore>=2.5']),
      dist('aiobotocore', false, ['botocore<1.35.37,>=1.35.16']),
      ...sdk
    ]
    const result = await pruneLayouts(
      installed.map(d => layout(d.name, { [`${d.name}.py`]: '' })),
      installed,
      { exclude: [], slim: true }
    )
    expect(result.excluded).toEqual([])
    expect(result.notices).toEqual([
      "boto3, botocore, s3transfer stay in the layer although the runtime ships them: aiobotocore 1.0 requires botocore<1.35.37,>=1.35.16, which the runtime's own copy need not satisfy"
    ])
  })
})
