// PEP 508 requirement strings: the name, extras, version or URL and marker of one dependency,
// and which direct references cannot go into a layer built for another platform.
import { canonicalExtra } from './markers.js'

export interface Requirement {
  /** PEP 503 normalised. */
  name: string
  /** PEP 685 normalised, sorted. */
  extras: string[]
  /** Version clauses without spaces, e.g. ">=2,<3"; "" when unconstrained or a URL. */
  specifier: string
  url?: string
  marker?: string
  /** The requirement as written, up to its marker. */
  withoutMarker: string
}

/** PEP 503: lower case, runs of `-`, `_` and `.` become one `-`. */
export function canonicalName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[-_.]+/g, '-')
}

/** The canonical name a requirement string starts with (`Foo_Bar[x]>=2; marker` → `foo-bar`). */
export function requirementName(requirement: string): string | undefined {
  const name = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(requirement)?.[1]
  return name === undefined ? undefined : canonicalName(name)
}

const NAME_PATTERN = /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?\s*/
const CLAUSE_PATTERN = /^(===|==|!=|<=|>=|~=|<|>)\s*\S+$/

/** Parses `name[extras] (specifier) ; marker` or `name[extras] @ url ; marker`; throws why not. */
export function parseRequirement(text: string): Requirement {
  const m = NAME_PATTERN.exec(text)
  if (!m) throw new Error('it does not start with a package name')
  const extras = (m[2] ?? '')
    .split(',')
    .map(e => e.trim())
    .filter(Boolean)
    .map(canonicalExtra)
    .sort()
  const rest = text.slice(m[0].length)
  let body: string
  let marker: string | undefined
  let url: string | undefined
  if (rest.startsWith('@')) {
    // A URL may itself contain ';', so its marker needs whitespace before the ';'.
    const split = /\s+;/.exec(rest)
    body = split ? rest.slice(0, split.index) : rest
    marker = split ? rest.slice(split.index + split[0].length) : undefined
    url = body.slice(1).trim()
    if (!url) throw new Error('"@" is not followed by a URL')
  } else {
    const at = rest.indexOf(';')
    body = at === -1 ? rest : rest.slice(0, at)
    marker = at === -1 ? undefined : rest.slice(at + 1)
  }
  const specifier =
    url === undefined
      ? body
          .trim()
          .replace(/^\((.*)\)$/, '$1')
          .replace(/\s+/g, '')
      : ''
  const clauses = specifier ? specifier.split(',') : []
  const bad = clauses.find(c => !CLAUSE_PATTERN.test(c))
  if (bad !== undefined) throw new Error(`"${bad}" is not a version specifier`)
  const withoutMarker = text.slice(0, m[0].length + body.length).trim()
  return {
    name: canonicalName(m[1]),
    extras,
    specifier: clauses.sort().join(','),
    url,
    marker: marker?.trim() || undefined,
    withoutMarker
  }
}

/** The requirement in one normal form, for the build identity. */
export function normalRequirement(r: Requirement): string {
  const extras = r.extras.length ? `[${r.extras.join(',')}]` : ''
  return r.url !== undefined ? `${r.name}${extras} @ ${r.url}` : `${r.name}${extras}${r.specifier}`
}

const VCS_SCHEME = /^(git|hg|svn|bzr)\+/i
const URL_SCHEME = /^[a-z][a-z0-9+.-]*:/i
const ARCHIVE = /\.(whl|zip|tar|tar\.gz|tgz|tar\.bz2|tbz|tar\.xz|txz|tlz|tar\.lz|tar\.lzma)$/i

export const LOCAL_WHY =
  'it cannot be built for another platform here; publish it as a wheel to an index and require it by name'
export const BUILD_WHY =
  'pip would build it on the runner, which cannot build it for Lambda; point it at a .whl, or publish it to an index and require it by name (the action builds pure sdists from an index itself)'
export const VCS_WHY =
  'it cannot be pinned by hash nor built for another platform here; publish it as a wheel to an index and require it by name'

/**
 * Why a requirement (a requirements-file line without its options, or a PEP 508 string)
 * cannot go into a layer: local paths, `file:` URLs, version-control URLs, and URLs of
 * anything but a wheel, which pip builds on the runner even with --only-binary=:all:.
 * Undefined when it can.
 */
export function directReferenceProblem(text: string): string | undefined {
  const trimmed = text.trim()
  const named = /^[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*@/.exec(trimmed)
  const target = named ? trimmed.slice(named[0].length).trim() : trimmed
  if (VCS_SCHEME.test(target)) return `is a version-control URL; ${VCS_WHY}`
  if (/^file:/i.test(target)) return `is a local file URL; ${LOCAL_WHY}`
  if (named) {
    if (URL_SCHEME.test(target)) return notWheelProblem(target)
    return `is a local path; ${LOCAL_WHY}`
  }
  if (URL_SCHEME.test(target)) return notWheelProblem(target)
  const bare = target.split(/\s*;/)[0].replace(/\[[^\]]*\]$/, '')
  if (/^[.~/\\]/.test(bare) || /[/\\]/.test(bare) || ARCHIVE.test(bare))
    return `is a local path; ${LOCAL_WHY}`
  return undefined
}

function notWheelProblem(target: string): string | undefined {
  const url = target.split(/\s/)[0].replace(/[?#].*$/, '')
  return /\.whl$/i.test(url) ? undefined : `is not a wheel URL; ${BUILD_WHY}`
}

/** The project name of a bare URL requirement, from `#egg=` or a wheel file name. */
export function nameFromUrl(url: string): string | undefined {
  const egg = /[#&]egg=([A-Za-z0-9._-]+)/.exec(url)
  if (egg) return canonicalName(egg[1])
  const wheel = /\/([A-Za-z0-9_.]+)-[^-/]+(?:-[^-/]+)?-[^-/]+-[^-/]+-[^-/]+\.whl(?:[#?].*)?$/i.exec(
    url
  )
  return wheel ? canonicalName(wheel[1]) : undefined
}
