// Where each file of a wheel lands in the layer, by the rules `pip install --target` applies
// (pip 23, install.py _handle_target_dir over the "home" scheme): the package and
// `.data/purelib` and `.data/platlib` merge into the root; `.data/scripts` go to `bin/`;
// `.data/headers` to `include/python/<name>/`; `.data/data` to the root, except what lands in
// `lib/` outside `lib/python/`, which pip leaves behind in its staging folder.

import { createHash } from 'node:crypto'
import { canonicalName } from '../sources/pep508.js'
import { HostileWheel, entryContent, type Wheel, type WheelEntry } from './wheels.js'

/** Where a layer file's bytes come from. */
export type LayerSource =
  | { kind: 'wheel'; wheel: Wheel; entry: WheelEntry }
  | { kind: 'bytes'; data: Buffer }
  | { kind: 'file'; file: string }

/** One file of the layer, relative to the folder that becomes `python/`. */
export interface LayerFile {
  path: string
  mode: 0o644 | 0o755
  size: number
  /** The canonical name of the distribution that put it there. */
  owner: string
  source: LayerSource
  /** Where pip's staging folder had it: RECORD lists `bin/x` as `../../bin/x`. */
  outsideLib?: boolean
  /**
   * Text the action writes itself (RECORD, INSTALLER, REQUESTED, scripts): stored, not
   * deflated, so the layer's bytes do not depend on the zlib inside the runner's Node.
   */
  stored?: true
}

/** What a wheel's own metadata says about its distribution. */
export interface WheelDistribution {
  name: string
  /** As METADATA spells it, for `include/python/<Name>/`. */
  displayName: string
  version: string
  requiresDist: string[]
  distInfo: string
  /** RECORD's hash per path, as the wheel lists it. */
  recordHashes: Map<string, string>
  /** Paths RECORD lists, as it lists them. */
  recordPaths: string[]
  entryPoints: string
}

/** Reads the `.dist-info` of a wheel: METADATA, RECORD and entry_points.txt. */
export async function readWheelDistribution(wheel: Wheel): Promise<WheelDistribution> {
  const distInfos = new Set(
    wheel.entries.map(entry => entry.name.split('/')[0]).filter(top => top.endsWith('.dist-info'))
  )
  const withMetadata = [...distInfos].filter(distInfo =>
    wheel.entries.some(entry => entry.name === `${distInfo}/METADATA`)
  )
  if (withMetadata.length !== 1) {
    throw new HostileWheel(
      `${wheel.filename}: ${withMetadata.length === 0 ? 'has no' : 'has more than one'} .dist-info folder with METADATA`
    )
  }
  const distInfo = withMetadata[0]
  const text = async (file: string): Promise<string> => {
    const entry = wheel.entries.find(e => e.name === `${distInfo}/${file}`)
    return entry ? (await entryContent(wheel, entry)).toString('utf8') : ''
  }
  const [metadata, record, entryPoints] = await Promise.all([
    text('METADATA'),
    text('RECORD'),
    text('entry_points.txt')
  ])
  // headers end at the first blank line; the description body may hold "Name:" lines
  const headers = metadata.split(/\r?\n\r?\n/)[0]
  const field = (key: string): string[] =>
    [...headers.matchAll(new RegExp(`^${key}:[ \\t]*(.*)$`, 'gmi'))].map(m => m[1].trim())
  const displayName = field('Name')[0] ?? distInfo.split('-')[0]
  return {
    name: canonicalName(displayName),
    displayName,
    version: field('Version')[0] ?? distInfo.split('-')[1]?.replace(/\.dist-info$/, '') ?? '',
    requiresDist: field('Requires-Dist'),
    distInfo,
    recordHashes: recordHashes(record),
    recordPaths: recordPaths(record),
    entryPoints
  }
}

function recordPaths(record: string): string[] {
  return record
    .split(/\r?\n/)
    .map(line => /^("(?:[^"]|"")*"|[^,]*)/.exec(line)?.[1] ?? '')
    .map(listed => (listed.startsWith('"') ? listed.slice(1, -1).replace(/""/g, '"') : listed))
    .filter(listed => listed.trim() !== '')
}

function recordHashes(record: string): Map<string, string> {
  const hashes = new Map<string, string>()
  for (const line of record.split(/\r?\n/)) {
    const match = /^("(?:[^"]|"")*"|[^,]*),([^,]*),/.exec(line)
    if (!match) continue
    const listed = match[1].startsWith('"') ? match[1].slice(1, -1).replace(/""/g, '"') : match[1]
    if (match[2]) hashes.set(listed, match[2])
  }
  return hashes
}

/** What pip writes for a distribution besides the wheel's files. */
export interface LayoutOptions {
  /** pip's own idea of requested: named in the file it read (every pin, for a lock). */
  pipRequested: boolean
  /** Console scripts are written only when they stay (slim: false). */
  scripts: boolean
}

/**
 * The layer files one wheel gives, before RECORD: its entries where pip --target puts them,
 * INSTALLER, REQUESTED and, when kept, console scripts with a shebang for Lambda.
 */
