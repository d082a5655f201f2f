// Builds real wheels (PEP 427) and sdists (PEP 517, in-tree backend) from plain specs, so the
// end-to-end tests, the demo and the benchmark can feed REAL pip a test world of packages.
// Archives are written here (no Python, no archive library) with fixed timestamps, so the same
// spec always gives the same bytes and the same sha256.

import { createHash } from 'node:crypto'
import { crc32, deflateRawSync, gzipSync } from 'node:zlib'

/** A file an index serves: a wheel or an sdist. */
export interface Distribution {
  filename: string
  bytes: Buffer
  /** Served as `data-requires-python` by the index. */
  requiresPython?: string
}

export interface WheelSpec {
  name: string
  version: string
  /** Default 'py3-none-any'; compressed tag sets such as 'cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64' are fine. */
  tag?: string
  /** Requires-Dist values, markers allowed. */
  requires?: string[]
  requiresPython?: string
  extras?: Record<string, string[]>
  /** Paths inside the wheel, e.g. 'fastmath/__init__.py' or 'pkg-1.0.data/scripts/tool'. */
  files?: Record<string, string | Buffer>
  /** Paths stored with mode 0755. */
  executable?: string[]
  /** Lines added to the RECORD as they are, true or not: a wheel that lies about its files. */
  extraRecordLines?: string[]
  /**
   * Deflate every entry, however large, as bdist_wheel and PyPI's wheels do. Off by default
   * (entries above 4 MiB are stored): the tests' big blobs are random bytes that deflate cannot
   * shrink, only slow down.
   */
  deflate?: boolean
}

export interface SdistSpec {
  name: string
  version: string
  requires?: string[]
  requiresPython?: string
  files: Record<string, string>
  /** Builds a wheel for the running interpreter's platform holding a .so, like a C extension. */
  native?: boolean
  /** Shared objects the native build ships, by machine ('x86_64', 'aarch64'). Required when native. */
  nativeObjects?: Partial<Record<'x86_64' | 'aarch64', Buffer>>
}

/** PEP 503 normalised project name: lower case, runs of -_. become "-". */
export function normalizeName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase()
}

/** The name as it appears in wheel and sdist file names and the .dist-info folder. */
export function filenameName(name: string): string {
  return normalizeName(name).replace(/-/g, '_')
}

/** True when the tag set needs no particular interpreter build or platform. */
export function isPureTag(tag: string): boolean {
  const [, abi, platform] = tag.split('-')
  return abi === 'none' && platform === 'any'
}

