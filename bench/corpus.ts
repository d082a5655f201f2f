// The benchmark's package world, made offline from Debian's own python3-* packages: each
// project's .debs are downloaded with apt-get, unpacked with dpkg-deb and re-packed as a real
// wheel (proper tags, METADATA with Requires-Dist mapped from Debian's Depends, RECORD), so
// real pip resolves and installs real numpy/scipy/pandas-sized trees from a local PEP 503
// index. Shared libraries a PyPI wheel would bundle (OpenBLAS, gfortran) are copied into a
// `<project>.libs/` folder and found through an $ORIGIN rpath, the way auditwheel does it.
//
// Run alone: `tsx bench/corpus.ts` builds (or reuses) bench/out/corpus and prints its size.

import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { buildWheel, filenameName, type Distribution } from '../__tests__/support/wheels.js'

const run = promisify(execFile)

/** Debian bookworm's python3 is 3.11, so every extension module is cpython-311 x86_64. */
export const CORPUS_PYTHON = '3.11'
export const NATIVE_TAG = 'cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64'
const PURE_TAG = 'py3-none-any'

export interface CorpusProject {
  /** The project name as PyPI spells it. */
  name: string
  /** Debian packages whose dist-packages files make up the wheel. */
  debs: string[]
  /** Debian library packages to bundle into `<name>.libs/` when an extension module needs them. */
  libDebs?: string[]
}

// OpenBLAS as Debian ships it: libblas.so.3 and liblapack.so.3 are thin front ends that load
// libopenblas.so.0; all three plus gfortran/quadmath end up in numpy.libs and scipy.libs, as
// PyPI's own numpy and scipy wheels each carry their own OpenBLAS copy.
const BLAS = ['libopenblas0-pthread', 'libgfortran5', 'libquadmath0']

/** The projects of issue 4's measurement (numpy, scipy, pandas, SQLAlchemy, requests, pydantic) and their dependencies. */
export const CORPUS_PROJECTS: CorpusProject[] = [
  { name: 'numpy', debs: ['python3-numpy'], libDebs: BLAS },
  { name: 'scipy', debs: ['python3-scipy'], libDebs: ['liblbfgsb0', ...BLAS] },
  { name: 'decorator', debs: ['python3-decorator'] },
  { name: 'pandas', debs: ['python3-pandas', 'python3-pandas-lib'] },
  { name: 'python-dateutil', debs: ['python3-dateutil'] },
  { name: 'pytz', debs: ['python3-tz'] },
  { name: 'six', debs: ['python3-six'] },
  { name: 'SQLAlchemy', debs: ['python3-sqlalchemy', 'python3-sqlalchemy-ext'] },
  { name: 'greenlet', debs: ['python3-greenlet'] },
  { name: 'requests', debs: ['python3-requests'] },
  { name: 'urllib3', debs: ['python3-urllib3'] },
  { name: 'idna', debs: ['python3-idna'] },
  { name: 'charset-normalizer', debs: ['python3-charset-normalizer'] },
  { name: 'chardet', debs: ['python3-chardet'] },
  { name: 'certifi', debs: ['python3-certifi'] },
  { name: 'pydantic', debs: ['python3-pydantic'] },
  { name: 'typing-extensions', debs: ['python3-typing-extensions'] }
]

/** What a user would write: the top-level projects, unpinned, as in the blog post. */
export const CORPUS_REQUIREMENTS = [
  'numpy',
  'scipy',
  'pandas',
  'SQLAlchemy',
  'requests',
  'pydantic'
]

/** Bumped whenever the way wheels are made changes, so a cached corpus is rebuilt. */
const CORPUS_FORMAT = 2
const DIST_PACKAGES = 'usr/lib/python3/dist-packages'
/** Libraries every manylinux2014 system provides; never bundled (PEP 599). */
const MANYLINUX_SYSTEM_LIBS =
  /^(libc|libm|libdl|librt|libpthread|libgcc_s|libstdc\+\+|libnsl|libutil|libresolv|libcrypt|libz|libexpat|ld-linux-x86-64)\.so/

