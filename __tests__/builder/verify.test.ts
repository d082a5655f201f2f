import { mkdirSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { findRuntime, type Architecture } from '../../src/facts.js'
import type { Target } from '../../src/facts.js'
import type { LayerPackage } from '../../src/builder/site.js'
import { summarizeFindings, verifyLayer } from '../../src/builder/verify.js'
import { C_SOURCES, compileSharedObject, makeElf32, makeSharedObject } from '../support/elf.js'

const dirs: string[] = []
afterAll(() => dirs.forEach(d => rmSync(d, { recursive: true, force: true })))

function target(runtime: string, architecture: Architecture): Target {
  return { runtime: findRuntime(runtime)!, architecture }
}
const AL2023_X86 = target('python3.12', 'x86_64')
const AL2023_ARM = target('python3.12', 'arm64')
const AL2_X86 = target('python3.11', 'x86_64')
const AL2_ARM = target('python3.11', 'arm64')

/** A site directory holding `files`, each owned by the package named before the first "/". */
function site(files: Record<string, Buffer | string>, versions: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'verify-test-'))
  dirs.push(dir)
  const packages = new Map<string, LayerPackage>()
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true })
    writeFileSync(join(dir, file), content)
    const name = file.split('/')[0]
    if (name === 'unowned') continue
    const pkg = packages.get(name) ?? {
      name,
      version: versions[name] ?? '1.0',
      requested: true,
      files: [],
      bytes: 0
    }
    pkg.files.push(file)
    packages.set(name, pkg)
  }
  return { dir, packages: [...packages.values()] }
}

const x86 = (glibc: string[] = ['GLIBC_2.17']) => makeSharedObject({ machine: 'x86_64', glibc })
const arm = (glibc: string[] = ['GLIBC_2.17']) => makeSharedObject({ machine: 'aarch64', glibc })

