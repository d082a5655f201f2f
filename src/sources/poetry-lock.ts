// poetry.lock. Poetry 2 (lock-version 2.1) records each package's groups and markers, so the
// selection is read straight off the lock. Older locks do not, so the project's dependencies in
// the pyproject.toml beside the lock are walked through the lock's dependency graph.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import type { TomlTable } from 'smol-toml'
import {
  type DependencySource,
  type LocalProject,
  type ReadContext,
  checkAsked,
  checkRuntimeAllowed,
  displayPath,
  isTable,
  readToml,
  stringsIn
} from './common.js'
import { poetryIndexes } from './indexes.js'
import {
  type LockedPin,
  lockedLocalProject,
  lockedSource,
  pipHashes,
  tomlPackageLines,
  withIndexes
} from './locks.js'
import {
  type MarkerEnvironment,
  comparePep440Versions,
  markerMatches,
  parseVersion,
  satisfiesClause
} from './markers.js'
import { VCS_WHY, canonicalName, parseRequirement, requirementName } from './pep508.js'

type PoetrySpec =
  | string
  | {
      version?: string
      markers?: string
      python?: string
      platform?: string
      optional?: boolean
      extras?: string[]
      path?: string
      git?: string
      url?: string
    }

interface PoetryPackage {
  name: string
  version: string
  optional?: boolean
  'python-versions'?: string
  files?: { file?: string; hash?: string }[]
  groups?: string[]
  markers?: string | Record<string, string>
  dependencies?: Record<string, PoetrySpec | PoetrySpec[]>
  extras?: Record<string, string[]>
  source?: { type?: string; url?: string; reference?: string }
  develop?: boolean
}

/** What the project asks for, from the pyproject.toml next to the lock. */
interface Manifest {
  roots: { name: string; specs: PoetrySpec[]; group: string; extra?: string; optional: boolean }[]
  /** tool.poetry.extras: extra → the optional packages it turns on. */
  extraPackages: Map<string, string[]>
  extras: Set<string>
  groups: Set<string>
}

export async function readPoetryLock(context: ReadContext): Promise<DependencySource> {
  const { text, doc } = await readToml(context)
  const where = displayPath(context.file, context.cwd)
  const packages = (Array.isArray(doc.package) ? doc.package : []) as unknown as PoetryPackage[]
  const metadata = isTable(doc.metadata) ? doc.metadata : {}
  const python = metadata['python-versions']
  if (typeof python === 'string')
    checkRuntimeAllowed(
      context,
      v => poetryAllows(python, v),
      `"${python}"`,
      `${where} (metadata.python-versions)`
    )

  const pyprojectFile = path.join(path.dirname(context.file), 'pyproject.toml')
  const pyproject = await fs.stat(pyprojectFile).then(
    async () => (await readToml(context, pyprojectFile)).doc,
    () => undefined
  )
  const manifest = pyproject ? readManifest(pyproject) : undefined
  const lockVersion = String(metadata['lock-version'] ?? '1.0')
  const recordsGroups =
    comparePep440Versions(parseVersion(lockVersion) ?? { epoch: 0, release: [1] }, {
      epoch: 0,
      release: [2, 1]
    }) >= 0

  const lockExtras = Object.keys(isTable(doc.extras) ? doc.extras : {}).map(canonicalName)
  checkAsked('extras', context.extras, [...lockExtras, ...(manifest?.extras ?? [])], where)
  let selected: PoetryPackage[]
  if (recordsGroups) {
    const lockGroups = packages.flatMap(p => (p.groups ?? []).map(canonicalName))
    checkAsked('groups', context.groups, [...lockGroups, ...(manifest?.groups ?? [])], where)
    selected = selectByLockedGroups(packages, context)
  } else if (manifest) {
    checkAsked('groups', context.groups, manifest.groups, where)
    selected = walkFromManifest(packages, manifest, context, where)
  } else {
    throw new Error(
      `requirements: ${where} (lock-version ${lockVersion}, Poetry 1) does not record which packages each group needs, and there is no pyproject.toml next to it; keep the project's pyproject.toml beside the lock, or re-lock with Poetry 2`
    )
  }

  const lineOf = tomlPackageLines(text)
  const legacyFiles = isTable(metadata.files) ? metadata.files : {}
  const pins: LockedPin[] = []
  const localProjects: LocalProject[] = []
  for (const p of selected) {
    const name = canonicalName(p.name)
    const line = lineOf(name, p.version)
    if ((p.source?.type === 'directory' || p.source?.type === 'file') && p.source.url) {
      const local = { name, written: p.source.url, editable: p.develop === true, line }
      localProjects.push(await lockedLocalProject(context, local))
      continue
    }
    const problem = sourceProblem(p)
    if (problem) throw new Error(`requirements: ${where} line ${line}: ${p.name} ${problem}`)
    // lock-version 1.x kept the files under [metadata.files] instead of on each package
    const files = p.files ?? (legacyFiles[p.name] as PoetryPackage['files']) ?? []
    const url = p.source?.type === 'url' ? p.source.url : undefined
    pins.push({ name, version: p.version, url, hashes: pipHashes(files.map(f => f.hash)), line })
  }
  const direct = manifest ? directNames(manifest, context) : undefined
  // an explicit source serves only the locked packages that name it
  const usedSources = new Set(
    selected.flatMap(p => (p.source?.reference ? [p.source.reference.toLowerCase()] : []))
  )
  const indexes = poetryIndexes(pyproject, displayPath(pyprojectFile, context.cwd), usedSources)
  return withIndexes(
    await lockedSource(context, 'poetry.lock', pins, direct, localProjects),
    indexes
  )
}