/** Expands 'py2.py3-none-any' into ['py2-none-any', 'py3-none-any']. */
export function expandTag(tag: string): string[] {
  const parts = tag.split('-')
  if (parts.length !== 3) throw new Error(`wheel tag "${tag}" must be python-abi-platform`)
  const [pythons, abis, platforms] = parts.map(p => p.split('.'))
  return pythons.flatMap(py => abis.flatMap(abi => platforms.map(plat => `${py}-${abi}-${plat}`)))
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** Core metadata 2.1, shared by a wheel's METADATA and an sdist's PKG-INFO. */
export function coreMetadata(spec: {
  name: string
  version: string
  requires?: string[]
  requiresPython?: string
  extras?: Record<string, string[]>
}): string {
  const lines = ['Metadata-Version: 2.1', `Name: ${spec.name}`, `Version: ${spec.version}`]
  lines.push(`Summary: ${spec.name}, a package of the test world`)
  if (spec.requiresPython) lines.push(`Requires-Python: ${spec.requiresPython}`)
  for (const requirement of spec.requires ?? []) lines.push(`Requires-Dist: ${requirement}`)
  for (const [extra, requirements] of Object.entries(spec.extras ?? {})) {
    lines.push(`Provides-Extra: ${extra}`)
    for (const requirement of requirements)
      lines.push(`Requires-Dist: ${withExtra(requirement, extra)}`)
  }
  return lines.join('\n') + '\n\n'
}

function withExtra(requirement: string, extra: string): string {
  const [req, marker] = requirement.split(';', 2).map(s => s.trim())
  const extraMarker = `extra == "${extra}"`
  return marker ? `${req}; (${marker}) and ${extraMarker}` : `${req}; ${extraMarker}`
}

export function buildWheel(spec: WheelSpec): Distribution {
  const tag = spec.tag ?? 'py3-none-any'
  const pure = isPureTag(tag)
  const distInfo = `${filenameName(spec.name)}-${spec.version}.dist-info`
  const executable = new Set(spec.executable ?? [])
  const entries: ZipEntry[] = Object.entries(spec.files ?? {}).map(([path, content]) => ({
    path,
    data: Buffer.from(content),
    mode: executable.has(path) ? 0o755 : 0o644,
    deflate: spec.deflate
  }))
  const wheelText = [
    'Wheel-Version: 1.0',
    'Generator: test-world (__tests__/support/wheels.ts)',
    `Root-Is-Purelib: ${pure}`,
    ...expandTag(tag).map(t => `Tag: ${t}`)
  ].join('\n')
  entries.push({ path: `${distInfo}/METADATA`, data: Buffer.from(coreMetadata(spec)), mode: 0o644 })
  entries.push({ path: `${distInfo}/WHEEL`, data: Buffer.from(wheelText + '\n\n'), mode: 0o644 })
  const record =
    entries.map(e => `${e.path},sha256=${recordHash(e.data)},${e.data.length}\n`).join('') +
    (spec.extraRecordLines ?? []).map(line => `${line}\n`).join('') +
    `${distInfo}/RECORD,,\n`
  entries.push({ path: `${distInfo}/RECORD`, data: Buffer.from(record), mode: 0o644 })
  const filename = `${filenameName(spec.name)}-${spec.version}-${tag}.whl`
  return {
    filename,
    bytes: writeZip(entries),
    requiresPython: spec.requiresPython
  }
}

function recordHash(data: Buffer): string {
  return createHash('sha256').update(data).digest('base64url')
}

export function buildSdist(spec: SdistSpec): Distribution {
  const base = `${filenameName(spec.name)}-${spec.version}`
  const packageDir = filenameName(spec.name)
  const nativeObjects = Object.entries(spec.nativeObjects ?? {})
  if (spec.native && nativeObjects.length === 0) {
    throw new Error(`native sdist ${spec.name} needs nativeObjects (a .so per machine)`)
  }
  const config = {
    name: spec.name,
    version: spec.version,
    dist: filenameName(spec.name),
    native: spec.native ?? false,
    files: Object.keys(spec.files).sort(),
    // Where the "compiled" extension lands; the backend appends the interpreter's EXT_SUFFIX.
    extension: `${packageDir}/_ext`
  }
  const files: Record<string, Buffer> = {
    'PKG-INFO': Buffer.from(coreMetadata(spec)),
    'pyproject.toml': Buffer.from(PYPROJECT),
    '_backend.py': Buffer.from(BACKEND),
    '_backend.json': Buffer.from(JSON.stringify(config, null, 2) + '\n')
  }
  for (const [path, content] of Object.entries(spec.files)) files[path] = Buffer.from(content)
  for (const [machine, so] of nativeObjects) files[`_native/${machine}.so`] = so
  const members = Object.entries(files).map(([path, data]) => ({ path: `${base}/${path}`, data }))
  return {
    filename: `${base}.tar.gz`,
    bytes: gzipSync(writeTar(members), { level: 9 }),
    requiresPython: spec.requiresPython
  }
}

const PYPROJECT = `[build-system]
requires = []
build-backend = "_backend"
backend-path = ["."]
`

// The in-tree PEP 517 backend every test-world sdist carries: stdlib only, so pip builds it
// offline under build isolation without setuptools. A native sdist "compiles" by copying the
// shared object prebuilt for this machine, which is what a C extension's wheel would hold.
const BACKEND = String.raw`"""In-tree PEP 517 backend of the test world: stdlib only, no setuptools."""
import base64
import hashlib
import json
import os
import platform
import sys
import sysconfig
import tarfile
import zipfile

_HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(_HERE, '_backend.json'), encoding='utf-8') as _f:
    CONFIG = json.load(_f)
DATE = (2020, 1, 1, 0, 0, 0)


def _read(path):
    with open(os.path.join(_HERE, path), 'rb') as f:
        return f.read()


def _tag():
    if not CONFIG['native']:
        return 'py3-none-any'
    interpreter = 'cp%d%d' % sys.version_info[:2]
    plat = sysconfig.get_platform().replace('-', '_').replace('.', '_')
    return '%s-%s-%s' % (interpreter, interpreter, plat)


def _dist_info():
    return '%s-%s.dist-info' % (CONFIG['dist'], CONFIG['version'])


def _wheel_file(tag):
    pure = 'false' if CONFIG['native'] else 'true'
    return ('Wheel-Version: 1.0\nGenerator: test-world-backend\nRoot-Is-Purelib: %s\nTag: %s\n\n'
            % (pure, tag)).encode()


def _native_object():
    machine = platform.machine().lower()
    machine = {'amd64': 'x86_64', 'arm64': 'aarch64'}.get(machine, machine)
    path = os.path.join('_native', machine + '.so')
    if not os.path.exists(os.path.join(_HERE, path)):
        raise RuntimeError('%s: no compiler output for machine %s' % (CONFIG['name'], machine))
    suffix = sysconfig.get_config_var('EXT_SUFFIX') or '.so'
    return CONFIG['extension'] + suffix, _read(path)


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    target = os.path.join(metadata_directory, _dist_info())
    os.makedirs(target, exist_ok=True)
    with open(os.path.join(target, 'METADATA'), 'wb') as f:
        f.write(_read('PKG-INFO'))
    with open(os.path.join(target, 'WHEEL'), 'wb') as f:
        f.write(_wheel_file(_tag()))
    return _dist_info()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    tag = _tag()
    entries = [(path, _read(path)) for path in CONFIG['files']]
    if CONFIG['native']:
        entries.append(_native_object())
    entries.append((_dist_info() + '/METADATA', _read('PKG-INFO')))
    entries.append((_dist_info() + '/WHEEL', _wheel_file(tag)))
    record = ''
    for path, data in entries:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
        record += '%s,sha256=%s,%d\n' % (path, digest, len(data))
    record += _dist_info() + '/RECORD,,\n'
    entries.append((_dist_info() + '/RECORD', record.encode()))
    filename = '%s-%s-%s.whl' % (CONFIG['dist'], CONFIG['version'], tag)
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), 'w') as archive:
        for path, data in entries:
            info = zipfile.ZipInfo(path, DATE)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return filename


def build_sdist(sdist_directory, config_settings=None):
    base = '%s-%s' % (CONFIG['dist'], CONFIG['version'])
    filename = base + '.tar.gz'
    with tarfile.open(os.path.join(sdist_directory, filename), 'w:gz') as archive:
        for root, dirs, files in os.walk(_HERE):
            dirs[:] = sorted(d for d in dirs if d != '__pycache__')
            for name in sorted(files):
                path = os.path.join(root, name)
                archive.add(path, base + '/' + os.path.relpath(path, _HERE).replace(os.sep, '/'))
    return filename
`

// ---- archives -----------------------------------------------------------------------------

export interface ZipEntry {
  path: string
  data: Buffer
  /** Unix permissions, or a whole st_mode with its file type (a link: 0o120777). */
  mode: number
  /** Deflate however large (by default entries above 4 MiB are stored). */
  deflate?: boolean
  /** Store as it is, never deflated: a very large zip written quickly. */
  store?: boolean
}

// 2020-01-01 00:00:00 in MS-DOS form: every archive gets the same timestamps.
const DOS_DATE = ((2020 - 1980) << 9) | (1 << 5) | 1
const DOS_TIME = 0
const MADE_BY_UNIX = (3 << 8) | 20

/** A plain zip (deflate where it helps, stored where it does not), unix modes kept. */
export function writeZip(entries: ZipEntry[]): Buffer {
  const chunks: Buffer[] = []
  const central: Buffer[] = []
  let offset = 0
  for (const entry of entries) {
    const name = Buffer.from(entry.path, 'utf8')
    const crc = crc32(entry.data)
    // Deflating large incompressible blobs is slow and useless.
    const deflate = !entry.store && (entry.deflate || entry.data.length <= 4 * 1024 * 1024)
    const deflated = deflate ? deflateRawSync(entry.data) : undefined
    const stored = !deflated || deflated.length >= entry.data.length
    const body = stored ? entry.data : deflated
    const method = stored ? 0 : 8

    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt16LE(0x0800, 6) // names are UTF-8
    local.writeUInt16LE(method, 8)
    local.writeUInt16LE(DOS_TIME, 10)
    local.writeUInt16LE(DOS_DATE, 12)
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(body.length, 18)
    local.writeUInt32LE(entry.data.length, 22)
    local.writeUInt16LE(name.length, 26)
    local.writeUInt16LE(0, 28)
    chunks.push(local, name, body)

    const header = Buffer.alloc(46)
    header.writeUInt32LE(0x02014b50, 0)
    header.writeUInt16LE(MADE_BY_UNIX, 4)
    header.writeUInt16LE(20, 6)
    header.writeUInt16LE(0x0800, 8)
    header.writeUInt16LE(method, 10)
    header.writeUInt16LE(DOS_TIME, 12)
    header.writeUInt16LE(DOS_DATE, 14)
    header.writeUInt32LE(crc, 16)
    header.writeUInt32LE(body.length, 20)
    header.writeUInt32LE(entry.data.length, 24)
    header.writeUInt16LE(name.length, 28)
    // extra, comment, disk start, internal attributes stay 0
    header.writeUInt32LE(((0o100000 | entry.mode) << 16) >>> 0, 38)
    header.writeUInt32LE(offset, 42)
    central.push(header, name)
    offset += local.length + name.length + body.length
  }
  const centralBytes = Buffer.concat(central)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(entries.length, 8)
  end.writeUInt16LE(entries.length, 10)
  end.writeUInt32LE(centralBytes.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...chunks, centralBytes, end])
}