describe('verifyLayer', () => {
  it('finds nothing wrong in a layer built for its target', async () => {
    const layer = site({
      'numpy/_core/_multiarray_umath.cpython-312-x86_64-linux-gnu.so': x86(['GLIBC_2.34']),
      'numpy/__init__.py': 'from ._core import *\n',
      'numpy-2.3.1.dist-info/RECORD': 'numpy/__init__.py,,\n',
      'cryptography/hazmat/bindings/_rust.abi3.so': x86(['GLIBC_2.17']),
      'cffi/_cffi_backend.so': x86([]),
      'numpy.libs/libgfortran-040039e1.so.5.0.0': x86(['GLIBC_2.2.5', 'GLIBC_2.14']),
      'unowned/README.txt': 'hello'
    })
    expect(await verifyLayer(layer.dir, layer.packages, AL2023_X86)).toEqual([])
  })

  it('flags an aarch64 extension in an x86_64 layer, naming package, file and both machines', async () => {
    const layer = site({ 'fastpkg/_speed.so': arm() })
    expect(await verifyLayer(layer.dir, layer.packages, AL2023_X86)).toEqual([
      {
        package: 'fastpkg',
        version: '1.0',
        file: 'fastpkg/_speed.so',
        kind: 'architecture',
        message:
          'fastpkg 1.0: fastpkg/_speed.so is built for aarch64; the layer targets x86_64 ' +
          '(Lambda arm64 needs aarch64, x86_64 needs x86_64)'
      }
    ])
  })

  it('flags x86_64 and 32-bit code in an arm64 layer', async () => {
    const layer = site({ 'fastpkg/_speed.so': x86(), 'oldpkg/_legacy.so': makeElf32() })
    const findings = await verifyLayer(layer.dir, layer.packages, AL2_ARM)
    expect(findings.map(f => f.message)).toEqual([
      'fastpkg 1.0: fastpkg/_speed.so is built for x86_64; the layer targets arm64 ' +
        '(Lambda arm64 needs aarch64, x86_64 needs x86_64)',
      'oldpkg 1.0: oldpkg/_legacy.so is built for i386; the layer targets arm64 ' +
        '(Lambda arm64 needs aarch64, x86_64 needs x86_64)'
    ])
  })

  it('flags 32-bit x86_64 (x32) code, which a 64-bit runtime cannot load', async () => {
    const layer = site({ 'x32pkg/_ext.so': makeSharedObject({ machine: 'x86_64', bits: 32 }) })
    const findings = await verifyLayer(layer.dir, layer.packages, AL2023_X86)
    expect(findings.map(f => f.message)).toEqual([
      'x32pkg 1.0: x32pkg/_ext.so is built for x86_64 (32-bit); the layer targets x86_64 ' +
        '(Lambda arm64 needs aarch64, x86_64 needs x86_64)'
    ])
  })

  it('finds ELF executables by their bytes, whatever their name', async () => {
    const layer = site({ 'toolpkg/bin/helper': arm(), 'toolpkg/data.bin': Buffer.alloc(100) })
    const findings = await verifyLayer(layer.dir, layer.packages, AL2023_X86)
    expect(findings.map(f => [f.file, f.kind])).toEqual([['toolpkg/bin/helper', 'architecture']])
  })

  it('flags a glibc newer than Amazon Linux 2023 provides for python3.12', async () => {
    const file = 'numpy/_core/_multiarray_umath.cpython-312-x86_64-linux-gnu.so'
    const layer = site({ [file]: x86(['GLIBC_2.17', 'GLIBC_2.35']) }, { numpy: '2.3.1' })
    expect(await verifyLayer(layer.dir, layer.packages, AL2023_X86)).toEqual([
      {
        package: 'numpy',
        version: '2.3.1',
        file,
        kind: 'glibc',
        message: `numpy 2.3.1: ${file} needs GLIBC_2.35; python3.12 (Amazon Linux 2023) has 2.34`,
        glibcNeeded: [2, 35]
      }
    ])
  })

  it('flags GLIBC_2.28 on Amazon Linux 2 but accepts 2.26, its ceiling', async () => {
    const layer = site(
      {
        'bcrypt/_bcrypt.abi3.so': arm(['GLIBC_2.17', 'GLIBC_2.28']),
        'pynacl/_sodium.abi3.so': arm(['GLIBC_2.17', 'GLIBC_2.26'])
      },
      { bcrypt: '4.3.0' }
    )
    expect((await verifyLayer(layer.dir, layer.packages, AL2_ARM)).map(f => f.message)).toEqual([
      'bcrypt 4.3.0: bcrypt/_bcrypt.abi3.so needs GLIBC_2.28; python3.11 (Amazon Linux 2) has 2.26'
    ])
    expect(await verifyLayer(layer.dir, layer.packages, AL2023_ARM)).toEqual([])
  })

  it('flags an extension built for another CPython', async () => {
    const layer = site({
      'pkg/_ext.cpython-311-x86_64-linux-gnu.so': x86(),
      'pkg/_ok.cpython-312-x86_64-linux-gnu.so': x86()
    })
    expect(await verifyLayer(layer.dir, layer.packages, AL2023_X86)).toEqual([
      {
        package: 'pkg',
        version: '1.0',
        file: 'pkg/_ext.cpython-311-x86_64-linux-gnu.so',
        kind: 'python-abi',
        message:
          'pkg 1.0: pkg/_ext.cpython-311-x86_64-linux-gnu.so is built for CPython 3.11; ' +
          'python3.12 runs CPython 3.12'
      }
    ])
  })

  it('flags a free-threaded build, which the Lambda runtime does not run', async () => {
    const layer = site({ 'pkg/_ext.cpython-313t-aarch64-linux-gnu.so': arm() })
    const findings = await verifyLayer(layer.dir, layer.packages, target('python3.13', 'arm64'))
    expect(findings.map(f => f.message)).toEqual([
      'pkg 1.0: pkg/_ext.cpython-313t-aarch64-linux-gnu.so is built for CPython 3.13t; ' +
        'python3.13 runs CPython 3.13'
    ])
  })

  it('flags an extension named for another platform even when its bytes are right', async () => {
    const layer = site({
      'pkg/_musl.cpython-311-x86_64-linux-musl.so': x86(),
      'pkg/_arm.cpython-311-aarch64-linux-gnu.so': x86()
    })
    const findings = await verifyLayer(layer.dir, layer.packages, AL2_X86)
    expect(findings.map(f => [f.file, f.kind, f.message.split('; ')[0]])).toEqual([
      [
        'pkg/_arm.cpython-311-aarch64-linux-gnu.so',
        'architecture',
        'pkg 1.0: pkg/_arm.cpython-311-aarch64-linux-gnu.so is built for aarch64'
      ],
      [
        'pkg/_musl.cpython-311-x86_64-linux-musl.so',
        'architecture',
        'pkg 1.0: pkg/_musl.cpython-311-x86_64-linux-musl.so is built for x86_64-linux-musl'
      ]
    ])
  })

  it('reports a wrong-architecture extension once, not once for its bytes and again for its name', async () => {
    const layer = site({ 'pkg/_ext.cpython-312-aarch64-linux-gnu.so': arm() })
    const findings = await verifyLayer(layer.dir, layer.packages, AL2023_X86)
    expect(findings.map(f => f.kind)).toEqual(['architecture'])
  })

  it('flags a file named .so that is not ELF, saying what it is', async () => {
    const machO = Buffer.from([0xcf, 0xfa, 0xed, 0xfe, ...Buffer.alloc(60)])
    const layer = site({
      'macpkg/_core.cpython-312-darwin.so': machO,
      'textpkg/libfoo.so.1': 'INPUT(-lfoo)\n',
      'textpkg/notes.txt': 'not a binary, not named like one'
    })
    const findings = await verifyLayer(layer.dir, layer.packages, AL2023_X86)
    expect(findings.map(f => f.message)).toEqual([
      'macpkg 1.0: macpkg/_core.cpython-312-darwin.so is not an ELF shared object ' +
        '(a macOS Mach-O binary); Lambda runs Linux',
      'textpkg 1.0: textpkg/libfoo.so.1 is not an ELF shared object (unrecognised format); ' +
        'Lambda runs Linux'
    ])
    expect(findings.map(f => f.kind)).toEqual(['not-elf', 'not-elf'])
  })

  it('fails a shared object cut short or missing what the check needs, naming package, file and what is wrong', async () => {
    const whole = x86(['GLIBC_2.39'])
    const shoff = Number(whole.readBigUInt64LE(0x28))
    const tableEnd = shoff + whole.readUInt16LE(0x3c) * whole.readUInt16LE(0x3a)
    // without section headers the loader's program headers still tell: GLIBC_2.39 is found
    const noSections = Buffer.from(whole)
    noSections.writeBigUInt64LE(0n, 0x28)
    const noHeaders = Buffer.from(noSections)
    noHeaders.writeBigUInt64LE(0n, 0x20)
    const layer = site(
      {
        'mypkg/_core.so': whole.subarray(0, 200),
        'mypkg/_header_only.so': whole.subarray(0, 64),
        'mypkg/_no_headers.so': noHeaders,
        'mypkg/_sectionless.so': noSections,
        'mypkg/_whole.so': whole.subarray(0, whole.length),
        'mypkg/_fine.so': x86()
      },
      { mypkg: '1.0' }
    )
    const findings = await verifyLayer(layer.dir, layer.packages, AL2023_X86)
    expect(findings.map(f => [f.file, f.kind])).toEqual([
      ['mypkg/_core.so', 'unreadable'],
      ['mypkg/_header_only.so', 'unreadable'],
      ['mypkg/_no_headers.so', 'unreadable'],
      ['mypkg/_sectionless.so', 'glibc'],
      ['mypkg/_whole.so', 'glibc']
    ])
    expect(findings.slice(0, 3).map(f => f.message)).toEqual([
      `mypkg 1.0: mypkg/_core.so cannot be read whole: truncated ELF (section headers end at byte ${tableEnd}, the file has 200); it would fail to load on Lambda`,
      `mypkg 1.0: mypkg/_header_only.so cannot be read whole: truncated ELF (section headers end at byte ${tableEnd}, the file has 64); it would fail to load on Lambda`,
      'mypkg 1.0: mypkg/_no_headers.so cannot be read whole: no section or program headers, so the libraries and versions it needs cannot be checked'
    ])
  })

  it('fails a real gcc-built shared object with bytes cut off its end', async () => {
    const layer = site({})
    const file = join(layer.dir, 'native/_ext.cpython-312-x86_64-linux-gnu.so')
    mkdirSync(dirname(file), { recursive: true })
    compileSharedObject('gcc', C_SOURCES.plain, file)
    rmSync(`${file}.c`)
    const pkg = {
      name: 'native',
      version: '2.0',
      requested: true,
      files: [relative(layer.dir, file)],
      bytes: 0
    }
    expect(await verifyLayer(layer.dir, [pkg], AL2023_X86)).toEqual([])

    truncateSync(file, statSync(file).size - 100)

    const findings = await verifyLayer(layer.dir, [pkg], AL2023_X86)
    expect(findings.map(f => f.kind)).toEqual(['unreadable'])
    expect(findings[0].message).toMatch(
      /^native 2\.0: native\/_ext\.cpython-312-x86_64-linux-gnu\.so cannot be read whole: truncated ELF \(section headers end at byte \d+, the file has \d+\); it would fail to load on Lambda$/
    )
  })

  it('attributes files no package owns to (unknown)', async () => {
    const layer = site({ 'unowned/stray.so': arm() })
    const [finding] = await verifyLayer(layer.dir, layer.packages, AL2023_X86)
    expect(finding).toMatchObject({ package: '(unknown)', version: '', file: 'unowned/stray.so' })
    expect(finding.message).toMatch(/^\(unknown\): unowned\/stray\.so is built for aarch64;/)
  })

  it('sorts findings by package, then file, the same way on every run', async () => {
    const files: Record<string, Buffer> = {}
    for (const pkg of ['zeta', 'alpha', 'Mid']) {
      for (let i = 0; i < 30; i++) files[`${pkg}/m${i}/_ext.so`] = arm(['GLIBC_2.39'])
    }
    const layer = site(files)
    const first = await verifyLayer(layer.dir, layer.packages.reverse(), AL2023_X86)
    expect(first).toHaveLength(180)
    const keys = first.map(f => `${f.package} ${f.file} ${f.kind}`)
    expect(keys).toEqual([...keys].sort())
    expect(first[0]).toMatchObject({ package: 'Mid', file: 'Mid/m0/_ext.so', kind: 'architecture' })
    expect(await verifyLayer(layer.dir, layer.packages, AL2023_X86)).toEqual(first)
  })
})