export interface CorpusWheel {
  project: string
  version: string
  filename: string
  tag: string
  requires: string[]
  /** Debian packages and versions it was made from. */
  debs: string[]
  /** Shared libraries copied into `<project>.libs/`. */
  bundled: string[]
  files: number
  /** Bytes of all files once installed (before pip compiles any .pyc). */
  installedBytes: number
}

export interface CorpusManifest {
  format: number
  key: string
  wheelsDir: string
  wheels: CorpusWheel[]
  requirements: string[]
}

export interface CorpusOptions {
  /** Where .debs, unpacked trees and wheels go; default bench/out/corpus. */
  dir?: string
  log?: (line: string) => void
}

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url))
export const OUT_DIR = path.join(BENCH_DIR, 'out')

/** Builds the wheels (or reuses them when the recipe has not changed) and returns what they are. */
export async function buildCorpus(options: CorpusOptions = {}): Promise<CorpusManifest> {
  const dir = options.dir ?? path.join(OUT_DIR, 'corpus')
  const log = options.log ?? (() => {})
  const key = createHash('sha256')
    .update(JSON.stringify({ CORPUS_FORMAT, CORPUS_PROJECTS, CORPUS_REQUIREMENTS }))
    .digest('hex')
    .slice(0, 16)
  const manifestFile = path.join(dir, 'manifest.json')
  const cached = await readManifest(manifestFile)
  if (
    cached?.key === key &&
    cached.wheels.every(w => existsSync(path.join(cached.wheelsDir, w.filename)))
  ) {
    log(
      `corpus: reusing ${cached.wheels.length} wheels in ${path.relative(process.cwd(), cached.wheelsDir)}`
    )
    return cached
  }
  await requireTools()

  const debDir = path.join(dir, 'debs')
  const debs = await downloadDebs(
    debDir,
    CORPUS_PROJECTS.flatMap(p => [...p.debs, ...(p.libDebs ?? [])]),
    log
  )
  const extractDir = path.join(dir, 'unpacked')
  const stageDir = path.join(dir, 'stage')
  const wheelsDir = path.join(dir, 'wheels')
  await fs.rm(extractDir, { recursive: true, force: true })
  await fs.rm(stageDir, { recursive: true, force: true })
  await fs.rm(wheelsDir, { recursive: true, force: true })
  await fs.mkdir(wheelsDir, { recursive: true })
  for (const deb of debs.values()) {
    deb.root = path.join(extractDir, deb.name)
    await fs.mkdir(deb.root, { recursive: true })
    await run('dpkg-deb', ['-x', deb.file, deb.root])
  }
  const projectOfDeb = new Map<string, string>()
  for (const project of CORPUS_PROJECTS) {
    for (const name of project.debs) projectOfDeb.set(name, project.name)
  }

  const wheels: CorpusWheel[] = []
  for (const project of CORPUS_PROJECTS) {
    const wheel = await repackProject(project, debs, projectOfDeb, stageDir, wheelsDir)
    log(
      `corpus: ${wheel.filename} (${mib(wheel.installedBytes)} installed` +
        (wheel.bundled.length ? `, bundles ${wheel.bundled.join(' ')})` : ')')
    )
    wheels.push(wheel)
  }
  await fs.rm(extractDir, { recursive: true, force: true })
  await fs.rm(stageDir, { recursive: true, force: true })
  const manifest: CorpusManifest = {
    format: CORPUS_FORMAT,
    key,
    wheelsDir,
    wheels,
    requirements: CORPUS_REQUIREMENTS
  }
  await fs.writeFile(manifestFile, JSON.stringify(manifest, null, 2) + '\n')
  return manifest
}

/** The wheels as an index serves them (startIndex from __tests__/support/index-server.ts). */
export async function corpusDistributions(manifest: CorpusManifest): Promise<Distribution[]> {
  return Promise.all(
    manifest.wheels.map(async w => ({
      filename: w.filename,
      bytes: await fs.readFile(path.join(manifest.wheelsDir, w.filename))
    }))
  )
}

