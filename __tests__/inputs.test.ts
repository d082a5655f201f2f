import { describe, expect, it } from 'vitest'
import path from 'node:path'
import { INPUT_DEFAULTS, InputError, inputFromEnv, readInputs, splitArgs } from '../src/inputs.js'

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

  describe("a runtime through AWS's deprecation policy (python3.10)", () => {
    const dates =
      '(deprecated 2026-10-31, function create blocked 2026-11-30, update blocked 2027-01-15)'
    it.each([
      ['before its deprecation date', '2026-10-30T23:59:59Z', []],
      [
        'on its deprecation date',
        '2026-10-31T00:00:00Z',
        [
          `runtime: python3.10 is deprecated on Lambda ${dates}: AWS no longer patches it; move to python3.14`
        ]
      ],
      [
        'on the day function create is blocked',
        '2026-11-30T00:00:00Z',
        [
          `runtime: python3.10 is deprecated on Lambda ${dates}: new functions can no longer be created on it; existing ones can be updated until 2027-01-15; move to python3.14`
        ]
      ],
      [
        'the last day functions on it can be updated',
        '2027-01-14T23:59:59Z',
        [
          `runtime: python3.10 is deprecated on Lambda ${dates}: new functions can no longer be created on it; existing ones can be updated until 2027-01-15; move to python3.14`
        ]
      ]
    ] as const)('builds %s (%s)', (_when, day, warnings) => {
      const inputs = read({ runtime: 'python3.10' }, new Date(day))
      expect(inputs.target.runtime.name).toBe('python3.10')
      expect(inputs.compatibleRuntimes).toEqual(['python3.10'])
      expect(inputs.warnings).toEqual(warnings)
    })

    it('refuses it once functions on it can no longer be updated, naming the runtimes accepted', () => {
      expect(() => read({ runtime: 'python3.10' }, new Date('2027-01-15T00:00:00Z'))).toThrow(
        new InputError(
          `runtime: python3.10 is past its end of life on Lambda ${dates}: no function on it can be created or updated; use one of python3.14, python3.13, python3.12, python3.11`
        )
      )
    })

    it('lists it among the accepted runtimes until then', () => {
      expect(() => read({ runtime: 'python3.8' }, new Date('2026-11-30T00:00:00Z'))).toThrow(
        new InputError(
          'runtime: "python3.8" is not a Lambda Python runtime; use one of python3.14, python3.13, python3.12, python3.11, python3.10'
        )
      )
      expect(() => read({ runtime: 'python3.8' }, new Date('2027-01-15T00:00:00Z'))).toThrow(
        new InputError(
          'runtime: "python3.8" is not a Lambda Python runtime; use one of python3.14, python3.13, python3.12, python3.11'
        )
      )
    })

    it('accepts it in compatible-runtimes while functions on it can be updated, not after', () => {
      const inputs = { runtime: 'python3.12', 'compatible-runtimes': 'python3.10, python3.12' }
      expect(read(inputs, new Date('2027-01-14T12:00:00Z')).compatibleRuntimes).toEqual([
        'python3.10',
        'python3.12'
      ])
      expect(() => read(inputs, new Date('2027-01-15T00:00:00Z'))).toThrow(
        new InputError(
          `compatible-runtimes: python3.10 is past its end of life on Lambda ${dates}: no function on it can be created or updated; use any of python3.14, python3.13, python3.12, python3.11`
        )
      )
      expect(() =>
        read({ 'compatible-runtimes': 'nodejs22.x' }, new Date('2026-11-30T00:00:00Z'))
      ).toThrow(
        new InputError(
          'compatible-runtimes: "nodejs22.x" is not a Lambda Python runtime; use any of python3.14, python3.13, python3.12, python3.11, python3.10'
        )
      )
    })
  })

  it('refuses python3.9, whose functions can no longer be updated since 2026-03-09', () => {
    expect(() => read({ runtime: 'python3.9' })).toThrow(
      new InputError(
        'runtime: python3.9 is past its end of life on Lambda (deprecated 2025-12-15, function create blocked 2026-02-03, update blocked 2026-03-09): no function on it can be created or updated; use one of python3.14, python3.13, python3.12, python3.11, python3.10'
      )
    )
  })

  it('says to update the action when its table knows no runtime Lambda still accepts', () => {
    expect(() => read({}, new Date('2030-01-01T00:00:00Z'))).toThrow(
      /^runtime: python3.13 is past its end of life on Lambda \(.*\): no function on it can be created or updated; this release of the action knows no runtime Lambda still accepts; use a newer release$/
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

describe('publish: plan and layer-zip', () => {
  it('reads publish: plan as a read-only run that still needs a layer name', () => {
    const inputs = read({ publish: 'Plan' })
    expect(inputs.plan).toBe(true)
    expect(inputs.publish).toBe(false)
    expect(() => read({ publish: 'plan', 'layer-name': '' })).toThrow(
      /^layer-name: required when publish is true or plan/
    )
    expect(() => read({ publish: 'dry-run' })).toThrow(
      'publish: "dry-run" is not accepted; use true, false or plan'
    )
  })

  it('refuses a layer-zip outside the workspace, or one that is not a file', () => {
    expect(() => read({ 'layer-zip': '../elsewhere/layer.zip' })).toThrow(
      /^layer-zip: "\.\.\/elsewhere\/layer\.zip" is outside the workspace/
    )
    expect(() => read({ 'layer-zip': 'missing.zip' })).toThrow(
      /^layer-zip: "missing\.zip" is not a file/
    )
    expect(read({ 'layer-zip': 'package.json' }).layerZip).toBe(path.resolve('package.json'))
  })
})