/** Poetry 2: a package is in when one of its groups is asked and that group's marker holds. */
function selectByLockedGroups(packages: PoetryPackage[], context: ReadContext): PoetryPackage[] {
  const wanted = new Set(['main', ...context.groups])
  const extras = new Set(context.extras)
  return packages.filter(p => {
    const groups = (p.groups ?? []).map(canonicalName).filter(g => wanted.has(g))
    const byGroup = isTable(p.markers) ? (p.markers as Record<string, string>) : undefined
    return groups.some(group => {
      const marker = typeof p.markers === 'string' ? p.markers : byGroup?.[group]
      return marker === undefined || markerMatches(marker, context.env, extras)
    })
  })
}

/** Poetry 1: follow the project's dependencies through the lock's dependency graph. */
function walkFromManifest(
  packages: PoetryPackage[],
  manifest: Manifest,
  context: ReadContext,
  where: string
): PoetryPackage[] {
  const byName = new Map<string, PoetryPackage[]>()
  for (const p of packages) {
    const name = canonicalName(p.name)
    byName.set(name, [...(byName.get(name) ?? []), p])
  }
  const chosen = new Map<string, { pkg: PoetryPackage; features: Set<string> }>()
  const queue: { name: string; spec: PoetrySpec }[] = []
  const noExtras = new Set<string>()
  const follow = (name: string, specs: PoetrySpec[], active = noExtras): void => {
    const spec = specs.find(s => specApplies(s, context.env, active))
    if (spec !== undefined) queue.push({ name: canonicalName(name), spec })
  }
  for (const root of selectedRoots(manifest, context)) follow(root.name, root.specs)

  while (queue.length > 0) {
    const { name, spec } = queue.shift() as { name: string; spec: PoetrySpec }
    const pkg = pickLocked(byName.get(name) ?? [], spec, context)
    if (!pkg)
      throw new Error(
        `requirements: ${where} has no entry for ${name} ${specVersion(spec)} usable on ${context.target.runtime.name}; run poetry lock`
      )
    let entry = chosen.get(name)
    if (entry && entry.pkg !== pkg)
      throw new Error(
        `requirements: ${where} selects both ${name} ${entry.pkg.version} and ${pkg.version}; run poetry lock`
      )
    if (!entry) {
      entry = { pkg, features: new Set() }
      chosen.set(name, entry)
      for (const [dep, specs] of Object.entries(pkg.dependencies ?? {})) {
        const list = ([] as PoetrySpec[]).concat(specs)
        if (!list.some(s => typeof s !== 'string' && s.optional)) follow(dep, list)
      }
    }
    const requested = typeof spec === 'string' ? [] : (spec.extras ?? []).map(canonicalName)
    for (const feature of requested.filter(f => !entry.features.has(f))) {
      entry.features.add(feature)
      const extraDeps = Object.entries(pkg.extras ?? {}).find(([k]) => canonicalName(k) === feature)
      for (const text of extraDeps?.[1] ?? []) {
        const depName = requirementName(text) ?? canonicalName(text)
        const specs = Object.entries(pkg.dependencies ?? {}).find(
          ([k]) => canonicalName(k) === depName
        )
        follow(depName, ([] as PoetrySpec[]).concat(specs?.[1] ?? '*'), new Set([feature]))
      }
    }
  }
  return [...chosen.values()].map(e => e.pkg)
}

