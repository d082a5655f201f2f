// Pipfile.lock (JSON): every package of a section is already listed with its pin, hashes and
// markers; "default" always, "develop" or another category only when asked as a group.
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import {
  type DependencySource,
  type LocalProject,
  type ReadContext,
  checkAsked,
  displayPath,
  isTable,
  readSourceText,
  readToml
} from './common.js'
import { pipfileIndexes } from './indexes.js'
import {
  type LockedPin,
  lockedLocalProject,
  lockedSource,
  pipHashes,
  withIndexes
} from './locks.js'
import { markerMatches } from './markers.js'
import { VCS_WHY, canonicalName } from './pep508.js'

interface PipfileEntry {
  version?: string
  hashes?: string[]
  markers?: string
  path?: string
  editable?: boolean
  file?: string
  git?: string
  hg?: string
  svn?: string
  bzr?: string
}

export async function readPipfileLock(context: ReadContext): Promise<DependencySource> {
  const where = displayPath(context.file, context.cwd)
  const text = await readSourceText(context, context.file)
  let doc: Record<string, unknown>
  try {
    doc = JSON.parse(text) as Record<string, unknown>
  } catch (error) {
    throw new Error(`requirements: ${where}: not valid JSON (${(error as Error).message})`)
  }
  const sectionNames = Object.keys(doc).filter(k => k !== '_meta' && isTable(doc[k]))
  const available = new Map(sectionNames.map(s => [canonicalName(s), s]))
  // `pipenv install --dev` spells the develop section "dev"
  if (available.has('develop')) available.set('dev', 'develop')
  checkAsked('groups', context.groups, available.keys(), where)
  const sections = [...new Set(['default', ...context.groups.map(g => available.get(g) as string)])]

  const lines = text.split('\n')
  const pins: LockedPin[] = []
  const localProjects: LocalProject[] = []
  for (const section of sections) {
    const entries = isTable(doc[section]) ? (doc[section] as Record<string, PipfileEntry>) : {}
    const sectionLine = lines.findIndex(l => l.includes(`${JSON.stringify(section)}:`))
    for (const [key, entry] of Object.entries(entries)) {
      const at = lines.findIndex((l, i) => i > sectionLine && l.includes(`${JSON.stringify(key)}:`))
      const line = at === -1 ? undefined : at + 1
      const problem = entryProblem(entry)
      if (problem) throw new Error(`requirements: ${where} line ${line}: ${key} ${problem}`)
      if (entry.markers && !markerMatches(entry.markers, context.env)) continue
      const local = localPath(entry)
      if (local !== undefined) {
        const project = { name: key, written: local, editable: entry.editable === true, line }
        localProjects.push(await lockedLocalProject(context, project))
        continue
      }
      const url = entry.file
      if (!url && !entry.version?.startsWith('=='))
        throw new Error(
          `requirements: ${where} line ${line}: ${key} has no exact version ("${entry.version ?? ''}"); run pipenv lock`
        )
      const version = entry.version?.replace(/^==/, '') ?? ''
      pins.push({
        name: canonicalName(key),
        version,
        url,
        hashes: pipHashes(entry.hashes ?? []),
        line
      })
    }
  }
  const direct = await pipfileNames(context, sections)
  const source = await lockedSource(context, 'Pipfile.lock', pins, direct, localProjects)
  return withIndexes(source, pipfileIndexes(doc._meta, where))
}

function entryProblem(entry: PipfileEntry): string | undefined {
  const vcs = entry.git ?? entry.hg ?? entry.svn ?? entry.bzr
  if (vcs) return `comes from version control (${vcs}); ${VCS_WHY}`
  return undefined
}

/** A project or file on disk, relative to the Pipfile's folder (pipenv writes `./libs/common`). */
function localPath(entry: PipfileEntry): string | undefined {
  if (entry.path !== undefined) return entry.path
  if (entry.file === undefined || /^https?:\/\//i.test(entry.file)) return undefined
  return entry.file.replace(/^file:(\/\/)?/i, '')
}

/** The names the Pipfile beside the lock asks for directly, when it is there. */
async function pipfileNames(
  context: ReadContext,
  sections: string[]
): Promise<Set<string> | undefined> {
  const pipfile = path.join(path.dirname(context.file), 'Pipfile')
  const exists = await fs.stat(pipfile).then(
    () => true,
    () => false
  )
  if (!exists) return undefined
  const { doc } = await readToml(context, pipfile)
  const pipfileSection = (section: string): string =>
    section === 'default' ? 'packages' : section === 'develop' ? 'dev-packages' : section
  return new Set(
    sections.flatMap(section => {
      const table = doc[pipfileSection(section)]
      return isTable(table) ? Object.keys(table).map(canonicalName) : []
    })
  )
}
