// The link check end to end: the bundled action (dist/index.js) on Node 24, real pip against a
// loopback index of wheels whose shared objects name libraries (DT_NEEDED), search paths
// ($ORIGIN RUNPATH) and libstdc++ versions. The import check is off throughout: what is proved
// here needs no interpreter, so it holds for arm64 layers built on this x86_64 machine too.
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { annotationLocations, failure, runAction, type ActionRun } from '../support/action.js'
import {
  C_SOURCES,
  compileSharedObject,
  CXX_SOURCES,
  makeSharedObject,
  type SharedObjectOptions
} from '../support/elf.js'
import { startIndex, type PackageIndex } from '../support/index-server.js'
import { buildWheel } from '../support/wheels.js'

const X86_TAG = 'cp310-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64'
const ARM_TAG = 'cp310-abi3-manylinux_2_17_aarch64.manylinux2014_aarch64'

let index: PackageIndex

const x86 = (opts: Partial<SharedObjectOptions> = {}) =>
  makeSharedObject({ machine: 'x86_64', glibc: ['GLIBC_2.17'], ...opts })

/** A real object: compiled here, then given extra DT_NEEDED entries by patchelf. */
async function compiled(
  compiler: 'g++' | 'aarch64-linux-gnu-gcc',
  source: string,
  addNeeded: string[] = []
): Promise<Buffer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'link-check-so-'))
  const file = compileSharedObject(compiler, source, path.join(dir, 'ext.so'))
  for (const library of addNeeded) execFileSync('patchelf', ['--add-needed', library, file])
  return readFile(file)
}

function wheel(name: string, tag: string, files: Record<string, Buffer>) {
  return buildWheel({
    name,
    version: '1.0.0',
    tag,
    requiresPython: '>=3.10',
    files: { [`${name}/__init__.py`]: '', ...files }
  })
}

beforeAll(async () => {
  const bundled = 'libgreet-5f3a9c1e.so.1'
  index = await startIndex([
    // psycopg2 built from source: its extension links the system's libpq
    wheel('pgsource', X86_TAG, {
      'pgsource/_psycopg.abi3.so': x86({ needed: ['libpq.so.5'] })
    }),
    // the same, linked with -Wl,-rpath,/opt/lib/postgres: it looks in a subfolder of the layer's lib/
    wheel('pgpinned', X86_TAG, {
      'pgpinned/_psycopg.abi3.so': x86({ needed: ['libpq.so.5'], runpath: '/opt/lib/postgres' })
    }),
    // what auditwheel repair makes: the library renamed into <dist>.libs/, found via $ORIGIN
    wheel('bundled', X86_TAG, {
      'bundled/_ext.abi3.so': x86({ needed: [bundled], runpath: '$ORIGIN/../bundled.libs' }),
      [`bundled.libs/${bundled}`]: x86({ soname: bundled })
    }),
    wheel('oddlib', X86_TAG, {
      'oddlib/_ext.abi3.so': x86({ needed: ['libodd-vendor.so.7'] })
    }),
    // std::to_chars(double): GLIBCXX_3.4.29, from gcc 11
    wheel('cxxfast', X86_TAG, {
      'cxxfast/_render.abi3.so': await compiled('g++', CXX_SOURCES.toCharsDouble)
    }),
    // opencv-python, the GUI build, on arm64
    wheel('armgui', ARM_TAG, {
      'armgui/_cv.abi3.so': await compiled('aarch64-linux-gnu-gcc', C_SOURCES.plain, ['libGL.so.1'])
    })
  ])
})
afterAll(async () => {
  await index?.close()
})

async function build(
  requirements: string,
  inputs: Record<string, string> = {},
  workspaceFiles: Record<string, Buffer> = {}
): Promise<ActionRun> {
  const project = await mkdtemp(path.join(os.tmpdir(), 'project-'))
  await writeFile(path.join(project, 'requirements.txt'), requirements)
  for (const [file, bytes] of Object.entries(workspaceFiles)) {
    await mkdir(path.dirname(path.join(project, file)), { recursive: true })
    await writeFile(path.join(project, file), bytes)
  }
  return runAction(
    {
      publish: 'false',
      'index-url': index.url,
      runtime: 'python3.12',
      'import-check': 'false',
      ...inputs
    },
    { cwd: project }
  )
}

function zipNames(zipPath: string): string[] {
  return execFileSync('unzip', ['-Z1', zipPath], { encoding: 'utf8' }).trim().split('\n')
}