/** Root dependencies in play: main, asked groups, and optional ones an asked extra turns on. */
function selectedRoots(manifest: Manifest, context: ReadContext): Manifest['roots'] {
  const groups = new Set(['main', ...context.groups])
  const turnedOn = new Set(
    context.extras.flatMap(e => (manifest.extraPackages.get(e) ?? []).map(canonicalName))
  )
  return manifest.roots.filter(root => {
    if (!groups.has(root.group)) return false
    if (root.extra !== undefined) return context.extras.includes(root.extra)
    return !root.optional || turnedOn.has(canonicalName(root.name))
  })
}

function directNames(manifest: Manifest, context: ReadContext): Set<string> {
  return new Set(selectedRoots(manifest, context).map(r => canonicalName(r.name)))
}

function readManifest(doc: TomlTable): Manifest {
  const tool = isTable(doc.tool) && isTable(doc.tool.poetry) ? doc.tool.poetry : {}
  const project = isTable(doc.project) ? doc.project : {}
  const roots: Manifest['roots'] = []
  const addTable = (table: unknown, group: string): void => {
    if (!isTable(table)) return
    for (const [name, value] of Object.entries(table)) {
      if (name === 'python') continue
      const specs = ([] as PoetrySpec[]).concat(value as PoetrySpec | PoetrySpec[])
      const optional = specs.some(s => typeof s !== 'string' && s.optional === true)
      roots.push({ name, specs, group, optional })
    }
  }
  const addStrings = (list: unknown, group: string, extra?: string): void => {
    for (const text of stringsIn(list)) {
      try {
        const r = parseRequirement(text)
        const spec = { version: r.specifier || '*', markers: r.marker, extras: r.extras }
        roots.push({ name: r.name, specs: [spec], group, extra, optional: false })
      } catch {
        // Poetry itself refused to lock an unreadable requirement; nothing to follow here
      }
    }
  }
  addTable(tool.dependencies, 'main')
  addTable(tool['dev-dependencies'], 'dev')
  const poetryGroups = isTable(tool.group) ? tool.group : {}
  for (const [group, body] of Object.entries(poetryGroups))
    if (isTable(body)) addTable(body.dependencies, canonicalName(group))
  addStrings(project.dependencies, 'main')
  const optional = isTable(project['optional-dependencies']) ? project['optional-dependencies'] : {}
  for (const [extra, list] of Object.entries(optional))
    addStrings(list, 'main', canonicalName(extra))
  const dependencyGroups = isTable(doc['dependency-groups']) ? doc['dependency-groups'] : {}
  for (const [group, list] of Object.entries(dependencyGroups))
    addStrings(list, canonicalName(group))

  const extraPackages = new Map(
    Object.entries(isTable(tool.extras) ? tool.extras : {}).map(([k, v]) => [
      canonicalName(k),
      stringsIn(v)
    ])
  )
  return {
    roots,
    extraPackages,
    extras: new Set([...extraPackages.keys(), ...Object.keys(optional).map(canonicalName)]),
    groups: new Set(['main', ...roots.map(r => r.group)])
  }
}

