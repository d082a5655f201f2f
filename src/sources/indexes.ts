// The package indexes a lock or its manifest names (Pipfile.lock `_meta.sources`, Poetry's
// `[[tool.poetry.source]]`, uv.lock's registry URLs), read as their own tool reads them, so that
// pip asks the index the project was locked against when no index-url input is given.
import type { TomlTable } from 'smol-toml'
import { redact, splicedSecrets, urlSecrets, withoutCredentials } from '../secrets.js'
import { isTable } from './common.js'

/** One index and where it was named, for the log and pip's failure messages. */
export interface NamedIndex {
  url: string
  /** `Pipfile.lock _meta.sources "private"` */
  from: string
}

/** The indexes a source names, in pip's terms. */
export interface SourceIndexes {
  /** pip's --index-url; undefined leaves pip's own default (PyPI, or the runner's configuration). */
  index?: NamedIndex
  extra: NamedIndex[]
  /** Hosts the file says not to verify TLS for (Pipfile `verify_ssl = false`). */
  trustedHosts: string[]
  /** Credentials in the URLs, once environment variables are expanded: masked in the log. */
  secrets: string[]
}

const PYPI = 'https://pypi.org/simple/'

/**
 * `$NAME` and `${NAME}` expanded from the environment as pipenv expands them (Python's
 * os.path.expandvars): a variable that is not set stays as written.
 */
export function expandEnvironment(
  text: string,
  env: NodeJS.ProcessEnv,
  onValue: (value: string) => void = () => undefined
): string {
  return text.replace(
    /\$(?:\{([^}]+)\}|([A-Za-z0-9_]+))/g,
    (written, braced?: string, bare?: string) => {
      const value = env[braced ?? bare ?? '']
      if (value === undefined) return written
      onValue(value)
      return value
    }
  )
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname
  } catch {
    return undefined
  }
}

/**
 * PyPI named by a lock is what pip asks anyway when not configured otherwise; passing it would
 * override the runner's pip configuration (a mirror, CodeArtifact), so it is left to pip.
 */
function isPypi(url: string): boolean {
  return ['pypi.org', 'pypi.python.org'].includes(hostOf(url) ?? '')
}

function indexes(
  extra: NamedIndex[],
  first?: NamedIndex,
  trustedHosts: string[] = []
): SourceIndexes | undefined {
  const index = first && !isPypi(first.url) ? first : undefined
  const named = extra.filter(i => !isPypi(i.url))
  const all = index ? [index, ...named] : named
  if (all.length === 0) return undefined
  return {
    ...(index ? { index } : {}),
    extra: named,
    trustedHosts: [...new Set(trustedHosts)],
    secrets: [...new Set(all.flatMap(i => urlSecrets(i.url)))]
  }
}

/**
 * Pipfile.lock `_meta.sources`: pipenv installs from the first as the index and the others as
 * extra indexes, and passes `--trusted-host` for a source with `verify_ssl = false`.
 */
export function pipfileIndexes(
  meta: unknown,
  where: string,
  // as for requirement files: a lock names the host, so it never gets AWS or GitHub credentials
  env: NodeJS.ProcessEnv = withoutCredentials(process.env)
): SourceIndexes | undefined {
  const sources = isTable(meta) && Array.isArray(meta.sources) ? meta.sources : []
  const named = sources.flatMap((source: unknown, at: number) => {
    if (!isTable(source) || typeof source.url !== 'string') return []
    const name = typeof source.name === 'string' ? source.name : String(at)
    const values: string[] = []
    const url = expandEnvironment(source.url, env, value => values.push(value))
    const spliced = splicedSecrets(url, values)
    return [
      {
        url,
        from: `${where} _meta.sources "${name}"`,
        verify: source.verify_ssl !== false,
        spliced
      }
    ]
  })
  if (named.length === 0) return undefined
  const trusted = named.filter(n => !n.verify).flatMap(n => hostOf(n.url) ?? [])
  const [first, ...rest] = named.map(({ url, from }) => ({ url, from }))
  const found = indexes(rest, first, trusted)
  return (
    found && {
      ...found,
      secrets: [...new Set([...found.secrets, ...named.flatMap(n => n.spliced)])]
    }
  )
}

/** Poetry reads a source's credentials from POETRY_HTTP_BASIC_<NAME>_USERNAME / _PASSWORD. */
function withPoetryCredentials(url: string, name: string, env: NodeJS.ProcessEnv): string {
  const key = name.toUpperCase().replace(/[^A-Z0-9]/g, '_')
  const user = env[`POETRY_HTTP_BASIC_${key}_USERNAME`]
  const password = env[`POETRY_HTTP_BASIC_${key}_PASSWORD`]
  if (!user && !password) return url
  const at = url.indexOf('://')
  if (
    at < 0 ||
    url
      .slice(at + 3)
      .split('/')[0]
      .includes('@')
  )
    return url
  const credentials =
    password === undefined
      ? encodeURIComponent(user ?? '')
      : `${encodeURIComponent(user ?? '')}:${encodeURIComponent(password)}`
  return `${url.slice(0, at + 3)}${credentials}@${url.slice(at + 3)}`
}

