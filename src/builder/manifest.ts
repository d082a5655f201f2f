// What a layer zip holds, per package, read from its central directory and its small
// `*.dist-info/METADATA` and `WHEEL` entries only: names, versions, sizes, wheel tags and the
// shared objects' checksums. The plan compares two of these (src/changes.ts); the previous one
// is read over HTTP range requests, the new one from the local zip, by the same code.
import { mapLimit } from '../concurrency.js'
import type { LayerManifest, ManifestPackage } from '../changes.js'
import { canonicalName } from '../sources/pep508.js'
import { readZipDirectory, readZipEntry, withCachedTail, type ZipSource } from './zip/read.js'

/** Where the layer's packages sit inside the zip: Lambda puts both on sys.path. */
const SITE_ROOT = /^python\/(?:lib\/python3\.\d+\/site-packages\/)?/
const DIST_INFO_FILE = /^([^/]+)\.dist-info\/(METADATA|WHEEL)$/
const SHARED_OBJECT = /\.so(\.\d+)*$/
/** Entries read at once over HTTP. */
const PARALLEL_READS = 8

/** A zip entry relative to the site root, or undefined when it lies outside python/. */
export function siteEntryName(entryName: string): string | undefined {
  const root = SITE_ROOT.exec(entryName)
  return root ? entryName.slice(root[0].length) : undefined
}

/**
 * The manifest of a layer zip. `owners` maps a top-level name (`dateutil`, `_cffi_backend`) to
 * the package that installs it, when a build knows it better than the name rule does.
 */
export async function readLayerManifest(
  zip: ZipSource,
  owners: ReadonlyMap<string, string> = new Map()
): Promise<LayerManifest> {
  const source = withCachedTail(zip)
  const entries = (await readZipDirectory(source)).filter(entry => !entry.name.endsWith('/'))
  const distInfo = entries.flatMap(entry => {
    const site = siteEntryName(entry.name)
    const match = site === undefined ? null : DIST_INFO_FILE.exec(site)
    return match ? [{ entry, folder: match[1]!, file: match[2]! }] : []
  })
  const texts = await mapLimit(distInfo, PARALLEL_READS, async item => ({
    ...item,
    text: (await readZipEntry(source, item.entry)).toString('utf8')
  }))
  const packages = new Map<string, ManifestPackage>()
  const byFolder = new Map<string, ManifestPackage>()
  for (const { folder, file, text } of texts) {
    let pkg = byFolder.get(folder)
    if (!pkg) {
      pkg = {
        name: canonicalName(folder.split('-')[0]!),
        version: '',
        bytes: 0,
        wheelTags: [],
        sharedObjects: {}
      }
      byFolder.set(folder, pkg)
    }
    if (file === 'METADATA') {
      pkg.name = canonicalName(header(text, 'Name') ?? pkg.name)
      pkg.version = header(text, 'Version') ?? ''
    } else {
      pkg.wheelTags = headers(text, 'Tag')
    }
  }
  for (const pkg of byFolder.values()) packages.set(pkg.name, pkg)

  let otherBytes = 0
  for (const entry of entries) {
    const site = siteEntryName(entry.name)
    const owner = site === undefined ? undefined : ownerOf(site, byFolder, packages, owners)
    if (!owner) {
      otherBytes += entry.uncompressedSize
      continue
    }
    owner.bytes += entry.uncompressedSize
    if (SHARED_OBJECT.test(entry.name)) {
      owner.sharedObjects[site!] = entry.crc32
    }
  }
  return {
    packages: [...packages.values()].sort((a, b) => (a.name < b.name ? -1 : 1)),
    otherBytes,
    unzippedSize: entries.reduce((sum, entry) => sum + entry.uncompressedSize, 0),
    zipSize: source.size,
    fileCount: entries.length
  }
}

/** Top-level names each package installs, from the build's RECORD-derived file lists. */
export function topLevelOwners(
  packages: ReadonlyArray<{ name: string; files: readonly string[] }>
): Map<string, string> {
  const owners = new Map<string, string>()
  for (const pkg of packages) {
    for (const file of pkg.files) owners.set(topLevelKey(file.split('/')[0]!), pkg.name)
  }
  return owners
}

function ownerOf(
  site: string,
  byFolder: ReadonlyMap<string, ManifestPackage>,
  packages: ReadonlyMap<string, ManifestPackage>,
  owners: ReadonlyMap<string, string>
): ManifestPackage | undefined {
  const top = site.split('/')[0]!
  if (top.endsWith('.dist-info')) return byFolder.get(top.slice(0, -'.dist-info'.length))
  const key = topLevelKey(top)
  const hinted = owners.get(key)
  if (hinted && packages.has(hinted)) return packages.get(hinted)
  return packages.get(canonicalName(key)) ?? packages.get(canonicalName(key.replace(/^_+/, '')))
}

/** `six.py` → six, `_cffi_backend.cpython-312-x86_64-linux-gnu.so` → _cffi_backend,
 * `numpy.libs` → numpy. */
function topLevelKey(top: string): string {
  return top.replace(/\.libs$/, '').replace(/\..*$/, '')
}

function header(text: string, name: string): string | undefined {
  return headers(text, name)[0]
}

/** Values of an RFC 822 style header, up to the blank line that starts the body. */
function headers(text: string, name: string): string[] {
  const values: string[] = []
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break
    const colon = line.indexOf(':')
    if (colon > 0 && line.slice(0, colon).toLowerCase() === name.toLowerCase()) {
      values.push(line.slice(colon + 1).trim())
    }
  }
  return values
}
