import { describe, expect, it } from 'vitest'
import { INPUT_DEFAULTS, inputFromEnv, readInputs, splitArgs } from '../src/inputs.js'

const TODAY = new Date('2026-11-27T12:00:00Z')

function read(inputs: Record<string, string>, today = TODAY) {
  const env = Object.fromEntries(
    Object.entries({ 'layer-name': 'deps', ...inputs }).map(([k, v]) => [
      `INPUT_${k.toUpperCase()}`,
      v
    ])
  )
  return readInputs(inputFromEnv(env), today)
}

describe('inputs', () => {
  it('applies action.yml defaults when the runner passes nothing', () => {
    const inputs = read({})
    expect(inputs.requirements).toBe('requirements.txt')
    expect(inputs.target.runtime.name).toBe(INPUT_DEFAULTS.runtime)
    expect(inputs.target.architecture).toBe('x86_64')
    expect(inputs.compatibleRuntimes).toEqual(['python3.13'])
    expect(inputs.compatibleArchitectures).toEqual(['x86_64'])
    expect(inputs.publish).toBe(true)
    expect(inputs.slim).toBe(true)
    expect(inputs.keepVersions).toBe(0)
  })

  it('warns about a runtime past its deprecation date that Lambda still accepts', () => {
    const inputs = read({ runtime: 'python3.10' })
    expect(inputs.warnings[0]).toMatch(
      /^runtime: python3.10 is deprecated on Lambda \(deprecated 2026-10-31/
    )
  })

  it('refuses that runtime once Lambda blocks creating functions on it', () => {
    expect(() => read({ runtime: 'python3.10' }, new Date('2026-12-01T00:00:00Z'))).toThrow(
      /^runtime: python3.10 is deprecated on Lambda .*; use one of python3.14, python3.13, python3.12, python3.11$/
    )
  })

  it.each([
    [{ architecture: 'amd64' }, 'architecture: "amd64" is not accepted; use one of x86_64, arm64'],
    [{ verify: 'strict' }, 'verify: "strict" is not accepted; use one of error, warn, off'],
    [{ slim: 'yes' }, 'slim: "yes" is not accepted; use true or false'],
    [
      { 'layer-name': 'my layer' },
      'layer-name: "my layer" is not a layer name: use 1-140 letters, digits, - and _, or a layer ARN (arn:aws:lambda:REGION:ACCOUNT:layer:NAME)'
    ],
    [{ 'layer-name': 'x'.repeat(141) }, /^layer-name: "x+" is not a layer name/],
    [
      { description: 'd'.repeat(257) },
      'description: 257 characters is too long; Lambda accepts at most 256'
    ],
    [
      { 'license-info': 'l'.repeat(513) },
      'license-info: 513 characters is too long; Lambda accepts at most 512'
    ],
    [
      { 'compatible-runtimes': 'nodejs22.x' },
      /^compatible-runtimes: "nodejs22.x" is not a Lambda Python runtime/
    ],
    [{ 'compatible-architectures': 'arm64' }, /^compatible-architectures: must include x86_64/],
    [
      { regions: 'us-east-1, Europe' },
      'regions: "Europe" is not an AWS region; use names like us-east-1, eu-west-1'
    ],
    [{ functions: 'my function' }, /^functions: "my function" is not a function name/],
    [
      { functions: 'arn:aws:lambda:us-east-1:123456789012:function:orders:live' },
      'functions: arn:aws:lambda:us-east-1:123456789012:function:orders:live names version or alias "live"; layers are set on the unpublished function, so give it without the qualifier.'
    ],
    [
      { 'share-with': 'everyone' },
      'share-with: "everyone" is not accepted; use a 12-digit account id, an organization id (o-...), or public'
    ],
    [
      { 'keep-versions': '-1' },
      'keep-versions: "-1" is not accepted; use a whole number from 0 to 10000'
    ],
    [
      { 'artifact-retention-days': '91' },
      'artifact-retention-days: "91" is not accepted; use a whole number from 1 to 90'
    ],
    [
      { 'index-url': 'not a url' },
      'index-url: "not a url" is not a URL; use an http(s):// or file:// index URL'
    ],
    [{ 'pip-args': '--pre "unclosed' }, 'pip-args: unclosed " quote']
  ])('refuses %o with one line naming the input', (inputs, message) => {
    expect(() => read(inputs as Record<string, string>)).toThrow(message)
  })

  it('lets publish: false go without a layer name', () => {
    expect(read({ publish: 'false', 'layer-name': '' }).layerName).toBeUndefined()
  })

  it('accepts a layer ARN, account ids, an organization and public', () => {
    const inputs = read({
      'layer-name': 'arn:aws:lambda:eu-west-1:123456789012:layer:deps',
      'share-with': '123456789012\no-abcdefghij, public'
    })
    expect(inputs.shareWith).toEqual(['123456789012', 'o-abcdefghij', 'public'])
  })

  it('reads one function per line, names, partial ARNs or ARNs', () => {
    const inputs = read({
      functions:
        'orders\n  arn:aws:lambda:us-east-1:123456789012:function:billing \n123456789012:function:audit'
    })
    expect(inputs.functions).toEqual([
      'orders',
      'arn:aws:lambda:us-east-1:123456789012:function:billing',
      '123456789012:function:audit'
    ])
  })

  it('masks credentials in index URLs', () => {
    const inputs = read({
      'index-url':
        'https://aws:s3cr%2Ft@domain-123.d.codeartifact.us-east-1.amazonaws.com/pypi/repo/simple/'
    })
    expect(inputs.secrets).toContain('s3cr/t')
    expect(inputs.secrets).toContain(
      'https://aws:s3cr%2Ft@domain-123.d.codeartifact.us-east-1.amazonaws.com/pypi/repo/simple/'
    )
  })
})

describe('credentials', () => {
  it('masks a URL with credentials given in pip-args, but not a user name like aws', () => {
    const inputs = read({
      'pip-args': '--pre --extra-index-url https://aws:tok3n@repo.example/simple/'
    })
    expect(inputs.secrets).toEqual(['https://aws:tok3n@repo.example/simple/', 'tok3n'])
  })

  it('survives a malformed escape in a password', () => {
    const inputs = read({ 'index-url': 'https://aws:ab%zzcd@repo.example/simple/' })
    expect(inputs.secrets).toContain('ab%zzcd')
  })
})

describe('regions and functions', () => {
  it('accepts every partition and drops repeats', () => {
    const inputs = read({
      regions: 'us-east-1, us-gov-west-1, cn-north-1, eusc-de-east-1, us-east-1'
    })
    expect(inputs.regions).toEqual(['us-east-1', 'us-gov-west-1', 'cn-north-1', 'eusc-de-east-1'])
    expect(read({ functions: 'a\na\nb' }).functions).toEqual(['a', 'b'])
  })
})

describe('pip-args', () => {
  it('splits like a shell would, without running one', () => {
    expect(
      splitArgs(`--pre --trusted-host "my host" --config-settings='a=b c' ; rm -rf /`)
    ).toEqual([
      '--pre',
      '--trusted-host',
      'my host',
      '--config-settings=a=b c',
      ';',
      'rm',
      '-rf',
      '/'
    ])
  })
})
