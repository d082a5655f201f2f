import { describe, expect, it } from 'vitest'
import {
  fitOfVersion,
  heldBackByGlibc,
  unavailableReason,
  type IndexFile,
  type SeenOnIndex
} from '../../src/builder/candidates.js'
import { findRuntime, type Target } from '../../src/facts.js'

const py311: Target = { runtime: findRuntime('python3.11')!, architecture: 'x86_64' }
const py312: Target = { runtime: findRuntime('python3.12')!, architecture: 'x86_64' }

const file = (filename: string, requiresPython = ''): IndexFile => ({
  filename,
  yanked: false,
  requiresPython
})

/** numpy's shape in 2026: 2.2.6 for manylinux2014, 2.4.6 only for manylinux_2_28 (cp311 to cp314). */
const NUMPY = [
  file('numpy-2.2.6-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl'),
  file('numpy-2.2.6-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl'),
  file('numpy-2.2.6.tar.gz'),
  ...[11, 12, 13, 14].map(minor =>
    file(`numpy-2.4.6-cp3${minor}-cp3${minor}-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl`)
  ),
  file('numpy-2.4.6-cp311-cp311-win_amd64.whl'),
  file('numpy-2.4.6.tar.gz'),
  { ...file('numpy-2.5.0-cp311-cp311-manylinux_2_17_x86_64.whl'), yanked: true }
]

function seen(files: Record<string, IndexFile[]>, specifiers: Record<string, string> = {}) {
  return {
    files: new Map(Object.entries(files)),
    specifiers: new Map(Object.entries(specifiers))
  } satisfies SeenOnIndex
}

describe('how the files of a version stand against a Lambda target', () => {
  it('fits a manylinux2014 wheel for the interpreter, and a pure wheel anywhere', () => {
    expect(fitOfVersion(NUMPY.slice(0, 2), py311)).toEqual({ kind: 'fits' })
    expect(fitOfVersion([file('six-1.17.0-py2.py3-none-any.whl')], py311)).toEqual({
      kind: 'fits'
    })
    expect(fitOfVersion([file('x-1.0-cp39-abi3-manylinux2014_x86_64.whl')], py311)).toEqual({
      kind: 'fits'
    })
  })

  it('names the lowest manylinux level a version needs above the runtime glibc', () => {
    expect(fitOfVersion(NUMPY.slice(3, 9), py311)).toEqual({
      kind: 'glibc',
      glibc: [2, 27],
      tag: 'manylinux_2_27'
    })
    expect(fitOfVersion(NUMPY.slice(3, 9), py312)).toEqual({ kind: 'fits' })
  })

  it('tells another CPython, another machine, another system and sdist-only apart', () => {
    expect(fitOfVersion([file('x-1.0-cp313-cp313-manylinux2014_x86_64.whl')], py311)).toEqual({
      kind: 'interpreter',
      pythons: ['cp313']
    })
    expect(fitOfVersion([file('x-1.0-cp311-cp311-manylinux2014_aarch64.whl')], py311)).toEqual({
      kind: 'architecture',
      machines: ['aarch64']
    })
    expect(fitOfVersion([file('x-1.0-cp311-cp311-musllinux_1_2_x86_64.whl')], py311)).toEqual({
      kind: 'platform',
      platforms: ['musllinux_1_2_x86_64']
    })
    expect(fitOfVersion([file('x-1.0.tar.gz')], py311)).toEqual({ kind: 'sdist' })
  })

  it('says when a version requires a newer Python', () => {
    expect(fitOfVersion([file('x-2.0-py3-none-any.whl', '>=3.12')], py311)).toEqual({
      kind: 'requiresPython',
      requiresPython: '>=3.12'
    })
  })
})

describe('what the index may list that pip itself skips', () => {
  it('reads an unreadable requires-python as no obstacle, and odd file names as no version', () => {
    expect(fitOfVersion([file('x-1.0-py3-none-any.whl', '>=3.9.*')], py311)).toEqual({
      kind: 'fits'
    })
    const odd = seen({ x: [file('x-not a version-py3-none-any.whl'), file('x.exe')] })
    expect(unavailableReason(odd, 'x', '', py311)).toBeUndefined()
    expect(heldBackByGlibc(odd, [{ name: 'x', version: '1.0' }], py311)).toEqual([])
  })
})

describe('why no version fits', () => {
  it('names the asked version, what its wheels need, the newest that fits and the runtimes that take it', () => {
    expect(unavailableReason(seen({ numpy: NUMPY }), 'numpy', '==2.4.6', py311)).toBe(
      'numpy 2.4.6 has only manylinux_2_27 wheels for cp311 x86_64; python3.11 (Amazon Linux 2) has glibc 2.26: pin numpy<=2.2.6 (the newest that fits), or use python3.12+'
    )
  })

  it('reads the specifier pip searched with before the one in the message', () => {
    const reason = unavailableReason(
      seen({ numpy: NUMPY }, { numpy: '>=2.3' }),
      'numpy',
      '',
      py311,
      'pandas'
    )
    expect(reason).toMatch(/^numpy 2\.4\.6 \(required by pandas\) has only manylinux_2_27/)
  })

  it('leaves sdist-only versions and unknown projects to the sdist build and the usual message', () => {
    expect(unavailableReason(seen({ x: [file('x-1.0.tar.gz')] }), 'x', '', py311)).toBeUndefined()
    expect(unavailableReason(seen({}), 'nothing', '', py311)).toBeUndefined()
  })
})

describe('packages held back by the runtime glibc', () => {
  it('lists an installed version older than the newest the specifier admits, when the newest needs a newer glibc', () => {
    expect(
      heldBackByGlibc(seen({ numpy: NUMPY }), [{ name: 'numpy', version: '2.2.6' }], py311)
    ).toEqual([
      {
        name: 'numpy',
        installed: '2.2.6',
        newest: '2.4.6',
        needs: 'manylinux_2_27',
        takenBy: 'python3.12+'
      }
    ])
  })

  it('does not list a package the specifiers kept older, or one at the newest version', () => {
    const installed = [{ name: 'numpy', version: '2.2.6' }]
    expect(heldBackByGlibc(seen({ numpy: NUMPY }, { numpy: '<2.3' }), installed, py311)).toEqual([])
    expect(
      heldBackByGlibc(seen({ numpy: NUMPY }), [{ name: 'numpy', version: '2.4.6' }], py312)
    ).toEqual([])
  })
})
