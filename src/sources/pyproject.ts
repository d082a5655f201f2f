// pyproject.toml: PEP 621 [project] dependencies, the extras asked for, and PEP 735
// dependency groups, with their markers evaluated for Lambda. Not a lock: pip still resolves.
import type { TomlTable } from 'smol-toml'
import {
  type DependencySource,
  type ReadContext,
  checkAsked,
  checkRequiresPython,
  displayPath,
  identityOf,
  isTable,
  lineOfQuoted,
  readToml,
  stringsIn,
  writeGenerated
} from './common.js'
import { poetryIndexes, type SourceIndexes } from './indexes.js'
import { markerMatches, parseMarker } from './markers.js'
import {
  type Requirement,
  canonicalName,
  directReferenceProblem,
  normalRequirement,
  parseRequirement
} from './pep508.js'

export async function readPyproject(context: ReadContext): Promise<DependencySource> {
  const { text, doc } = await readToml(context)
  const where = displayPath(context.file, context.cwd)
  const project = doc.project
  if (!isTable(project)) {
    const poetry = isTable(doc.tool) && isTable(doc.tool.poetry)
    throw new Error(
      `requirements: ${where} has no [project] table (PEP 621)` +
        (poetry ? '; for a Poetry project, point requirements at its poetry.lock' : '')
    )
  }
  const dynamic = stringsIn(project.dynamic)
  if (dynamic.includes('dependencies'))
    throw new Error(
      `requirements: ${where} declares its dependencies dynamic (the build backend computes them), so they cannot be read from the file; point requirements at a lock file or a requirements file`
    )
  if (context.extras.length && dynamic.includes('optional-dependencies'))
    throw new Error(
      `extras: ${where} declares its optional-dependencies dynamic, so its extras cannot be read from the file; point requirements at a lock file`
    )
  checkRequiresPython(context, project['requires-python'], where)

  const selected = projectRequirements(doc, context, text)
  const lines = [...new Set(selected.map(s => normalRequirement(s.requirement)))].sort()
  const origins = new Map<string, { file: string; line: number }>()
  for (const { requirement, text: written } of selected) {
    if (!origins.has(requirement.name))
      origins.set(requirement.name, { file: context.file, line: lineOfQuoted(text, written) ?? 1 })
  }
  return {
    kind: 'pyproject',
    file: context.file,
    requirementsFile: await writeGenerated(context, 'pyproject', lines),
    hashed: false,
    directNames: [...origins.keys()].sort(),
    origin: name => origins.get(canonicalName(name)),
    identity: identityOf(lines),
    ...withIndexes(poetryIndexes(doc, where, new Set()))
  }
}

/** The indexes of `[[tool.poetry.source]]`, their credentials among the secrets. */
function withIndexes(
  indexes: SourceIndexes | undefined
): Pick<DependencySource, 'indexes' | 'secrets'> {
  return indexes ? { indexes, secrets: indexes.secrets } : {}
}

/**
 * The requirements a pyproject asks for on Lambda: [project].dependencies, the asked extras'
 * optional dependencies (a self-reference such as `app[extra]` expands that extra) and the
 * asked dependency groups (include-group followed), markers evaluated.
 */
export function projectRequirements(
  doc: TomlTable,
  context: ReadContext,
  text: string
): { requirement: Requirement; text: string }[] {
  const where = displayPath(context.file, context.cwd)
  const project = isTable(doc.project) ? doc.project : {}
  const self = typeof project.name === 'string' ? canonicalName(project.name) : undefined
  const optional = normalisedKeys(project['optional-dependencies'])
  const groups = normalisedKeys(doc['dependency-groups'])
  checkAsked('extras', context.extras, optional.keys(), where)
  checkAsked('groups', context.groups, groups.keys(), where)

  const selected: { requirement: Requirement; text: string }[] = []
  const expanded = new Set<string>()
  const add = (written: string[], extra?: string): void => {
    for (const requirementText of written) {
      const requirement = readProjectRequirement(requirementText, where, text)
      const active = new Set(extra ? [extra] : [])
      if (requirement.marker && !markerMatches(requirement.marker, context.env, active)) continue
      if (requirement.name === self) requirement.extras.forEach(addExtra)
      else selected.push({ requirement, text: requirementText })
    }
  }
  const addExtra = (extra: string): void => {
    if (expanded.has(extra)) return
    expanded.add(extra)
    checkAsked('extras', [extra], optional.keys(), where)
    add(stringsIn(optional.get(extra)), extra)
  }
  add(stringsIn(project.dependencies))
  context.extras.forEach(addExtra)
  for (const group of context.groups) add(groupRequirements(groups, group, [], where))
  return selected
}

function readProjectRequirement(written: string, where: string, text: string): Requirement {
  const line = lineOfQuoted(text, written)
  const at = line ? `${where} line ${line}` : where
  const problem = directReferenceProblem(written)
  if (problem) throw new Error(`requirements: ${at}: "${written}" ${problem}`)
  let requirement: Requirement
  try {
    requirement = parseRequirement(written)
  } catch (error) {
    const message = (error as Error).message
    throw new Error(`requirements: ${at}: cannot read requirement "${written}": ${message}`)
  }
  try {
    if (requirement.marker) parseMarker(requirement.marker)
  } catch (error) {
    throw new Error(`requirements: ${at}: ${(error as Error).message}`)
  }
  return requirement
}

/** PEP 735: a group lists requirement strings and `{ include-group = "other" }` tables. */
function groupRequirements(
  groups: Map<string, unknown>,
  name: string,
  trail: string[],
  where: string
): string[] {
  if (trail.includes(name))
    throw new Error(
      `groups: ${where} dependency group "${name}" includes itself (${[...trail, name].join(' → ')})`
    )
  checkAsked('groups', [name], groups.keys(), where)
  const entries = groups.get(name)
  return (Array.isArray(entries) ? entries : []).flatMap(entry => {
    if (typeof entry === 'string') return [entry]
    const include = isTable(entry) ? entry['include-group'] : undefined
    return typeof include === 'string'
      ? groupRequirements(groups, canonicalName(include), [...trail, name], where)
      : []
  })
}

/** Extra and group names compare normalised (PEP 685, PEP 735). */
function normalisedKeys(table: unknown): Map<string, unknown> {
  return new Map(isTable(table) ? Object.entries(table).map(([k, v]) => [canonicalName(k), v]) : [])
}
