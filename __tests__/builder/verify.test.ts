import { execFileSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync
} from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  BASE_IMAGES,
  findRuntime,
  MISSING_LIBRARY_HINTS,
  RUNTIMES,
  type Architecture
} from '../../src/facts.js'
import type { Target } from '../../src/facts.js'
import type { LayerPackage } from '../../src/builder/site.js'
import { layerTree, verifiableFile } from '../../src/builder/assemble.js'
import { layoutWheel, readWheelDistribution } from '../../src/builder/layout.js'
import {
  summarizeFindings,
  verifyLayerFiles,
  type VerifyOptions
} from '../../src/builder/verify.js'
import { readWheel } from '../../src/builder/wheels.js'
import {
  C_SOURCES,
  compileSharedObject,
  CXX_SOURCES,
  makeElf32,
  makeSharedObject,
  type SharedObjectOptions
} from '../support/elf.js'
import { buildWheel } from '../support/wheels.js'

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

/**
 * verifyLayerFiles over every regular file under `dir`, each read whole into memory as the
 * build hands it the bytes it inflated from a wheel.
 */
function verifyFolder(
  dir: string,
  packages: LayerPackage[],
  target: Target,
  options: VerifyOptions = {}
) {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter(entry => entry.isFile())
    .map(entry => relative(dir, join(entry.parentPath, entry.name)))
  const layerFiles = files.map(file => ({ path: file, content: () => readFile(join(dir, file)) }))
  return verifyLayerFiles(layerFiles, packages, target, options)
}

const x86 = (glibc: string[] = ['GLIBC_2.17']) => makeSharedObject({ machine: 'x86_64', glibc })
const arm = (glibc: string[] = ['GLIBC_2.17']) => makeSharedObject({ machine: 'aarch64', glibc })