async function readManifest(file: string): Promise<CorpusManifest | undefined> {
  try {
    const manifest = JSON.parse(await fs.readFile(file, 'utf8')) as CorpusManifest
    return manifest.format === CORPUS_FORMAT ? manifest : undefined
  } catch {
    return undefined
  }
}

async function requireTools(): Promise<void> {
  for (const [tool, pkg] of [
    ['apt-get', 'apt'],
    ['dpkg-deb', 'dpkg'],
    ['readelf', 'binutils'],
    ['patchelf', 'patchelf']
  ]) {
    try {
      await run('sh', ['-c', `command -v ${tool}`])
    } catch {
      throw new Error(`the corpus needs ${tool}: apt-get install ${pkg}`)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Debian packages

interface Deb {
  name: string
  file: string
  version: string
  architecture: string
  depends: string
  root: string
}

/** Downloads the packages not yet in `debDir` (one apt-get call) and reads their control fields. */
async function downloadDebs(
  debDir: string,
  names: string[],
  log: (line: string) => void
): Promise<Map<string, Deb>> {
  await fs.mkdir(debDir, { recursive: true })
  // apt drops privileges to _apt for downloads; a folder it can write avoids its warning.
  await fs.chmod(debDir, 0o777).catch(() => {})
  const wanted = [...new Set(names)]
  const have = async () => {
    const files = await fs.readdir(debDir)
    return new Map(
      wanted.flatMap(name => {
        const file = files
          .filter(f => f.startsWith(`${name}_`) && f.endsWith('.deb'))
          .sort()
          .at(-1)
        return file ? [[name, path.join(debDir, file)] as const] : []
      })
    )
  }
  const present = await have()
  const toFetch = wanted.filter(name => !present.has(name))
  if (toFetch.length) {
    log(`corpus: apt-get download ${toFetch.join(' ')}`)
    try {
      await run('apt-get', ['download', ...toFetch], { cwd: debDir, maxBuffer: 16 * 1024 * 1024 })
    } catch (error) {
      const detail = (error as { stderr?: string }).stderr?.trim().split('\n').at(-1) ?? ''
      throw new Error(
        `apt-get download failed (${detail}); run "apt-get update" once, then rerun the bench`
      )
    }
  }
  const files = await have()
  const debs = new Map<string, Deb>()
  for (const name of wanted) {
    const file = files.get(name)
    if (!file) throw new Error(`apt-get download gave no .deb for ${name}`)
    const { stdout } = await run('dpkg-deb', ['-f', file, 'Version', 'Architecture', 'Depends'])
    const field = (key: string) => new RegExp(`^${key}: (.*)$`, 'm').exec(stdout)?.[1] ?? ''
    debs.set(name, {
      name,
      file,
      version: field('Version'),
      architecture: field('Architecture'),
      depends: field('Depends'),
      root: ''
    })
  }
  return debs
}

/** "1:1.24.2-1+deb12u1" → "1.24.2"; "2.28.1+dfsg-1" → "2.28.1". */
export function upstreamVersion(debianVersion: string): string {
  const withoutEpoch = debianVersion.replace(/^\d+:/, '')
  const upstream = withoutEpoch.replace(/-[^-]*$/, '')
  const release = /^\d+(\.\d+)*/.exec(upstream)
  if (!release)
    throw new Error(`cannot read an upstream version from Debian version ${debianVersion}`)
  return release[0]
}

/** Debian package names in a Depends field ("a (>= 1) | b, c:any") → ["a", "b", "c"]. */
export function dependedPackages(depends: string): string[] {
  return depends
    .split(/[,|]/)
    .map(part => part.trim().split(/[\s(]/)[0].replace(/:\w+$/, ''))
    .filter(Boolean)
}

// ---------------------------------------------------------------------------------------------
// Re-packing as a wheel

async function repackProject(
  project: CorpusProject,
  debs: Map<string, Deb>,
  projectOfDeb: Map<string, string>,
  stageRoot: string,
  wheelsDir: string
): Promise<CorpusWheel> {
  const own = project.debs.map(name => debs.get(name)!)
  const version = upstreamVersion(own[0].version)
  const native = own.some(deb => deb.architecture !== 'all')
  const tag = native ? NATIVE_TAG : PURE_TAG
  const stage = path.join(stageRoot, project.name)
  await fs.mkdir(stage, { recursive: true })

  for (const deb of own) {
    const site = path.join(deb.root, DIST_PACKAGES)
    if (!existsSync(site)) continue
    await copyTree(
      site,
      stage,
      deb.root,
      [...debs.values()].map(d => d.root)
    )
  }
  // Debian's own egg-info/dist-info would clash with the dist-info the wheel brings.
  for (const entry of await fs.readdir(stage)) {
    if (/\.(egg-info|dist-info)$/.test(entry))
      await fs.rm(path.join(stage, entry), { recursive: true })
  }
  const bundled = project.libDebs
    ? await bundleLibraries(
        project.name,
        stage,
        project.libDebs.map(name => debs.get(name)!)
      )
    : []

  const requires = [
    ...new Set(
      own
        .flatMap(deb => dependedPackages(deb.depends))
        .map(name => projectOfDeb.get(name))
        .filter((name): name is string => name !== undefined && name !== project.name)
    )
  ].sort()

  const files: Record<string, Buffer> = {}
  const executable: string[] = []
  let installedBytes = 0
  for (const file of await listFiles(stage)) {
    const relative = path.relative(stage, file).split(path.sep).join('/')
    const content = await fs.readFile(file)
    files[relative] = content
    installedBytes += content.length
    if ((await fs.stat(file)).mode & 0o111) executable.push(relative)
  }
  // Every entry deflated, as PyPI's wheels are (bdist_wheel deflates whatever the size).
  const wheel = buildWheel({
    name: project.name,
    version,
    tag,
    requires,
    files,
    executable,
    deflate: true
  })
  await fs.writeFile(path.join(wheelsDir, wheel.filename), wheel.bytes)
  return {
    project: project.name,
    version,
    filename: wheel.filename,
    tag,
    requires,
    debs: [...own, ...(project.libDebs ?? []).map(name => debs.get(name)!)].map(
      deb => `${deb.name}=${deb.version}`
    ),
    bundled,
    files: Object.keys(files).length,
    installedBytes
  }
}

/**
 * Copies a dist-packages tree. Symlinks become the file they point to when that file is in one
 * of the unpacked packages (absolute targets are read inside the package root), and are left out
 * otherwise: a wheel holds no links.
 */
async function copyTree(
  from: string,
  to: string,
  debRoot: string,
  allRoots: string[]
): Promise<void> {
  for (const entry of await fs.readdir(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name)
    const target = path.join(to, entry.name)
    if (entry.isDirectory()) {
      await fs.mkdir(target, { recursive: true })
      await copyTree(source, target, debRoot, allRoots)
    } else if (entry.isFile()) {
      await fs.copyFile(source, target)
      await fs.chmod(target, (await fs.stat(source)).mode & 0o777)
    } else if (entry.isSymbolicLink()) {
      const resolved = await resolveLink(source, debRoot, allRoots)
      if (!resolved) continue
      if ((await fs.stat(resolved)).isDirectory()) {
        await fs.mkdir(target, { recursive: true })
        await copyTree(resolved, target, debRoot, allRoots)
      } else {
        await fs.copyFile(resolved, target)
      }
    }
  }
}

async function resolveLink(
  link: string,
  debRoot: string,
  allRoots: string[]
): Promise<string | undefined> {
  let current = link
  for (let hops = 0; hops < 16; hops++) {
    const target = await fs.readlink(current)
    const candidates = path.isAbsolute(target)
      ? [debRoot, ...allRoots].map(root => path.join(root, target))
      : [path.resolve(path.dirname(current), target)]
    const found = candidates.find(candidate => existsSync(candidate))
    if (!found) return undefined
    if (!(await fs.lstat(found)).isSymbolicLink()) return found
    current = found
  }
  return undefined
}

async function listFiles(dir: string): Promise<string[]> {
  const files: string[] = []
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) files.push(...(await listFiles(full)))
    else if (entry.isFile()) files.push(full)
  }
  return files.sort()
}

// ---------------------------------------------------------------------------------------------
// Bundling shared libraries (what auditwheel repair does for a PyPI wheel)

interface ElfInfo {
  soname?: string
  needed: string[]
}

async function elfInfo(file: string): Promise<ElfInfo | undefined> {
  const handle = await fs.open(file, 'r')
  const magic = Buffer.alloc(4)
  try {
    await handle.read(magic, 0, 4, 0)
  } finally {
    await handle.close()
  }
  if (!magic.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) return undefined
  const { stdout } = await run('readelf', ['-d', '-W', file], { maxBuffer: 16 * 1024 * 1024 })
  const needed = [...stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map(m => m[1])
  const soname = /\(SONAME\)\s+Library soname: \[([^\]]+)\]/.exec(stdout)?.[1]
  return { soname, needed }
}

/**
 * Copies the libraries the project's extension modules need (and what those need in turn) from
 * the library packages into `<project>.libs/`, named by their SONAME, and points each ELF file
 * at that folder with an $ORIGIN rpath so the module imports without Debian's system libraries.
 */
async function bundleLibraries(project: string, stage: string, libDebs: Deb[]): Promise<string[]> {
  const pool = new Map<string, string>()
  for (const deb of libDebs) {
    const libRoot = path.join(deb.root, 'usr/lib')
    if (!existsSync(libRoot)) continue
    for (const file of await listAllEntries(libRoot)) {
      const info = await elfInfo(file)
      if (info?.soname && !pool.has(info.soname)) pool.set(info.soname, file)
    }
    // Debian's OpenBLAS front ends carry no SONAME of their own choosing: index by file name too.
    for (const file of await listAllEntries(libRoot)) {
      const base = path.basename(file)
      if (/\.so(\.\d+)*$/.test(base) && !pool.has(base)) pool.set(base, await fs.realpath(file))
    }
  }
  const libsDir = path.join(stage, `${filenameName(project)}.libs`)
  const bundled = new Set<string>()
  const queue: string[] = []
  const patch: Array<{ file: string; rpath: string }> = []

  for (const file of await listFiles(stage)) {
    const info = await elfInfo(file)
    if (!info) continue
    const wants = info.needed.filter(name => pool.has(name) && !MANYLINUX_SYSTEM_LIBS.test(name))
    if (!wants.length) continue
    const relative = path.relative(path.dirname(file), libsDir)
    patch.push({ file, rpath: `$ORIGIN/${relative}` })
    queue.push(...wants)
  }
  while (queue.length) {
    const name = queue.shift()!
    if (bundled.has(name)) continue
    bundled.add(name)
    await fs.mkdir(libsDir, { recursive: true })
    const target = path.join(libsDir, name)
    await fs.copyFile(pool.get(name)!, target)
    await fs.chmod(target, 0o755)
    patch.push({ file: target, rpath: '$ORIGIN' })
    const info = await elfInfo(target)
    queue.push(...(info?.needed ?? []).filter(n => pool.has(n) && !MANYLINUX_SYSTEM_LIBS.test(n)))
  }
  for (const { file, rpath } of patch) {
    await run('patchelf', ['--force-rpath', '--set-rpath', rpath, file])
  }
  return [...bundled].sort()
}

async function listAllEntries(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await listAllEntries(full)))
    else out.push(full)
  }
  return out.sort()
}

export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const manifest = await buildCorpus({ log: line => console.log(line) })
  const total = manifest.wheels.reduce((sum, w) => sum + w.installedBytes, 0)
  console.log(
    `corpus: ${manifest.wheels.length} projects, ${mib(total)} installed (before .pyc), wheels in ${manifest.wheelsDir}`
  )
}
