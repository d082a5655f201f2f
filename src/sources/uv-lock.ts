// uv.lock (version 1): walk the root project's dependencies, the asked extras and dependency
// groups through the lock's graph, markers evaluated for Lambda, and pin each package reached.
import {
  type DependencySource,
  type LocalProject,
  type ReadContext,
  checkAsked,
  checkRequiresPython,
  displayPath,
  isTable,
  readToml
} from './common.js'
import { uvIndexes } from './indexes.js'
import {
  type LockedPin,
  lockedLocalProject,
  lockedSource,
  pipHashes,
  tomlPackageLines,
  withIndexes
} from './locks.js'
import { markerMatches } from './markers.js'
import { VCS_WHY, canonicalName } from './pep508.js'

interface UvSource {
  registry?: string
  git?: string
  url?: string
  path?: string
  directory?: string
  editable?: string
  virtual?: string
}

interface UvDependency {
  name: string
  version?: string
  source?: UvSource
  marker?: string
  extra?: string[]
}

interface UvPackage {
  name: string
  version?: string
  source?: UvSource
  dependencies?: UvDependency[]
  'optional-dependencies'?: Record<string, UvDependency[]>
  'dev-dependencies'?: Record<string, UvDependency[]>
  sdist?: { hash?: string }
  wheels?: { hash?: string }[]
  metadata?: { 'provides-extras'?: string[]; 'requires-dev'?: Record<string, unknown> }
}

export async function readUvLock(context: ReadContext): Promise<DependencySource> {
  const { text, doc } = await readToml(context)
  const where = displayPath(context.file, context.cwd)
  if (doc.version !== 1)
    throw new Error(
      `requirements: ${where} is uv.lock version ${String(doc.version)}; this action reads version 1`
    )
  checkRequiresPython(context, doc['requires-python'], where)
  const packages = (Array.isArray(doc.package) ? doc.package : []) as unknown as UvPackage[]
  const root = rootProject(packages, where)
  const rootName = canonicalName(root.name)
  const optional = byNormalisedName(root['optional-dependencies'])
  const groups = byNormalisedName(root['dev-dependencies'])
  const declaredExtras = (root.metadata?.['provides-extras'] ?? []).map(canonicalName)
  const declaredGroups = Object.keys(root.metadata?.['requires-dev'] ?? {}).map(canonicalName)
  checkAsked('extras', context.extras, [...optional.keys(), ...declaredExtras], where)
  checkAsked('groups', context.groups, [...groups.keys(), ...declaredGroups], where)
  // uv writes conflicting extras and groups into markers as synthetic extras of the project
  const active = new Set([
    ...context.extras.map(e => `extra-${rootName.length}-${rootName}-${e}`),
    ...context.groups.map(g => `group-${rootName.length}-${rootName}-${g}`)
  ])

  const byName = new Map<string, UvPackage[]>()
  for (const p of packages) {
    const name = canonicalName(p.name)
    byName.set(name, [...(byName.get(name) ?? []), p])
  }
  const resolve = (dep: UvDependency): UvPackage => {
    const candidates = (byName.get(canonicalName(dep.name)) ?? []).filter(
      p =>
        (dep.version === undefined || p.version === dep.version) &&
        (dep.source === undefined || sameSource(p.source, dep.source))
    )
    if (candidates.length !== 1)
      throw new Error(
        `requirements: ${where} has ${candidates.length} entries for ${dep.name}${dep.version ? ` ${dep.version}` : ''}; regenerate it with uv lock`
      )
    return candidates[0]
  }

  const selected = new Map<UvPackage, Set<string>>()
  const direct = new Set<string>()
  const queue: { dep: UvDependency; fromRoot: boolean }[] = []
  const enqueue = (deps: UvDependency[] | undefined, fromRoot: boolean): void => {
    for (const dep of deps ?? []) queue.push({ dep, fromRoot })
  }
  const rootExtras = new Set<string>()
  const expandRootExtra = (extra: string): void => {
    if (rootExtras.has(extra)) return
    rootExtras.add(extra)
    enqueue(optional.get(extra), true)
  }
  enqueue(root.dependencies, true)
  context.extras.forEach(expandRootExtra)
  for (const group of context.groups) enqueue(groups.get(group), true)

  while (queue.length > 0) {
    const { dep, fromRoot } = queue.shift() as { dep: UvDependency; fromRoot: boolean }
    if (dep.marker && !markerMatches(dep.marker, context.env, active)) continue
    const pkg = resolve(dep)
    if (pkg === root) {
      // `app[extra]` inside the project's own extras or groups
      for (const extra of dep.extra ?? []) expandRootExtra(canonicalName(extra))
      continue
    }
    if (fromRoot) direct.add(canonicalName(pkg.name))
    let features = selected.get(pkg)
    if (!features) {
      features = new Set()
      selected.set(pkg, features)
      enqueue(pkg.dependencies, false)
    }
    for (const extra of (dep.extra ?? []).map(canonicalName)) {
      if (features.has(extra)) continue
      features.add(extra)
      enqueue(byNormalisedName(pkg['optional-dependencies']).get(extra), false)
    }
  }

  const lineOf = tomlPackageLines(text)
  const pins: LockedPin[] = []
  const localProjects: LocalProject[] = []
  for (const p of selected.keys()) {
    const name = canonicalName(p.name)
    const line = lineOf(name, p.version)
    // a virtual member has no package of its own; its dependencies were walked above
    if (p.source?.virtual !== undefined) continue
    const local = p.source?.editable ?? p.source?.directory ?? p.source?.path
    if (local !== undefined) {
      const editable = p.source?.editable !== undefined
      localProjects.push(
        await lockedLocalProject(context, { name, written: local, editable, line })
      )
      continue
    }
    const problem = sourceProblem(p.source)
    if (problem) throw new Error(`requirements: ${where} line ${line}: ${p.name} ${problem}`)
    const hashes = pipHashes([p.sdist?.hash, ...(p.wheels ?? []).map(w => w.hash)])
    pins.push({ name, version: p.version ?? '', url: p.source?.url, hashes, line })
  }
  const registries = [...selected.keys()].flatMap(p => p.source?.registry ?? [])
  return withIndexes(
    await lockedSource(context, 'uv.lock', pins, direct, localProjects),
    uvIndexes(registries, where)
  )
}

/** The project the lock was made for: the workspace member at `.`, or the only member. */
function rootProject(packages: UvPackage[], where: string): UvPackage {
  const members = packages.filter(
    p => p.source?.editable !== undefined || p.source?.virtual !== undefined
  )
  const root =
    members.find(p => p.source?.editable === '.' || p.source?.virtual === '.') ??
    (members.length === 1 ? members[0] : undefined)
  if (root) return root
  const list = members.length ? ` (workspace members: ${members.map(m => m.name).join(', ')})` : ''
  throw new Error(
    `requirements: ${where} has no project at its root${list}; point requirements at the uv.lock of a project`
  )
}

function sourceProblem(source: UvSource | undefined): string | undefined {
  if (source?.git !== undefined) return `comes from git (${source.git}); ${VCS_WHY}`
  return undefined
}

function sameSource(a: UvSource | undefined, b: UvSource): boolean {
  const keys = (s: UvSource): string =>
    JSON.stringify(Object.entries(s).sort(([x], [y]) => (x < y ? -1 : 1)))
  return a !== undefined && keys(a) === keys(b)
}

function byNormalisedName<T>(table: Record<string, T> | undefined): Map<string, T> {
  return new Map(isTable(table) ? Object.entries(table).map(([k, v]) => [canonicalName(k), v]) : [])
}
