import { describe, expect, it } from 'vitest'
import { errorMessage } from '../src/errors.js'
import { inputFromEnv, readInputs, type ActionInputs } from '../src/inputs.js'
import { pipError } from '../src/builder/pip.js'
import { maskSecrets, redact, urlSecrets } from '../src/secrets.js'

function read(inputs: Record<string, string>): ActionInputs {
  const env = Object.fromEntries(
    Object.entries({ publish: 'false', ...inputs }).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])
  )
  return readInputs(inputFromEnv(env), new Date('2026-11-27T12:00:00Z'))
}

/** The inputs' error, or the inputs themselves when they are accepted. */
function attempt(inputs: Record<string, string>): { error?: string; inputs?: ActionInputs } {
  try {
    return { inputs: read(inputs) }
  } catch (error) {
    return { error: errorMessage(error) }
  }
}

// [URL as the user writes it, the password (or token) as the user means it]
const HOSTILE: Array<[string, string]> = [
  ['https://user:p@ss/w#rd@host.example/simple/', 'p@ss/w#rd'],
  ['https://user:pa/ss@host.example/simple/', 'pa/ss'],
  ['https://user:pa#ss@host.example/simple/', 'pa#ss'],
  ['https://user:pa?ss@host.example/simple/', 'pa?ss'],
  ['https://user:pa\\ss@host.example/simple/', 'pa\\ss'],
  ['https://user:p@ss@host.example/simple/', 'p@ss'],
  ['https://user:pa ss@host.example/simple/', 'pa ss'],
  ['https://tok/en@host.example/simple/', 'tok/en'],
  ['https://aws:s3cr%2Ft@host.example/simple/', 's3cr/t'],
  ['https://aws:ab%zzcd@host.example/simple/', 'ab%zzcd'],
  ['ftp://user:hunter2@host.example/simple/', 'hunter2'],
  ['user:hunter2@host.example/simple/', 'hunter2'],
  ['https://user:hunter2@', 'hunter2']
]

describe('an index URL with credentials pip or `new URL` would misread', () => {
  it.each(HOSTILE)('%s: the password is in no message', (url, password) => {
    const messages: string[] = []
    // extra-index-url is split on white space, so a password with a space cannot be given there
    const inputs = /\s/.test(url) ? ['index-url'] : ['index-url', 'extra-index-url']
    for (const input of inputs) {
      const { error } = attempt({ [input]: url })
      if (error) messages.push(error)
    }
    // what pip prints of a URL it was given, as the action echoes it
    if (/^[a-z]+:\/\/\S+$/.test(url)) {
      messages.push(
        redact(`Looking in indexes: ${url}`),
        pipError(`ERROR: Could not find a version that satisfies the requirement x (from ${url})`)
      )
    }
    for (const message of messages) {
      expect(message).not.toContain(password)
      expect(message).not.toContain(encodeURIComponent(password))
    }
  })

  it.each(HOSTILE)(
    '%s: the password is registered whole when the URL is accepted',
    (url, password) => {
      const { inputs } = attempt({ 'index-url': url })
      if (inputs) expect(inputs.secrets).toContain(password)
      // pip-args are passed to pip as they are: there the URL is only masked, never refused
      if (/^[a-z]+:\/\//.test(url)) {
        expect(attempt({ 'pip-args': `--extra-index-url '${url}'` }).inputs?.secrets).toContain(
          password
        )
      }
    }
  )

  it('refuses a raw / ? # \\ or space in the password, before pip sends part of it as a host name', () => {
    expect(attempt({ 'index-url': 'https://user:p@ss/w#rd@host.example/simple/' }).error).toBe(
      'index-url: "https://***@host.example/simple/" has a /, ?, #, \\ or space in its user name or password, which pip would not read as part of it; percent-encode them (%2F, %3F, %23, %5C, %20)'
    )
  })

  it('accepts the same password percent-encoded, and masks it as written and decoded', () => {
    const { inputs } = attempt({
      'index-url': 'https://user:p@ss%2Fw%23rd@host.example/simple/'
    })
    expect(inputs?.secrets).toEqual([
      'https://user:p@ss%2Fw%23rd@host.example/simple/',
      'p@ss%2Fw%23rd',
      'p@ss/w#rd'
    ])
  })

  it('names the input without its password when the URL does not parse', () => {
    expect(attempt({ 'extra-index-url': 'https://user:hunter2@host:port/simple/' }).error).toBe(
      'extra-index-url: "https://***@host:port/simple/" is not a URL; use an http(s):// or file:// index URL'
    )
  })

  it('cuts the password out of a refused pip-args word', () => {
    const { error } = attempt({ 'pip-args': '-thttps://user:hunter2@host.example/x' })
    expect(error).toMatch(/^pip-args: /)
    expect(error).not.toContain('hunter2')
  })
})

describe('what is not a secret', () => {
  it('leaves URLs without credentials, file URLs and user names like aws alone', () => {
    expect(urlSecrets('https://pypi.org/simple/')).toEqual([])
    expect(urlSecrets('file:///srv/wheels@2/simple/')).toEqual([])
    expect(urlSecrets('https://aws:tok3n@repo.example/simple/')).not.toContain('aws')
    expect(redact('see https://pypi.org/simple/ and mail me@example.com')).toBe(
      'see https://pypi.org/simple/ and mail me@example.com'
    )
  })
})

describe('version-control URLs', () => {
  it('read the revision after a @ in the path as a revision, and still mask credentials', () => {
    expect(redact('git+https://github.com/acme/mylib@v1.2#egg=mylib')).toBe(
      'git+https://github.com/acme/mylib@v1.2#egg=mylib'
    )
    expect(redact('mylib @ git+https://ci:s3cret@github.com/acme/mylib@v1.2')).toBe(
      'mylib @ git+https://***@github.com/acme/mylib@v1.2'
    )
    expect(urlSecrets('git+https://ci:s3cret@github.com/acme/mylib@v1.2')).toContain('s3cret')
  })
})

describe('maskSecrets, for the job summary the runner does not mask', () => {
  it('replaces every occurrence of each secret and ignores empty ones', () => {
    expect(maskSecrets('a tok3n b tok3n c hunter2', ['tok3n', '', 'hunter2'])).toBe(
      'a *** b *** c ***'
    )
  })
})
