// Lock files and manifests as uv, Poetry 2 and pipenv write them, generated from one small
// model of a locked project, so the end-to-end tests can hand the action real-world shaped
// sources that pin the test world's packages with the real sha256 of the catalog's files.

import { filesOf, hashOf } from './catalog.js'

/** One dependency as a lock records it on the package that needs it. */
export interface Edge {
  name: string
  /** PEP 440 clauses, e.g. ">=1.0". */
  specifier?: string
  /** PEP 508 marker, single-quoted strings, e.g. "sys_platform == 'win32'". */
  marker?: string
  /** Extras of the dependency that are asked for. */
  extras?: string[]
}

export interface LockedPackage {
  name: string
  version: string
  dependencies?: Edge[]
  /** The package's own extras. */
  extras?: Record<string, Edge[]>
  /**
   * How Poetry 2 and pipenv file the package: its groups (default ["main"]) and the marker
   * under which some path from the project needs it, already flattened by the locker.
   */
  groups?: string[]
  marker?: string
  /** Needed only when the project's extra of this name is asked for. */
  onlyWithExtra?: string
  /** A local project folder the lock points at instead of an index. */
  directory?: string
}

export interface LockedProject {
  name: string
  version: string
  requiresPython: string
  dependencies: Edge[]
  extras?: Record<string, Edge[]>
  /** Dependency groups (PEP 735, Poetry groups, Pipfile dev-packages as "dev"). */
  groups?: Record<string, Edge[]>
  /** Everything the lock resolved, the project itself not included. */
  packages: LockedPackage[]
}

interface LockedFile {
  filename: string
  sha256: string
  size: number
}

/** The catalog's wheels and sdist of one release, as a locker saw them on the index. */
export function lockedFiles(name: string, version: string): LockedFile[] {
  return filesOf(name)
    .filter(d => d.filename.split('-')[1] === version || d.filename.endsWith(`-${version}.tar.gz`))
    .map(d => ({ filename: d.filename, sha256: hashOf(d.filename), size: d.bytes.length }))
    .sort((a, b) => (a.filename < b.filename ? -1 : 1))
}

/** `name[extras]specifier; marker` */
export function pep508(edge: Edge): string {
  const extras = edge.extras?.length ? `[${edge.extras.join(',')}]` : ''
  const marker = edge.marker ? `; ${edge.marker}` : ''
  return `${edge.name}${extras}${edge.specifier ?? ''}${marker}`
}

/** A TOML basic string (JSON's escaping is valid TOML for these ASCII values). */
const str = (value: string): string => JSON.stringify(value)
const byName = <T extends { name: string }>(items: T[]): T[] =>
  [...items].sort((a, b) => (a.name < b.name ? -1 : 1))

/** PEP 621 pyproject.toml with PEP 735 dependency groups. */
export function pyprojectToml(project: LockedProject): string {
  const list = (edges: Edge[]): string =>
    `[\n${edges.map(e => `    ${str(pep508(e))},\n`).join('')}]`
  const lines = [
    '[project]',
    `name = ${str(project.name)}`,
    `version = ${str(project.version)}`,
    `requires-python = ${str(project.requiresPython)}`,
    `dependencies = ${list(project.dependencies)}`,
    ''
  ]
  if (project.extras) {
    lines.push('[project.optional-dependencies]')
    for (const [extra, edges] of Object.entries(project.extras))
      lines.push(`${extra} = ${list(edges)}`)
    lines.push('')
  }
  if (project.groups) {
    lines.push('[dependency-groups]')
    for (const [group, edges] of Object.entries(project.groups))
      lines.push(`${group} = ${list(edges)}`)
    lines.push('')
  }
  return lines.join('\n')
}