/**
 * `[[tool.poetry.source]]` as Poetry 2 means it: a `default` source (deprecated), else the first
 * `primary` one (priority unset means primary) is the index, and then PyPI is not used unless a
 * source named PyPI is listed; further primary and `supplemental` sources are extra indexes;
 * an `explicit` source serves only the packages that name it, so it is added only when a locked
 * package comes from it. With no default or primary source, PyPI stays the index.
 */
export function poetryIndexes(
  pyproject: TomlTable | undefined,
  where: string,
  usedSources: Set<string>,
  env: NodeJS.ProcessEnv = process.env
): SourceIndexes | undefined {
  const tool = pyproject && isTable(pyproject.tool) ? pyproject.tool : {}
  const poetry = isTable(tool.poetry) ? tool.poetry : {}
  const sources = Array.isArray(poetry.source) ? poetry.source : []
  const read = sources.flatMap((source: unknown) => {
    if (!isTable(source) || typeof source.name !== 'string') return []
    const name = source.name
    const isPypi = name.toLowerCase() === 'pypi'
    const written = typeof source.url === 'string' ? source.url : isPypi ? PYPI : undefined
    if (!written) return []
    const priority =
      typeof source.priority === 'string'
        ? source.priority
        : source.default === true
          ? 'default'
          : source.secondary === true
            ? 'supplemental'
            : 'primary'
    return [
      {
        url: withPoetryCredentials(written, name, env),
        from: `${where} [[tool.poetry.source]] "${name}" (${priority})`,
        name,
        priority
      }
    ]
  })
  const main = read.find(s => s.priority === 'default') ?? read.find(s => s.priority === 'primary')
  const extra = read.filter(
    s =>
      s !== main &&
      (s.priority === 'primary' ||
        s.priority === 'supplemental' ||
        (s.priority === 'explicit' && usedSources.has(s.name.toLowerCase())))
  )
  if (!main && extra.length === 0) return undefined
  const strip = ({ url, from }: NamedIndex): NamedIndex => ({ url, from })
  return indexes(extra.map(strip), main && strip(main))
}

/**
 * uv.lock records each package's registry (`source = { registry = "…" }`); the one most
 * packages come from is the index, any other an extra index. uv writes no credentials there.
 */
export function uvIndexes(registries: string[], where: string): SourceIndexes | undefined {
  const counts = new Map<string, number>()
  for (const url of registries) counts.set(url, (counts.get(url) ?? 0) + 1)
  const [first, ...rest] = [...counts]
    .sort(([, a], [, b]) => b - a)
    .map(([url]) => ({ url, from: `${where} (source registry)` }))
  if (!first) return undefined
  return indexes(rest, first)
}

/** What pip is given: the inputs' indexes win; a file's are used only without an index-url input. */
export interface PipIndexes {
  indexUrl?: string
  extraIndexUrls: string[]
  trustedHosts: string[]
  /** Every index pip is given and where it came from. */
  named: NamedIndex[]
  /** Lines for the log: which index came from where. */
  log: string[]
}

export function pipIndexes(
  inputs: { indexUrl?: string; extraIndexUrls: string[] },
  fromSource: SourceIndexes | undefined
): PipIndexes {
  const fromInputs: NamedIndex[] = [
    ...(inputs.indexUrl ? [{ url: inputs.indexUrl, from: 'index-url' }] : []),
    ...inputs.extraIndexUrls.map(url => ({ url, from: 'extra-index-url' }))
  ]
  const shown = (i: NamedIndex): string => `${redact(i.url)} (${i.from})`
  if (!fromSource || inputs.indexUrl) {
    const log = fromSource
      ? [
          `index: ${shown(fromInputs[0])} wins over ${[fromSource.index, ...fromSource.extra]
            .flatMap(i => (i ? [shown(i)] : []))
            .join(', ')}`
        ]
      : []
    return {
      indexUrl: inputs.indexUrl,
      extraIndexUrls: inputs.extraIndexUrls,
      trustedHosts: [],
      named: fromInputs,
      log
    }
  }
  const extra = [...fromSource.extra, ...fromInputs]
  const named = [...(fromSource.index ? [fromSource.index] : []), ...extra]
  return {
    indexUrl: fromSource.index?.url,
    extraIndexUrls: extra.map(i => i.url),
    trustedHosts: fromSource.trustedHosts,
    named,
    log: [
      ...(fromSource.index ? [`index: ${shown(fromSource.index)}`] : []),
      ...extra.map(i => `extra index: ${shown(i)}`),
      ...fromSource.trustedHosts.map(host => `trusted host (verify_ssl = false): ${host}`)
    ]
  }
}