describe('the link check, with no interpreter', () => {
  it('fails an extension needing libpq.so.5, naming package, file and library, at the requirement', async () => {
    const run = await build('pgsource\n')
    expect(run.exitCode, run.stdout).toBe(1)
    expect(failure(run)).toContain(
      'pgsource 1.0.0: pgsource/_psycopg.abi3.so needs libpq.so.5, which is neither in the layer ' +
        "nor on python3.12 (Amazon Linux 2023); PostgreSQL's client library: use psycopg2-binary " +
        'or psycopg[binary], whose wheels bundle it'
    )
    expect(failure(run)).toMatch(/^verification failed: the layer will not load on python3.12/)
    expect(annotationLocations(run.stdout, 'error')[0]).toBe('file=requirements.txt,line=1')
  })

  it('passes the same extension once the files input ships libpq.so.5 under lib/ (/opt/lib)', async () => {
    const libpq = { 'vendor/libpq.so.5': x86({ soname: 'libpq.so.5' }) }
    const without = await build('pgsource\n', {}, libpq)
    expect(without.exitCode, without.stdout).toBe(1)
    expect(failure(without)).toContain(
      'pgsource 1.0.0: pgsource/_psycopg.abi3.so needs libpq.so.5, which is neither in the layer'
    )
    const run = await build('pgsource\n', { files: 'vendor/libpq.so.5 -> lib/' }, libpq)
    expect(run.exitCode, failure(run)).toBe(0)
    expect(run.warnings.filter(w => w.includes('libpq'))).toEqual([])
    expect(zipNames(run.outputs['zip-path'])).toEqual(
      expect.arrayContaining(['python/pgsource/_psycopg.abi3.so', 'lib/libpq.so.5'])
    )
  })

  it('counts a library the files input puts in a subfolder of lib/ only where a RUNPATH leads', async () => {
    const libpq = { 'vendor/libpq.so.5': x86({ soname: 'libpq.so.5' }) }
    const files = 'vendor/libpq.so.5 -> lib/postgres/'
    const pinned = await build('pgpinned\n', { files }, libpq)
    expect(pinned.exitCode, failure(pinned)).toBe(0)
    expect(zipNames(pinned.outputs['zip-path'])).toContain('lib/postgres/libpq.so.5')
    // /opt/lib/postgres is not on LD_LIBRARY_PATH: an extension without the RUNPATH misses it
    const plain = await build('pgsource\n', { files }, libpq)
    expect(plain.exitCode, plain.stdout).toBe(1)
    expect(failure(plain)).toContain('pgsource/_psycopg.abi3.so needs libpq.so.5')
  })

  it('passes an extension that finds its bundled library in <dist>.libs/ through $ORIGIN', async () => {
    const run = await build('bundled\n')
    expect(run.exitCode, run.stdout).toBe(0)
    expect(run.warnings.filter(w => w.includes('libgreet'))).toEqual([])
    expect(zipNames(run.outputs['zip-path'])).toEqual(
      expect.arrayContaining([
        'python/bundled/_ext.abi3.so',
        'python/bundled.libs/libgreet-5f3a9c1e.so.1'
      ])
    )
  })

  it('builds with a warning at the requirement when an extension needs a library the fact table does not know', async () => {
    const run = await build('oddlib\n')
    expect(run.exitCode, run.stdout).toBe(0)
    expect(run.warnings).toContain(
      'oddlib 1.0.0: libodd-vendor.so.7 (oddlib/_ext.abi3.so) is not in the layer, and python3.12 ' +
        '(Amazon Linux 2023) is not known to provide it: the import fails unless the function or ' +
        'another of its layers brings it'
    )
    expect(annotationLocations(run.stdout, 'warning')).toContain('file=requirements.txt,line=1')
  })

  it('fails a C++ extension needing GLIBCXX_3.4.29 on python3.11, and builds it for python3.12', async () => {
    const old = await build('cxxfast\n', { runtime: 'python3.11' })
    expect(old.exitCode, old.stdout).toBe(1)
    expect(failure(old)).toContain(
      "cxxfast 1.0.0: cxxfast/_render.abi3.so needs GLIBCXX_3.4.29 (libstdc++.so.6); python3.11 (Amazon Linux 2) has gcc 7's, up to GLIBCXX_3.4.24"
    )
    const current = await build('cxxfast\n', { runtime: 'python3.12' })
    expect(current.exitCode, current.stdout).toBe(0)
  })

  it('checks an arm64 layer built on this x86_64 machine: OpenCV’s GUI build fails on libGL.so.1', async () => {
    expect(os.arch()).toBe('x64')
    const run = await build('armgui\n', { architecture: 'arm64' })
    expect(run.exitCode, run.stdout).toBe(1)
    expect(failure(run)).toContain(
      'armgui 1.0.0: armgui/_cv.abi3.so needs libGL.so.1, which is neither in the layer nor on ' +
        "python3.12 (Amazon Linux 2023); OpenCV's GUI build needs it: use opencv-python-headless " +
        'instead of opencv-python'
    )
  })
})