// 2020-01-01T00:00:00Z, like the zips.
const TAR_MTIME = 1577836800

/** A minimal ustar archive of regular files (mode 0644, owner 0/0, fixed mtime). */
export function writeTar(members: Array<{ path: string; data: Buffer }>): Buffer {
  const blocks: Buffer[] = []
  for (const { path, data } of members) {
    const header = Buffer.alloc(512)
    const [prefix, name] = splitUstarPath(path)
    header.write(name, 0, 100, 'utf8')
    header.write(octal(0o644, 8), 100)
    header.write(octal(0, 8), 108)
    header.write(octal(0, 8), 116)
    header.write(octal(data.length, 12), 124)
    header.write(octal(TAR_MTIME, 12), 136)
    header.write(' '.repeat(8), 148) // checksum counts itself as spaces
    header.write('0', 156)
    header.write('ustar\u000000', 257, 'latin1')
    header.write('root', 265)
    header.write('root', 297)
    header.write(prefix, 345, 155, 'utf8')
    let sum = 0
    for (const byte of header) sum += byte
    header.write(octal(sum, 7) + '\u0000', 148, 'latin1')
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512))
  }
  blocks.push(Buffer.alloc(1024))
  return Buffer.concat(blocks)
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\u0000'
}

function splitUstarPath(path: string): [string, string] {
  if (Buffer.byteLength(path) <= 100) return ['', path]
  const cut = path.lastIndexOf('/', path.length - 1)
  const prefix = path.slice(0, cut)
  const name = path.slice(cut + 1)
  if (cut < 0 || Buffer.byteLength(prefix) > 155 || Buffer.byteLength(name) > 100) {
    throw new Error(`path too long for a ustar archive: ${path}`)
  }
  return [prefix, name]
}