describe('verifyLayerFiles', () => {
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
    expect(await verifyFolder(layer.dir, layer.packages, AL2023_X86)).toEqual([])
  })

  it('flags an aarch64 extension in an x86_64 layer, naming package, file and both machines', async () => {
    const layer = site({ 'fastpkg/_speed.so': arm() })
    expect(await verifyFolder(layer.dir, layer.packages, AL2023_X86)).toEqual([
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
    const findings = await verifyFolder(layer.dir, layer.packages, AL2_ARM)
    expect(findings.map(f => f.message)).toEqual([
      'fastpkg 1.0: fastpkg/_speed.so is built for x86_64; the layer targets arm64 ' +
        '(Lambda arm64 needs aarch64, x86_64 needs x86_64)',
      'oldpkg 1.0: oldpkg/_legacy.so is built for i386; the layer targets arm64 ' +
        '(Lambda arm64 needs aarch64, x86_64 needs x86_64)'
    ])
  })

  it('flags 32-bit x86_64 (x32) code, which a 64-bit runtime cannot load', async () => {
    const layer = site({ 'x32pkg/_ext.so': makeSharedObject({ machine: 'x86_64', bits: 32 }) })
    const findings = await verifyFolder(layer.dir, layer.packages, AL2023_X86)
    expect(findings.map(f => f.message)).toEqual([
      'x32pkg 1.0: x32pkg/_ext.so is built for x86_64 (32-bit); the layer targets x86_64 ' +
        '(Lambda arm64 needs aarch64, x86_64 needs x86_64)'
    ])
  })

  it('finds ELF executables by their bytes, whatever their name', async () => {
    const layer = site({ 'toolpkg/bin/helper': arm(), 'toolpkg/data.bin': Buffer.alloc(100) })
    const findings = await verifyFolder(layer.dir, layer.packages, AL2023_X86)
    expect(findings.map(f => [f.file, f.kind])).toEqual([['toolpkg/bin/helper', 'architecture']])
  })

  it('flags a glibc newer than Amazon Linux 2023 provides for python3.12', async () => {
    const file = 'numpy/_core/_multiarray_umath.cpython-312-x86_64-linux-gnu.so'
    const layer = site({ [file]: x86(['GLIBC_2.17', 'GLIBC_2.35']) }, { numpy: '2.3.1' })
    expect(await verifyFolder(layer.dir, layer.packages, AL2023_X86)).toEqual([
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
    expect((await verifyFolder(layer.dir, layer.packages, AL2_ARM)).map(f => f.message)).toEqual([
      'bcrypt 4.3.0: bcrypt/_bcrypt.abi3.so needs GLIBC_2.28; python3.11 (Amazon Linux 2) has 2.26'
    ])
    expect(await verifyFolder(layer.dir, layer.packages, AL2023_ARM)).toEqual([])
  })

  it('flags an extension built for another CPython', async () => {
    const layer = site({
      'pkg/_ext.cpython-311-x86_64-linux-gnu.so': x86(),
      'pkg/_ok.cpython-312-x86_64-linux-gnu.so': x86()
    })
    expect(await verifyFolder(layer.dir, layer.packages, AL2023_X86)).toEqual([
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
    const findings = await verifyFolder(layer.dir, layer.packages, target('python3.13', 'arm64'))
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
    const findings = await verifyFolder(layer.dir, layer.packages, AL2_X86)
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
    const findings = await verifyFolder(layer.dir, layer.packages, AL2023_X86)
    expect(findings.map(f => f.kind)).toEqual(['architecture'])
  })

  it('flags a file named .so that is not ELF, saying what it is', async () => {
    const machO = Buffer.from([0xcf, 0xfa, 0xed, 0xfe, ...Buffer.alloc(60)])
    const layer = site({
      'macpkg/_core.cpython-312-darwin.so': machO,
      'textpkg/libfoo.so.1': 'INPUT(-lfoo)\n',
      'textpkg/notes.txt': 'not a binary, not named like one'
    })
    const findings = await verifyFolder(layer.dir, layer.packages, AL2023_X86)
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
    const findings = await verifyFolder(layer.dir, layer.packages, AL2023_X86)
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
    expect(await verifyFolder(layer.dir, [pkg], AL2023_X86)).toEqual([])

    truncateSync(file, statSync(file).size - 100)

    const findings = await verifyFolder(layer.dir, [pkg], AL2023_X86)
    expect(findings.map(f => f.kind)).toEqual(['unreadable'])
    expect(findings[0].message).toMatch(
      /^native 2\.0: native\/_ext\.cpython-312-x86_64-linux-gnu\.so cannot be read whole: truncated ELF \(section headers end at byte \d+, the file has \d+\); it would fail to load on Lambda$/
    )
  })

  it('attributes files no package owns to (unknown)', async () => {
    const layer = site({ 'unowned/stray.so': arm() })
    const [finding] = await verifyFolder(layer.dir, layer.packages, AL2023_X86)
    expect(finding).toMatchObject({ package: '(unknown)', version: '', file: 'unowned/stray.so' })
    expect(finding.message).toMatch(/^\(unknown\): unowned\/stray\.so is built for aarch64;/)
  })

  it('sorts findings by package, then file, the same way on every run', async () => {
    const files: Record<string, Buffer> = {}
    for (const pkg of ['zeta', 'alpha', 'Mid']) {
      for (let i = 0; i < 30; i++) files[`${pkg}/m${i}/_ext.so`] = arm(['GLIBC_2.39'])
    }
    const layer = site(files)
    const first = await verifyFolder(layer.dir, layer.packages.reverse(), AL2023_X86)
    expect(first).toHaveLength(180)
    const keys = first.map(f => `${f.package} ${f.file} ${f.kind}`)
    expect(keys).toEqual([...keys].sort())
    expect(first[0]).toMatchObject({ package: 'Mid', file: 'Mid/m0/_ext.so', kind: 'architecture' })
    expect(await verifyFolder(layer.dir, layer.packages, AL2023_X86)).toEqual(first)
  })
})

describe('verifyLayerFiles on shared objects built by gcc', () => {
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
    const onX86 = await verifyFolder(layer.dir, packages, AL2023_X86)
    expect(onX86.map(f => `${f.package} ${f.kind}`)).toEqual([
      'newx86 glibc',
      'plainarm architecture'
    ])
    expect(onX86[0].message).toContain('needs GLIBC_2.36; python3.12 (Amazon Linux 2023) has 2.34')

    const onArm = await verifyFolder(layer.dir, packages, AL2_ARM)
    expect(onArm.map(f => `${f.package} ${f.kind}`)).toEqual([
      'newx86 architecture',
      'newx86 glibc',
      'newx86 python-abi',
      'oldx86 architecture',
      'oldx86 python-abi'
    ])
  })
})

/** An x86_64 (or aarch64) fixture needing GLIBC_2.17 and whatever `opts` add. */
const linked = (opts: Partial<SharedObjectOptions> = {}) =>
  makeSharedObject({ machine: 'x86_64', glibc: ['GLIBC_2.17'], ...opts })
const linkedArm = (opts: Partial<SharedObjectOptions> = {}) =>
  linked({ machine: 'aarch64', ...opts })

/** verifyFolder with `libraryFiles` shipped under lib/, collecting its warnings. */
async function verifyWithWarnings(
  layer: ReturnType<typeof site>,
  target: Target,
  libraryFiles: string[] = []
) {
  const warnings: string[] = []
  const findings = await verifyFolder(layer.dir, layer.packages, target, {
    libraryFiles,
    onWarning: message => warnings.push(message)
  })
  return { findings, warnings }
}

describe('the link check', () => {
  it('fails an extension needing libpq.so.5, naming package, file, library and the wheel to use', async () => {
    const file = 'psycopg2/_psycopg.cpython-312-x86_64-linux-gnu.so'
    const layer = site({ [file]: linked({ needed: ['libpq.so.5'] }) }, { psycopg2: '2.9.10' })
    const { findings, warnings } = await verifyWithWarnings(layer, AL2023_X86)
    expect(findings).toEqual([
      {
        package: 'psycopg2',
        version: '2.9.10',
        file,
        kind: 'library',
        message:
          `psycopg2 2.9.10: ${file} needs libpq.so.5, which is neither in the layer nor on ` +
          "python3.12 (Amazon Linux 2023); PostgreSQL's client library: use psycopg2-binary " +
          'or psycopg[binary], whose wheels bundle it'
      }
    ])
    expect(warnings).toEqual([])
  })

  it('fails the GUI build of OpenCV on libGL.so.1 on arm64 Amazon Linux 2, pointing to the headless one', async () => {
    const layer = site({ 'cv2/cv2.abi3.so': linkedArm({ needed: ['libGL.so.1', 'libz.so.1'] }) })
    const { findings } = await verifyWithWarnings(layer, AL2_ARM)
    expect(summarizeFindings(findings)).toEqual([
      'cv2 1.0: cv2/cv2.abi3.so needs libGL.so.1, which is neither in the layer nor on python3.11 ' +
        "(Amazon Linux 2); OpenCV's GUI build needs it: use opencv-python-headless instead of opencv-python"
    ])
  })

  it('fails GLib on Amazon Linux 2, which lacks it, but not on Amazon Linux 2023, which has it', async () => {
    const layer = site({ 'cv2/cv2.abi3.so': linked({ needed: ['libgthread-2.0.so.0'] }) })
    expect((await verifyWithWarnings(layer, AL2_X86)).findings.map(f => f.kind)).toEqual([
      'library'
    ])
    expect(await verifyWithWarnings(layer, AL2023_X86)).toEqual({ findings: [], warnings: [] })
  })

  it("finds a library auditwheel bundled in <dist>.libs/ through the extension's $ORIGIN RUNPATH", async () => {
    const bundled = 'libopenblas64_p-r0-0cf96a72.3.23.dev.so'
    const files = {
      'numpy/_core/_multiarray_umath.cpython-312-x86_64-linux-gnu.so': linked({
        needed: [bundled, 'libm.so.6'],
        runpath: '$ORIGIN/../../numpy.libs'
      }),
      [`numpy.libs/${bundled}`]: linked({ soname: bundled })
    }
    expect(await verifyWithWarnings(site(files), AL2023_X86)).toEqual({
      findings: [],
      warnings: []
    })
  })

  it("finds libraries through ${ORIGIN}, RPATH, an absolute /opt/python path and another object's SONAME", async () => {
    const layer = site({
      'pkg/_a.so': linked({ needed: ['libnear.so.1'], rpath: '${ORIGIN}' }),
      'pkg/libnear.so.1': linked(),
      'pkg/_b.so': linked({ needed: ['libvendor.so.3'], runpath: '/opt/python/pkg/vendor' }),
      'pkg/vendor/libvendor.so.3': linked(),
      // loaded first by _a.so's RUNPATH; _c.so then gets the loaded copy by its SONAME
      'pkg/_c.so': linked({ needed: ['libshared.so.2'] }),
      'pkg/.libs/libshared-1a2b3c.so.2': linked({ soname: 'libshared.so.2' })
    })
    expect(await verifyWithWarnings(layer, AL2023_X86)).toEqual({ findings: [], warnings: [] })
  })

  it("counts a library in the layer's lib/ folder (/opt/lib), even one the image lacks", async () => {
    const layer = site({ 'psycopg2/_psycopg.so': linked({ needed: ['libpq.so.5'] }) })
    const withLib = await verifyWithWarnings(layer, AL2023_X86, ['libpq.so.5'])
    expect(withLib).toEqual({ findings: [], warnings: [] })
  })

  it('counts a library in a subfolder of lib/ only for an object whose RUNPATH names it', async () => {
    const pinned = site({
      'pg/_a.so': linked({ needed: ['libpq.so.5'], runpath: '/opt/lib/postgres' })
    })
    expect(await verifyWithWarnings(pinned, AL2023_X86, ['postgres/libpq.so.5'])).toEqual({
      findings: [],
      warnings: []
    })
    // /opt/lib/postgres is not on LD_LIBRARY_PATH: without the RUNPATH the loader never looks
    const plain = site({ 'pg/_a.so': linked({ needed: ['libpq.so.5'] }) })
    const { findings } = await verifyWithWarnings(plain, AL2023_X86, ['postgres/libpq.so.5'])
    expect(findings.map(f => `${f.file} ${f.kind}`)).toEqual(['pg/_a.so library'])
  })

  it('warns once per package about libraries nobody is known to provide, and never fails for them', async () => {
    const layer = site(
      {
        'geo/_a.so': linked({ needed: ['libgeos_c.so.1'] }),
        'geo/_b.so': linked({ needed: ['libgeos_c.so.1', 'libproj.so.25'] }),
        'geo/_c.so': linked({ needed: ['libgeos_c.so.1'] }),
        'other/_d.so': linked({ needed: ['libfoo.so'] })
      },
      { geo: '3.1' }
    )
    const { findings, warnings } = await verifyWithWarnings(layer, AL2023_X86)
    expect(findings).toEqual([])
    expect(warnings).toEqual([
      'geo 3.1: libgeos_c.so.1 (geo/_a.so and 2 more files), libproj.so.25 (geo/_b.so) are not in ' +
        'the layer, and python3.12 (Amazon Linux 2023) is not known to provide them: the import ' +
        'fails unless the function or another of its layers brings them',
      'other 1.0: libfoo.so (other/_d.so) is not in the layer, and python3.12 (Amazon Linux 2023) ' +
        'is not known to provide it: the import fails unless the function or another of its layers brings it'
    ])
  })

  it('names five packages at most in warnings, counting the rest', async () => {
    const files = Object.fromEntries(
      ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map(p => [
        `${p}/_x.so`,
        linked({ needed: ['libodd.so.1'] })
      ])
    )
    const { warnings } = await verifyWithWarnings(site(files), AL2023_X86)
    expect(warnings).toHaveLength(5)
    expect(warnings[4]).toBe(
      '3 more packages need libraries that are not in the layer (e 1.0, f 1.0, g 1.0)'
    )
  })

  it('fails a C++ object needing a newer GLIBCXX_ than Amazon Linux 2 has, and passes it on Amazon Linux 2023', async () => {
    const file = 'fastcxx/_ext.cpython-311-x86_64-linux-gnu.so'
    const cxx = linked({
      needs: {
        'libstdc++.so.6': ['GLIBCXX_3.4.21', 'GLIBCXX_3.4.29', 'CXXABI_1.3.13', 'CXXABI_1.3'],
        'libgcc_s.so.1': ['GCC_3.0']
      }
    })
    const layer = site({ [file]: cxx }, { fastcxx: '1.2' })
    expect((await verifyWithWarnings(layer, AL2_X86)).findings).toEqual([
      {
        package: 'fastcxx',
        version: '1.2',
        file,
        kind: 'c++-runtime',
        message:
          `fastcxx 1.2: ${file} needs GLIBCXX_3.4.29 (libstdc++.so.6), CXXABI_1.3.13 (libstdc++.so.6); ` +
          "python3.11 (Amazon Linux 2) has gcc 7's, up to GLIBCXX_3.4.24, CXXABI_1.3.11: it was " +
          'built with a newer compiler than manylinux wheels use; use a manylinux wheel, or ' +
          'python3.12+ (Amazon Linux 2023, gcc 11)'
      }
    ])
    const on2023 = site({ [file.replace('311', '312')]: cxx })
    expect(await verifyWithWarnings(on2023, AL2023_X86)).toEqual({ findings: [], warnings: [] })
  })

  it('compares GCC_ needs with libgcc_s per generation: GCC_11.0 fits aarch64 on 2023, GCC_12.0.0 does not', async () => {
    const layer = site({
      'ok/_a.so': linkedArm({ needs: { 'libgcc_s.so.1': ['GCC_11.0'] } }),
      'new/_b.so': linkedArm({ needs: { 'libgcc_s.so.1': ['GCC_12.0.0'] } })
    })
    const { findings } = await verifyWithWarnings(layer, AL2023_ARM)
    expect(findings.map(f => [f.file, f.kind])).toEqual([['new/_b.so', 'c++-runtime']])
    expect(findings[0].message).toContain(
      "needs GCC_12.0.0 (libgcc_s.so.1); python3.12 (Amazon Linux 2023) has gcc 11's, up to GCC_11.0: "
    )
  })

  it("checks the image's libstdc++ even with a newer copy in lib/, which Lambda's loader reaches too late", async () => {
    const cxx = linked({ needs: { 'libstdc++.so.6': ['GLIBCXX_3.4.32'] } })
    const layer = site({ 'cxx/_ext.so': cxx })
    const { findings } = await verifyWithWarnings(layer, AL2023_X86, ['libstdc++.so.6'])
    expect(findings.map(f => f.kind)).toEqual(['c++-runtime'])
    // an RPATH (not RUNPATH) is searched before LD_LIBRARY_PATH: its copy is the one loaded
    const pinned = site({
      'cxx/_ext.so': linked({ needs: { 'libstdc++.so.6': ['GLIBCXX_3.4.32'] }, rpath: '$ORIGIN' }),
      'cxx/libstdc++.so.6': linked()
    })
    expect(await verifyWithWarnings(pinned, AL2023_X86)).toEqual({ findings: [], warnings: [] })
  })

  it('takes a DT_NEEDED with a slash as a path: absolute under /opt/python resolves, relative does not', async () => {
    const layer = site({
      'pkg/_a.so': linked({ needed: ['/opt/python/pkg/vendor/libabs.so.1'] }),
      'pkg/vendor/libabs.so.1': linked(),
      'other/_b.so': linked({ needed: ['vendor/librel.so.1'] }),
      'other/vendor/librel.so.1': linked()
    })
    const { findings, warnings } = await verifyWithWarnings(layer, AL2023_X86)
    expect(findings).toEqual([])
    expect(warnings).toEqual([
      expect.stringMatching(/^other 1\.0: vendor\/librel\.so\.1 \(other\/_b\.so\)/)
    ])
  })

  it('shows a hostile library name with its control characters replaced and its length cut', async () => {
    const hostile = `libevil\n::error::forged${'x'.repeat(1000)}.so`
    const layer = site({ 'evil/_x.so': linked({ needed: [hostile] }) })
    const { warnings } = await verifyWithWarnings(layer, AL2023_X86)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).not.toContain('\n')
    expect(warnings[0]).toContain(`libevil?::error::forged${'x'.repeat(255 - 23)}… (evil/_x.so)`)
  })

  it('leaves the libraries of an object built for the other machine to the architecture finding', async () => {
    const layer = site({ 'pg/_pq.so': linkedArm({ needed: ['libpq.so.5'] }) })
    const { findings } = await verifyWithWarnings(layer, AL2023_X86)
    expect(findings.map(f => f.kind)).toEqual(['architecture'])
  })
})

describe('the base-image table the link check reads', () => {
  it('covers every runtime, and never lists a library as both provided and absent', () => {
    for (const runtime of RUNTIMES) {
      const image = BASE_IMAGES[runtime.os]
      expect(image, runtime.name).toBeDefined()
      expect(
        image.libraries.filter(l => image.absent.includes(l)),
        runtime.os
      ).toEqual([])
    }
  })

  it('gives hints only for libraries some generation is known to lack', () => {
    const absent = new Set(Object.values(BASE_IMAGES).flatMap(image => image.absent))
    expect(Object.keys(MISSING_LIBRARY_HINTS).filter(l => !absent.has(l))).toEqual([])
  })
})

describe('the link check on objects built by gcc and g++', () => {
  // each test its own layer, so one test's objects never show in another's findings
  const build = (
    layer: ReturnType<typeof site>,
    compiler: 'g++' | 'gcc' | 'aarch64-linux-gnu-gcc',
    source: string,
    file: string,
    args: string[] = []
  ) => {
    mkdirSync(dirname(join(layer.dir, file)), { recursive: true })
    compileSharedObject(compiler, source, join(layer.dir, file), args)
    rmSync(join(layer.dir, `${file}.c`))
    return { name: file.split('/')[0], version: '0.1', requested: true, files: [file], bytes: 0 }
  }

  it('fails std::to_chars(double) (GLIBCXX_3.4.29) on python3.11 but not a C++11 string', async () => {
    const layer = site({})
    const packages = [
      build(layer, 'g++', CXX_SOURCES.toCharsDouble, 'newcxx/_ext.so'),
      build(layer, 'g++', CXX_SOURCES.cxx11String, 'oldcxx/_ext.so')
    ]
    const onAl2 = await verifyFolder(layer.dir, packages, AL2_X86)
    expect(onAl2.map(f => [f.package, f.kind])).toEqual([['newcxx', 'c++-runtime']])
    expect(onAl2[0].message).toContain('needs GLIBCXX_3.4.29 (libstdc++.so.6)')
    expect(await verifyFolder(layer.dir, packages, AL2023_X86)).toEqual([])
  })

  it('checks an aarch64 layer on this x86_64 machine: a bundled library via $ORIGIN passes, libpq fails', async () => {
    const layer = site({})
    const bundled = build(
      layer,
      'aarch64-linux-gnu-gcc',
      C_SOURCES.usesLibm,
      'armpkg.libs/libdemo-1a2b.so.1',
      ['-lm', '-Wl,-soname,libdemo-1a2b.so.1']
    )
    const ext = build(layer, 'aarch64-linux-gnu-gcc', C_SOURCES.plain, 'armpkg/_ext.abi3.so')
    const extPath = join(layer.dir, ext.files[0])
    execFileSync('patchelf', [
      '--add-needed',
      'libdemo-1a2b.so.1',
      '--set-rpath',
      '$ORIGIN/../armpkg.libs',
      extPath
    ])
    const pkg = { ...ext, files: [...ext.files, ...bundled.files] }
    expect(await verifyFolder(layer.dir, [pkg], AL2023_ARM)).toEqual([])

    execFileSync('patchelf', ['--add-needed', 'libpq.so.5', extPath])
    const findings = await verifyFolder(layer.dir, [pkg], AL2023_ARM)
    expect(findings.map(f => f.message)).toEqual([
      'armpkg 0.1: armpkg/_ext.abi3.so needs libpq.so.5, which is neither in the layer nor on ' +
        "python3.12 (Amazon Linux 2023); PostgreSQL's client library: use psycopg2-binary or " +
        'psycopg[binary], whose wheels bundle it'
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
    const findings = await verifyFolder(layer.dir, layer.packages, AL2023_X86)
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
    const findings = await verifyFolder(layer.dir, layer.packages, AL2_X86)
    expect(summarizeFindings(findings)).toEqual([
      'scipy 1.0: scipy/b.so needs GLIBC_2.35; python3.11 (Amazon Linux 2) has 2.26 (and 2 more files)'
    ])
  })
})

describe('verifyLayerFiles on a shared object too big to hold in memory', () => {
  // the limit is lowered through the option: a 200 MB object would make a slow test
  const LIMIT = 64 * 1024
  const padded = (opts: SharedObjectOptions) => makeSharedObject({ ...opts, padTo: 4 * LIMIT })
  const OBJECTS: Record<string, Buffer> = {
    'big/_ok.cpython-312-x86_64-linux-gnu.so': padded({ machine: 'x86_64', glibc: ['GLIBC_2.17'] }),
    'big/_arm.cpython-312-x86_64-linux-gnu.so': padded({
      machine: 'aarch64',
      glibc: ['GLIBC_2.17']
    }),
    'big/_new.cpython-312-x86_64-linux-gnu.so': padded({
      machine: 'x86_64',
      glibc: ['GLIBC_2.38']
    }),
    'big/libfake.so': Buffer.concat([Buffer.from('MZ'), Buffer.alloc(4 * LIMIT)])
  }

  /** The wheel's layer files, with the CRC of `corrupt` (if any) changed in both its headers. */
  async function wheelFiles(corrupt?: string) {
    const dir = mkdtempSync(join(tmpdir(), 'verify-big-'))
    dirs.push(dir)
    let bytes = buildWheel({ name: 'big', version: '1.0', files: OBJECTS }).bytes
    if (corrupt) bytes = withCrcChanged(bytes, corrupt)
    const file = join(dir, 'big-1.0-py3-none-any.whl')
    writeFileSync(file, bytes)
    const wheel = readWheel(file)
    const files = await layoutWheel(wheel, await readWheelDistribution(wheel), {
      pipRequested: true,
      scripts: false
    })
    const packages: LayerPackage[] = [
      { name: 'big', version: '1.0', requested: true, files: files.map(f => f.path), bytes: 0 }
    ]
    return { dir, files, packages }
  }

  function withCrcChanged(zip: Buffer, name: string): Buffer {
    const copy = Buffer.from(zip)
    const needle = Buffer.from(name)
    for (let at = copy.indexOf(needle); at !== -1; at = copy.indexOf(needle, at + 1)) {
      if (at >= 30 && copy.readUInt32LE(at - 30) === 0x04034b50) copy[at - 30 + 14] ^= 0xff
      if (at >= 46 && copy.readUInt32LE(at - 46) === 0x02014b50) copy[at - 46 + 16] ^= 0xff
    }
    return copy
  }

  async function verifyWith(inMemoryLimit: number, corrupt?: string) {
    const { dir, files, packages } = await wheelFiles(corrupt)
    const spillDir = join(dir, 'spill')
    const findings = await verifyLayerFiles(
      files.map(file => verifiableFile(file, { spillDir })),
      packages,
      AL2023_X86,
      { inMemoryLimit }
    )
    return { findings, spillDir }
  }

  it('finds exactly the architecture, glibc and not-ELF problems it finds in memory, and leaves no spill file', async () => {
    const inMemory = await verifyWith(Number.MAX_SAFE_INTEGER)
    const onDisk = await verifyWith(LIMIT)
    expect(onDisk.findings).toEqual(inMemory.findings)
    expect(onDisk.findings.map(f => [f.file, f.kind])).toEqual([
      ['big/_arm.cpython-312-x86_64-linux-gnu.so', 'architecture'],
      ['big/_new.cpython-312-x86_64-linux-gnu.so', 'glibc'],
      ['big/libfake.so', 'not-elf']
    ])
    expect(onDisk.findings[2].message).toContain('(a Windows PE binary)')
    expect(readdirSync(onDisk.spillDir)).toEqual([])
  })

  it('refuses an object whose CRC does not match, as in memory, naming wheel and entry', async () => {
    const name = 'big/_ok.cpython-312-x86_64-linux-gnu.so'
    const message = `big-1.0-py3-none-any.whl: ${name} does not match its CRC or size when inflated`
    await expect(verifyWith(Number.MAX_SAFE_INTEGER, name)).rejects.toThrow(message)
    await expect(verifyWith(LIMIT, name)).rejects.toThrow(message)
  })

  it("writes a big object into the import check's tree, whole, instead of a spill file", async () => {
    const { dir, files, packages } = await wheelFiles()
    const tree = layerTree(join(dir, 'python'))
    const spillDir = join(dir, 'spill')
    await verifyLayerFiles(
      files.map(file => verifiableFile(file, { tree, spillDir })),
      packages,
      AL2023_X86,
      { inMemoryLimit: LIMIT }
    )
    await tree.written()
    for (const [name, bytes] of Object.entries(OBJECTS)) {
      expect(readFileSync(join(dir, 'python', name)).equals(bytes)).toBe(true)
    }
    expect(existsSync(spillDir)).toBe(false)
  })

  it("reports a tree file that could not be written once the tree's writes are awaited", async () => {
    const { dir, files, packages } = await wheelFiles()
    // the tree's folder is a file: every write under it fails
    writeFileSync(join(dir, 'python'), 'not a folder')
    const tree = layerTree(join(dir, 'python'))
    await verifyLayerFiles(
      files.map(file => verifiableFile(file, { tree, spillDir: join(dir, 'spill') })),
      packages,
      AL2023_X86
    ).catch(() => undefined)
    await expect(tree.written()).rejects.toThrow(/ENOTDIR|EEXIST/)
  })
})