function specApplies(
  spec: PoetrySpec,
  env: MarkerEnvironment,
  extras: ReadonlySet<string>
): boolean {
  if (typeof spec === 'string') return true
  if (spec.markers && !markerMatches(spec.markers, env, extras)) return false
  if (spec.python && !poetryAllows(spec.python, env.python_full_version)) return false
  return !spec.platform || spec.platform === env.sys_platform
}

function specVersion(spec: PoetrySpec): string {
  return typeof spec === 'string' ? spec : (spec.version ?? '*')
}

/** The highest locked version that fits the constraint and the runtime's Python. */
function pickLocked(
  candidates: PoetryPackage[],
  spec: PoetrySpec,
  context: ReadContext
): PoetryPackage | undefined {
  if (candidates.length <= 1) return candidates[0]
  const python = context.env.python_full_version
  const fits = candidates.filter(
    p =>
      allowsLeniently(specVersion(spec), p.version) &&
      allowsLeniently(p['python-versions'] ?? '*', python)
  )
  const byVersion = (p: PoetryPackage) => parseVersion(p.version) ?? { epoch: 0, release: [0] }
  return fits.sort((a, b) => comparePep440Versions(byVersion(b), byVersion(a)))[0]
}

/** A constraint this reader cannot parse is left to the lock, which Poetry already resolved. */
function allowsLeniently(constraint: string, version: string): boolean {
  try {
    return poetryAllows(constraint, version)
  } catch {
    return true
  }
}

function sourceProblem(p: PoetryPackage): string | undefined {
  const type = p.source?.type
  if (type === 'git') return `comes from git (${p.source?.url}); ${VCS_WHY}`
  return undefined
}

/**
 * Poetry's constraint syntax: `||` alternatives of `,`/space-separated clauses, with `^`
 * (compatible up to the first non-zero part), `~` (up to the next minor), wildcards and
 * PEP 440 operators.
 */
export function poetryAllows(constraint: string, version: string): boolean {
  return constraint.split(/\s*\|\|?\s*/).some(alternative =>
    alternative
      .replace(/(===|==|!=|<=|>=|~=|<|>|\^|~)\s+/g, '$1')
      .split(/[\s,]+/)
      .filter(Boolean)
      .every(clause => poetryClauseAllows(clause, version))
  )
}

function poetryClauseAllows(clause: string, version: string): boolean {
  if (clause === '*') return true
  const range = (lower: string, parts: number[], bump: number): boolean => {
    const upper = [...parts.slice(0, bump), parts[bump] + 1].join('.')
    return satisfiesClause(version, `>=${lower}`) && satisfiesClause(version, `<${upper}`)
  }
  if (clause.startsWith('^') || (clause.startsWith('~') && !clause.startsWith('~='))) {
    const lower = clause.slice(1)
    const parts = (parseVersion(lower)?.release ?? []).slice()
    if (parts.length === 0) throw new Error(`invalid constraint "${clause}"`)
    if (clause.startsWith('~')) return range(lower, parts, parts.length === 1 ? 0 : 1)
    const firstNonZero = parts.findIndex(n => n !== 0)
    return range(lower, parts, firstNonZero === -1 ? parts.length - 1 : firstNonZero)
  }
  if (/^(===|==|!=|<=|>=|~=|<|>)/.test(clause)) return satisfiesClause(version, clause)
  return satisfiesClause(version, `==${clause}`)
}