describe('verifyLayer on shared objects built by gcc', () => {
  const layer = site({})
  const build = (compiler: 'gcc' | 'aarch64-linux-gnu-gcc', source: string, file: string) => {
    mkdirSync(dirname(join(layer.dir, file)), { recursive: true })
    compileSharedObject(compiler, source, join(layer.dir, file))
    rmSync(join(layer.dir, `${file}.c`))
    return { name: file.split('/')[0], version: '0.1', requested: true, files: [file], bytes: 0 }
  }

  it('passes native code built for the target and flags glibc 2.36 and the other machine', async () => {
    const packages = [
      build('gcc', C_SOURCES.newGlibc, 'newx86/_new.cpython-312-x86_64-linux-gnu.so'),
      build('gcc', C_SOURCES.oldMemcpy, 'oldx86/_old.cpython-312-x86_64-linux-gnu.so'),
      build('aarch64-linux-gnu-gcc', C_SOURCES.plain, 'plainarm/_plain.abi3.so')
    ]
    const onX86 = await verifyLayer(layer.dir, packages, AL2023_X86)
    expect(onX86.map(f => `${f.package} ${f.kind}`)).toEqual([
      'newx86 glibc',
      'plainarm architecture'
    ])
    expect(onX86[0].message).toContain('needs GLIBC_2.36; python3.12 (Amazon Linux 2023) has 2.34')

    const onArm = await verifyLayer(layer.dir, packages, AL2_ARM)
    expect(onArm.map(f => `${f.package} ${f.kind}`)).toEqual([
      'newx86 architecture',
      'newx86 glibc',
      'newx86 python-abi',
      'oldx86 architecture',
      'oldx86 python-abi'
    ])
  })
})