/** uv.lock version 1 (revision 3): the project as a virtual root, packages from `indexUrl`. */
export function uvLock(project: LockedProject, indexUrl: string): string {
  const filesUrl = indexUrl.replace(/\/simple\/?$/, '/files/')
  const edge = (e: Edge): string => {
    const parts = [`name = ${str(e.name)}`]
    if (e.extras?.length) parts.push(`extra = [${e.extras.map(str).join(', ')}]`)
    if (e.marker) parts.push(`marker = ${str(e.marker)}`)
    return `{ ${parts.join(', ')} }`
  }
  const edges = (list: Edge[]): string =>
    `[\n${byName(list)
      .map(e => `    ${edge(e)},\n`)
      .join('')}]`
  const tables = (heading: string, table: Record<string, Edge[]> | undefined): string[] =>
    table
      ? [
          '',
          `[${heading}]`,
          ...Object.entries(table).map(([key, list]) => `${key} = ${edges(list)}`)
        ]
      : []

  const blocks: string[] = []
  const root = [
    '[[package]]',
    `name = ${str(project.name)}`,
    `version = ${str(project.version)}`,
    'source = { virtual = "." }',
    `dependencies = ${edges(project.dependencies)}`,
    ...tables('package.optional-dependencies', project.extras),
    ...tables('package.dev-dependencies', project.groups),
    '',
    '[package.metadata]',
    `requires-dist = [\n${requiresDist(project)
      .map(line => `    ${line},\n`)
      .join('')}]`,
    `provides-extras = [${Object.keys(project.extras ?? {})
      .map(str)
      .join(', ')}]`
  ]
  if (project.groups) {
    root.push('', '[package.metadata.requires-dev]')
    for (const [group, list] of Object.entries(project.groups))
      root.push(`${group} = [${list.map(e => `{ name = ${str(e.name)} }`).join(', ')}]`)
  }

  for (const pkg of byName([...project.packages, { name: project.name, version: '' }])) {
    if (pkg.name === project.name) {
      blocks.push(root.join('\n'))
      continue
    }
    const lines = ['[[package]]', `name = ${str(pkg.name)}`, `version = ${str(pkg.version)}`]
    if (pkg.directory) {
      lines.push(`source = { directory = ${str(pkg.directory)} }`)
    } else {
      lines.push(`source = { registry = ${str(indexUrl)} }`)
    }
    if (pkg.dependencies?.length) lines.push(`dependencies = ${edges(pkg.dependencies)}`)
    if (!pkg.directory) {
      const files = lockedFiles(pkg.name, pkg.version)
      const fileEntry = (f: LockedFile): string =>
        `{ url = ${str(filesUrl + f.filename)}, hash = "sha256:${f.sha256}", size = ${f.size}, upload-time = "2026-01-15T09:30:00.000Z" }`
      const sdist = files.find(f => f.filename.endsWith('.tar.gz'))
      if (sdist) lines.push(`sdist = ${fileEntry(sdist)}`)
      const wheels = files.filter(f => f.filename.endsWith('.whl'))
      if (wheels.length)
        lines.push(`wheels = [\n${wheels.map(f => `    ${fileEntry(f)},\n`).join('')}]`)
    }
    lines.push(...tables('package.optional-dependencies', pkg.extras))
    blocks.push(lines.join('\n'))
  }
  const head = [
    'version = 1',
    'revision = 3',
    `requires-python = ${str(project.requiresPython)}`
  ].join('\n')
  return [head, ...blocks].join('\n\n') + '\n'
}

/** uv's record of what the project itself declares, extras as markers. */
function requiresDist(project: LockedProject): string[] {
  const declared: Array<{ edge: Edge; extra?: string }> = [
    ...project.dependencies.map(edge => ({ edge })),
    ...Object.entries(project.extras ?? {}).flatMap(([extra, list]) =>
      list.map(edge => ({ edge, extra }))
    )
  ]
  return declared.map(({ edge, extra }) => {
    const marker = [edge.marker, extra && `extra == '${extra}'`].filter(Boolean).join(' and ')
    const parts = [`name = ${str(edge.name)}`]
    if (marker) parts.push(`marker = ${str(marker)}`)
    if (edge.specifier) parts.push(`specifier = ${str(edge.specifier)}`)
    return `{ ${parts.join(', ')} }`
  })
}

