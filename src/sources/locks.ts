// What the three lock readers share: exact pins with their hashes, written for pip's
// hash-checking mode, and the line of each package's entry for annotations.
import * as core from '@actions/core'
import * as path from 'node:path'
import {
  type DependencySource,
  type LocalProject,
  type LockedPins,
  type ReadContext,
  type SourceKind,
  displayPath,
  identityOf,
  localProjectProblem,
  writeGenerated
} from './common.js'
import type { SourceIndexes } from './indexes.js'
import { canonicalName } from './pep508.js'

export interface LockedPin {
  /** Canonical name. */
  name: string
  version: string
  /** A direct URL to the wheel or sdist, when it is not installed from an index. */
  url?: string
  /** `algorithm:hex`, only algorithms pip accepts. */
  hashes: string[]
  /** Line of the package's entry in the lock file. */
  line?: number
}

const PIP_HASHES = new Set(['sha256', 'sha384', 'sha512'])

/** Keeps the hashes pip can check (`sha256:…` and stronger); anything else is dropped. */
export function pipHashes(hashes: unknown[]): string[] {
  return hashes.filter(
    (h): h is string => typeof h === 'string' && PIP_HASHES.has(h.split(':')[0].toLowerCase())
  )
}

/**
 * The generated requirements file: one `name==version --hash=…` line per package, sorted, no
 * markers (already evaluated). `direct` undefined means the manifest beside the lock was not
 * there, so every locked package counts as requested.
 */
export async function lockedSource(
  context: ReadContext,
  kind: SourceKind,
  pins: LockedPin[],
  direct: Set<string> | undefined,
  /** Path dependencies, built by the action: named in the identity, not in the pins. */
  localProjects: LocalProject[] = []
): Promise<DependencySource> {
  const where = displayPath(context.file, context.cwd)
  const byName = new Map<string, LockedPin>()
  for (const pin of pins) {
    const other = byName.get(pin.name)
    if (other && other.version !== pin.version) {
      const { runtime, architecture } = context.target
      throw new Error(
        `requirements: ${where} selects both ${pin.name} ${other.version} and ${pin.version} for ${runtime.name} ${architecture}; regenerate the lock file`
      )
    }
    if (!other) byName.set(pin.name, pin)
  }
  const all = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1))
  const unhashed = all.filter(p => p.hashes.length === 0)
  const hashed = all.length > 0 && unhashed.length === 0
  if (unhashed.length > 0 && unhashed.length < all.length)
    core.warning(
      `${where} records no hashes for ${unhashed.map(p => p.name).join(', ')}; pip installs from it without hash checking`
    )
  const pinned = (p: LockedPin): string =>
    p.url ? `${p.name} @ ${p.url}` : `${p.name}==${p.version}`
  const withHashes = (p: LockedPin): string =>
    [pinned(p), ...[...new Set(p.hashes)].sort().map(h => `--hash=${h}`)].join(' ')
  const lines = all.map(p => (hashed ? withHashes(p) : pinned(p)))
  const names = new Set([...all.map(p => p.name), ...localProjects.map(p => p.name ?? '')])
  const builtWheels = new Map<string, string>()
  const locked: LockedPins = {
    line: name => {
      const pin = byName.get(canonicalName(name))
      return pin && withHashes(pin)
    },
    acceptBuiltWheel: async (name, sha256) => {
      builtWheels.set(canonicalName(name), `sha256:${sha256}`)
      const accepting = all.map(p => {
        const built = builtWheels.get(p.name)
        return built ? withHashes({ ...p, hashes: [...p.hashes, built] }) : withHashes(p)
      })
      return writeGenerated(context, kind, accepting, 'with-built-wheels')
    }
  }
  return {
    kind,
    file: context.file,
    requirementsFile: await writeGenerated(context, kind, lines),
    hashed,
    directNames: [...(direct ?? names)].filter(n => names.has(n)).sort(),
    origin: name => {
      const local = localProjects.find(p => p.name === canonicalName(name))
      if (local) return local.origin
      const line = byName.get(canonicalName(name))?.line
      return line ? { file: context.file, line } : undefined
    },
    identity: identityOf([
      ...all.map(withHashes),
      ...localProjects.map(p => `local ${p.name ?? ''} ${p.written}`)
    ]),
    ...(hashed ? { locked } : {}),
    ...(localProjects.length ? { localProjects } : {})
  }
}

/** The source with the indexes its file names, their credentials among its secrets. */
export function withIndexes(
  source: DependencySource,
  indexes: SourceIndexes | undefined
): DependencySource {
  if (!indexes) return source
  return { ...source, indexes, secrets: [...(source.secrets ?? []), ...indexes.secrets] }
}

/** Where each `[[package]]` entry's `name = …` sits in a TOML lock, by name and version. */
export function tomlPackageLines(
  text: string
): (name: string, version?: string) => number | undefined {
  const entries: { name?: string; version?: string; line: number }[] = []
  let current: { name?: string; version?: string; line: number } | undefined
  text.split('\n').forEach((line, index) => {
    if (/^\s*\[\[package\]\]\s*$/.test(line)) {
      current = { line: index + 1 }
      entries.push(current)
    } else if (/^\s*\[/.test(line)) current = undefined
    else if (current) {
      const m = /^\s*(name|version)\s*=\s*"([^"]*)"/.exec(line)
      if (m?.[1] === 'name' && current.name === undefined) {
        current.name = canonicalName(m[2])
        current.line = index + 1
      } else if (m?.[1] === 'version' && current.version === undefined) current.version = m[2]
    }
  })
  return (name, version) =>
    entries.find(e => e.name === name && (version === undefined || e.version === version))?.line
}

/**
 * A lock's path dependency (uv workspace member, Poetry `directory`, Pipfile `path`), relative
 * to the lock's folder, checked to be inside the workspace and there.
 */
export async function lockedLocalProject(
  context: ReadContext,
  entry: { name: string; written: string; editable: boolean; line?: number }
): Promise<LocalProject> {
  const project = path.resolve(path.dirname(context.file), entry.written)
  const problem = await localProjectProblem(context, project)
  const where = displayPath(context.file, context.cwd)
  if (problem)
    throw new Error(
      `requirements: ${where} line ${entry.line}: ${entry.name} is a local project (${entry.written}) that ${problem}`
    )
  return {
    path: project,
    written: entry.written,
    name: canonicalName(entry.name),
    extras: [],
    editable: entry.editable,
    origin: { file: context.file, line: entry.line ?? 1 }
  }
}