describe('summarizeFindings', () => {
  it('gives one line per package and kind of problem, counting the rest', async () => {
    const layer = site({
      'numpy/a.so': arm(),
      'numpy/b.so': arm(),
      'numpy/c.so': arm(),
      'pandas/d.so': x86(['GLIBC_2.38'])
    })
    const findings = await verifyLayer(layer.dir, layer.packages, AL2023_X86)
    expect(summarizeFindings(findings)).toEqual([
      'numpy 1.0: numpy/a.so is built for aarch64; the layer targets x86_64 ' +
        '(Lambda arm64 needs aarch64, x86_64 needs x86_64) (and 2 more files)',
      'pandas 1.0: pandas/d.so needs GLIBC_2.38; python3.12 (Amazon Linux 2023) has 2.34'
    ])
  })

  it('shows the file with the newest glibc need as the example of a group', async () => {
    const layer = site({
      'scipy/a.so': x86(['GLIBC_2.28']),
      'scipy/b.so': x86(['GLIBC_2.35']),
      'scipy/c.so': x86(['GLIBC_2.29'])
    })
    const findings = await verifyLayer(layer.dir, layer.packages, AL2_X86)
    expect(summarizeFindings(findings)).toEqual([
      'scipy 1.0: scipy/b.so needs GLIBC_2.35; python3.11 (Amazon Linux 2) has 2.26 (and 2 more files)'
    ])
  })
})
