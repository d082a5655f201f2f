// A layer zip built elsewhere (an earlier job's artifact), checked before anything is published:
// the python/ layout, entry names that stay inside /opt, every shared object against the target
// runtime and architecture, and the size limits. Entries are read in memory and never unpacked;
// no package code runs, so the publishing job holds AWS credentials and nothing else.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import path from 'node:path'
import { LIMITS, type Target } from '../facts.js'
import { canonicalName } from '../sources/pep508.js'
import type { BuildReport } from './index.js'
import type { LayerPackage } from './site.js'
import { formatBytes } from './size.js'
import { verifyFileBytes, type Finding } from './verify.js'
import {
  fileZipSource,
  readZipDirectory,
  readZipEntry,
  type ZipEntry,
  type ZipSource
} from './zip/read.js'
import { siteEntryName } from './manifest.js'

const S_IFMT = 0o170000
const S_IFLNK = 0o120000
/** Problems named in the refusal; the rest are counted. */
const SHOWN_PROBLEMS = 10

export class PrebuiltZipError extends Error {
  override name = 'PrebuiltZipError'
}

/**
 * The zip's report, as a build would give it, or a PrebuiltZipError naming every problem of its
 * layout and size. Verification findings are returned, for the gate to judge like a build's.
 */
export async function checkPrebuiltZip(
  zipPath: string,
  target: Target,
  verify: BuildReport['verify']
): Promise<BuildReport> {
  const source = await fileZipSource(zipPath).catch((error: NodeJS.ErrnoException) => {
    throw new PrebuiltZipError(`layer-zip: cannot read ${zipPath} (${error.code ?? error.message})`)
  })
  try {
    const entries = await readZipDirectory(source).catch((error: Error) => {
      throw new PrebuiltZipError(`layer-zip: ${zipPath} is not a readable zip: ${error.message}`)
    })
    const problems = layoutProblems(entries)
    const unzippedSize = entries.reduce((sum, entry) => sum + entry.uncompressedSize, 0)
    // declared sizes, before anything is inflated: a zip bomb is refused unread
    if (unzippedSize > LIMITS.unzippedBytes) {
      problems.push(
        `it unzips to ${formatBytes(unzippedSize)}, above Lambda's ${formatBytes(LIMITS.unzippedBytes)} for a function and all its layers`
      )
    }
    if (problems.length > 0) throw new PrebuiltZipError(refusal(zipPath, problems))

    const files = entries.filter(entry => !entry.name.endsWith('/'))
    const packages = await readPackages(source, files)
    const owners = new Map(packages.flatMap(pkg => pkg.files.map(file => [file, pkg] as const)))
    const byName = new Map(packages.map(pkg => [pkg.name, pkg]))
    // a file its RECORD leaves out is still named by its folder: numpy/… belongs to numpy
    const ownerOf = (site: string) =>
      owners.get(site) ?? byName.get(canonicalName(site.split('/')[0]!.replace(/\..*$/, '')))
    const findings: Finding[] = []
    if (verify !== 'off') {
      for (const entry of files) {
        const site = siteEntryName(entry.name) as string
        const bytes = await readZipEntry(source, entry)
        findings.push(...(await verifyFileBytes(site, bytes, target, ownerOf(site))))
      }
    }
    const sha256 = await fileSha256(zipPath)
    return {
      target,
      source: { kind: 'layer-zip', file: zipPath },
      packages,
      excluded: [],
      builtFromSdist: [],
      heldBack: [],
      slimmed: { files: 0, bytes: 0 },
      findings,
      verify,
      importCheck: {
        summary: 'not run: a layer zip built elsewhere is published without running its code',
        failures: []
      },
      zip: {
        zipPath,
        zipSize: source.size,
        codeSha256: sha256.toString('base64'),
        sha256Hex: sha256.toString('hex'),
        fileCount: files.length,
        unzippedSize
      }
    }
  } finally {
    await source.close()
  }
}

/** Names that would land outside python/, or outside /opt at all, and links. */
export function layoutProblems(entries: readonly ZipEntry[]): string[] {
  const problems: string[] = []
  const outside: string[] = []
  for (const entry of entries) {
    const name = entry.name
    const parts = name.split('/')
    if (name.startsWith('/') || /^[a-zA-Z]:/.test(name) || name.includes('\\')) {
      problems.push(`${JSON.stringify(name)} is an absolute or Windows path`)
    } else if (parts.includes('..')) {
      problems.push(`${JSON.stringify(name)} climbs out of the layer with ..`)
    } else if ((entry.mode & S_IFMT) === S_IFLNK) {
      problems.push(`${JSON.stringify(name)} is a symbolic link`)
    } else if (siteEntryName(name) === undefined && name !== 'python/') {
      outside.push(name)
    }
  }
  if (entries.length === 0 || outside.length === entries.length) {
    problems.push(
      'nothing is under python/: Lambda puts /opt/python on sys.path, so the packages would not import'
    )
  } else if (outside.length > 0) {
    problems.push(
      `${outside.length} entries are outside python/ (${outside.slice(0, 3).join(', ')}${outside.length > 3 ? ', …' : ''})`
    )
  }
  return problems
}

function refusal(zipPath: string, problems: string[]): string {
  const more = problems.length - SHOWN_PROBLEMS
  return [
    `layer-zip: ${zipPath} is not a layer this action will publish:`,
    ...problems.slice(0, SHOWN_PROBLEMS).map(problem => `  ${problem}`),
    ...(more > 0 ? [`  … and ${more} more`] : [])
  ].join('\n')
}

const DIST_INFO = /^([^/]+)\.dist-info\/(METADATA|RECORD)$/

/** Packages from each dist-info's METADATA and RECORD; sizes from the central directory. */
async function readPackages(
  source: ZipSource,
  files: readonly ZipEntry[]
): Promise<LayerPackage[]> {
  const sizes = new Map(files.map(entry => [siteEntryName(entry.name) as string, entry]))
  const byFolder = new Map<string, { metadata?: string; record?: string }>()
  for (const entry of files) {
    const match = DIST_INFO.exec(siteEntryName(entry.name) as string)
    if (!match) continue
    const text = (await readZipEntry(source, entry)).toString('utf8')
    const folder = byFolder.get(match[1]!) ?? {}
    if (match[2] === 'METADATA') folder.metadata = text
    else folder.record = text
    byFolder.set(match[1]!, folder)
  }
  return [...byFolder].map(([folder, { metadata = '', record = '' }]) => {
    const listed = record
      .split(/\r?\n/)
      .map(line => path.posix.normalize(line.split(',')[0] ?? ''))
      .filter(file => sizes.has(file))
    const files = [...new Set(listed)].sort()
    return {
      name: canonicalName(headerOf(metadata, 'Name') ?? folder.split('-')[0]!),
      version: headerOf(metadata, 'Version') ?? '',
      requested: true,
      files,
      bytes: files.reduce((sum, file) => sum + (sizes.get(file)?.uncompressedSize ?? 0), 0)
    }
  })
}

function headerOf(text: string, name: string): string | undefined {
  const match = new RegExp(`^${name}:[ \\t]*(.*)$`, 'mi').exec(text.split(/\r?\n\r?\n/)[0] ?? '')
  return match?.[1]?.trim()
}

async function fileSha256(file: string): Promise<Buffer> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest()
}