export async function layoutWheel(
  wheel: Wheel,
  dist: WheelDistribution,
  options: LayoutOptions
): Promise<LayerFile[]> {
  const files: LayerFile[] = []
  const dataDir = dist.distInfo.replace(/\.dist-info$/, '.data')
  for (const entry of wheel.entries) {
    if (entry.name === `${dist.distInfo}/RECORD`) continue
    const placed = placeEntry(entry.name, dataDir, dist, wheel)
    if (!placed) continue
    const file: LayerFile = {
      path: placed.path,
      mode: entry.mode & 0o111 ? 0o755 : 0o644,
      size: entry.size,
      owner: dist.name,
      source: { kind: 'wheel', wheel, entry },
      ...(placed.outsideLib && { outsideLib: true })
    }
    if (placed.script && options.scripts) files.push(await withPipShebang(file, wheel, entry))
    else files.push(file)
  }
  const made = (name: string, text: string): LayerFile => ({
    path: `${dist.distInfo}/${name}`,
    mode: 0o644,
    size: Buffer.byteLength(text),
    owner: dist.name,
    source: { kind: 'bytes', data: Buffer.from(text) },
    stored: true
  })
  files.push(made('INSTALLER', 'pip\n'))
  if (options.pipRequested) files.push(made('REQUESTED', ''))
  if (options.scripts) {
    for (const script of consoleScripts(dist.entryPoints)) {
      files.push({ ...made('', ''), ...scriptFile(script, dist.name) })
    }
  }
  return files
}

interface Placement {
  path: string
  script?: boolean
  outsideLib?: boolean
}

function placeEntry(
  name: string,
  dataDir: string,
  dist: WheelDistribution,
  wheel: Wheel
): Placement | undefined {
  if (!name.startsWith(`${dataDir}/`)) return { path: name }
  const rest = name.slice(dataDir.length + 1)
  const slash = rest.indexOf('/')
  const scheme = rest.slice(0, slash)
  const inner = rest.slice(slash + 1)
  if (slash === -1 || inner === '') return undefined
  switch (scheme) {
    case 'purelib':
    case 'platlib':
      return { path: inner }
    case 'scripts':
      return { path: `bin/${inner}`, script: true, outsideLib: true }
    case 'headers':
      return { path: `include/python/${dist.displayName}/${inner}`, outsideLib: true }
    case 'data':
      if (inner.startsWith('lib/python/')) return { path: inner.slice('lib/python/'.length) }
      // pip --target moves every item of its staging home except lib/, whose python/ it took
      if (inner.startsWith('lib/')) return undefined
      return { path: inner, outsideLib: true }
    default:
      throw new HostileWheel(
        `${wheel.filename}: ${name} is in .data/${scheme}, which is not a wheel scheme (purelib, platlib, scripts, headers, data)`
      )
  }
}

/**
 * pip replaces a `#!python` first line of a wheel's script with the runner's interpreter; the
 * layer gets `#!/usr/bin/env python3` instead, as the runner's path means nothing on Lambda.
 */
async function withPipShebang(
  file: LayerFile,
  wheel: Wheel,
  entry: WheelEntry
): Promise<LayerFile> {
  const content = await entryContent(wheel, entry)
  const rewritten = lambdaShebang(content)
  if (!rewritten) return file
  return {
    ...file,
    size: rewritten.length,
    source: { kind: 'bytes', data: rewritten },
    stored: true
  }
}

/** What pip writes at the top of console scripts, or a `#!python` line of a wheel's script. */
const RUNNER_SHEBANG = /^(#![^\n]*python[^\n]*\n|#!\/bin\/sh\n'''exec' [^\n]*\n' '''\n)/

/** The script with a Lambda shebang, or undefined when its first line names no Python. */
export function lambdaShebang(content: Buffer): Buffer | undefined {
  const text = content.toString('latin1')
  if (!RUNNER_SHEBANG.test(text)) return undefined
  return Buffer.from(text.replace(RUNNER_SHEBANG, '#!/usr/bin/env python3\n'), 'latin1')
}

interface ConsoleScript {
  name: string
  module: string
  attribute: string
}

/** `[console_scripts]` and `[gui_scripts]` of entry_points.txt. */
export function consoleScripts(entryPoints: string): ConsoleScript[] {
  const scripts: ConsoleScript[] = []
  let section = ''
  for (const raw of entryPoints.split(/\r?\n/)) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const header = /^\[(.+)\]$/.exec(line)
    if (header) {
      section = header[1].trim()
      continue
    }
    if (section !== 'console_scripts' && section !== 'gui_scripts') continue
    const match = /^([^=\s]+)\s*=\s*([\w.]+)\s*(?::\s*([\w.]+))?/.exec(line)
    if (!match?.[3]) continue
    scripts.push({ name: match[1], module: match[2], attribute: match[3] })
  }
  return scripts
}

/** The script pip's ScriptMaker writes for an entry point, with the Lambda shebang. */
function scriptFile(script: ConsoleScript, owner: string): Partial<LayerFile> {
  const text = [
    '#!/usr/bin/env python3',
    '# -*- coding: utf-8 -*-',
    'import re',
    'import sys',
    `from ${script.module} import ${script.attribute.split('.')[0]}`,
    "if __name__ == '__main__':",
    "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])",
    `    sys.exit(${script.attribute}())`,
    ''
  ].join('\n')
  const data = Buffer.from(text)
  return {
    path: `bin/${script.name}`,
    mode: 0o755,
    size: data.length,
    owner,
    source: { kind: 'bytes', data },
    outsideLib: true,
    stored: true
  }
}

/** A file's sha256 as RECORD writes it. */
export function recordDigest(data: Buffer): string {
  return `sha256=${createHash('sha256').update(data).digest('base64url')}`
}