/** Poetry writes markers with double-quoted strings. */
const poetryMarker = (marker: string): string => marker.replace(/'/g, '"')

/** poetry.lock as Poetry 2.1 writes it (lock-version 2.1: groups and markers per package). */
export function poetryLock(project: LockedProject): string {
  const blocks = byName(project.packages).map(pkg => {
    const markers = [
      pkg.onlyWithExtra && `extra == "${pkg.onlyWithExtra}"`,
      pkg.marker && poetryMarker(pkg.marker)
    ].filter(Boolean)
    const lines = [
      '[[package]]',
      `name = ${str(pkg.name)}`,
      `version = ${str(pkg.version)}`,
      `description = ${str(`The ${pkg.name} package`)}`,
      `optional = ${pkg.onlyWithExtra ? 'true' : 'false'}`,
      'python-versions = ">=3.8"',
      `groups = [${(pkg.groups ?? ['main']).map(str).join(', ')}]`
    ]
    if (markers.length) lines.push(`markers = ${str(markers.join(' and '))}`)
    if (pkg.directory) {
      lines.push('files = []', 'develop = true')
    } else {
      const files = lockedFiles(pkg.name, pkg.version)
      lines.push(
        `files = [\n${files.map(f => `    {file = ${str(f.filename)}, hash = "sha256:${f.sha256}"},\n`).join('')}]`
      )
    }
    if (pkg.dependencies?.length) {
      lines.push('', '[package.dependencies]')
      for (const dep of pkg.dependencies) {
        const version = dep.specifier ?? '*'
        lines.push(
          dep.marker
            ? `${dep.name} = {version = ${str(version)}, markers = ${str(poetryMarker(dep.marker))}}`
            : `${dep.name} = ${str(version)}`
        )
      }
    }
    if (pkg.extras) {
      lines.push('', '[package.extras]')
      for (const [extra, list] of Object.entries(pkg.extras))
        lines.push(
          `${extra} = [${list.map(e => str(`${e.name}${e.specifier ? ` (${e.specifier})` : ''}`)).join(', ')}]`
        )
    }
    if (pkg.directory) {
      lines.push('', '[package.source]', 'type = "directory"', `url = ${str(pkg.directory)}`)
    }
    return lines.join('\n')
  })
  const extras = Object.entries(project.extras ?? {})
  const tail = [
    ...(extras.length
      ? [
          '[extras]',
          ...extras.map(([extra, list]) => `${extra} = [${list.map(e => str(e.name)).join(', ')}]`),
          ''
        ]
      : []),
    '[metadata]',
    'lock-version = "2.1"',
    `python-versions = ${str(project.requiresPython)}`,
    'content-hash = "5b0c7b6a3c1f7f1d1d8e6ad8e6a0a6f1d0e3c9b8a7f6e5d4c3b2a1908f7e6d5c"'
  ]
  return [
    '# This file is automatically @generated by Poetry 2.1.3 and should not be changed by hand.',
    '',
    [...blocks, tail.join('\n')].join('\n\n'),
    ''
  ].join('\n')
}

/** Pipfile: packages and dev-packages (the "dev" group); extras do not exist there. */
export function pipfile(project: LockedProject, indexUrl: string): string {
  const table = (edges: Edge[]): string[] =>
    edges.map(e => `${e.name} = ${str(e.specifier ?? '*')}`)
  return [
    '[[source]]',
    `url = ${str(indexUrl)}`,
    'verify_ssl = false',
    'name = "pypi"',
    '',
    '[packages]',
    ...table(project.dependencies),
    '',
    '[dev-packages]',
    ...table(project.groups?.dev ?? []),
    '',
    '[requires]',
    'python_version = "3.12"',
    ''
  ].join('\n')
}

/** Pipfile.lock as pipenv writes it: every package of a section flattened, with its markers. */
export function pipfileLock(project: LockedProject, indexUrl: string): string {
  const entry = (pkg: LockedPackage): Record<string, unknown> => {
    if (pkg.directory) return { editable: true, path: pkg.directory }
    return {
      hashes: lockedFiles(pkg.name, pkg.version)
        .map(f => `sha256:${f.sha256}`)
        .sort(),
      index: 'pypi',
      ...(pkg.marker ? { markers: pkg.marker } : {}),
      version: `==${pkg.version}`
    }
  }
  const section = (group: string): Record<string, unknown> =>
    Object.fromEntries(
      byName(project.packages)
        .filter(p => (p.groups ?? ['main']).includes(group) && !p.onlyWithExtra)
        .map(p => [p.name, entry(p)])
    )
  const lock = {
    _meta: {
      hash: { sha256: '8e6c7b9d2f1a0e3c4b5a69788766554433221100ffeeddccbbaa998877665544' },
      'pipfile-spec': 6,
      requires: { python_version: '3.12' },
      sources: [{ name: 'pypi', url: indexUrl, verify_ssl: false }]
    },
    default: section('main'),
    develop: section('dev')
  }
  return JSON.stringify(lock, null, 4) + '\n'
}
