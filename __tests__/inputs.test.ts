import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path, { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
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
      { functions: 'arn:aws:lambda:us-east-1:123456789012:function:orders:7' },
      'functions: arn:aws:lambda:us-east-1:123456789012:function:orders:7 names version "7"; published versions never change, so give the function without it, or with an alias (NAME:ALIAS) to move once the update works.'
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

describe('ssm-parameter', () => {
  it('is off by default and kept as written, placeholders and all', () => {
    expect(read({}).ssmParameter).toBeUndefined()
    expect(read({ 'ssm-parameter': '/layers/{layer}/{region}' }).ssmParameter).toBe(
      '/layers/{layer}/{region}'
    )
  })

  it('refuses a name SSM would refuse in one of the regions, in one line naming the input', () => {
    const error = (() => {
      try {
        read({ 'ssm-parameter': '/layers/{layer}/{region}/x y', regions: 'eu-west-1' })
      } catch (caught) {
        return caught
      }
    })()
    expect(error).toBeInstanceOf(InputError)
    expect((error as Error).message).toBe(
      'ssm-parameter: "/layers/deps/eu-west-1/x y" is not an SSM parameter name: SSM parameter names hold only letters, digits, _ . - and /'
    )
  })

  it('fills {layer} with the name of a layer ARN and refuses an unknown placeholder', () => {
    expect(() =>
      read({
        'layer-name': 'arn:aws:lambda:eu-west-1:123456789012:layer:orders',
        'ssm-parameter': '/{layer}/{env}'
      })
    ).toThrow('ssm-parameter: unknown placeholder {env} in "/{layer}/{env}"')
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

describe('import-check-layers', () => {
  function inWorkspace<T>(run: (workspace: string) => T): T {
    const workspace = mkdtempSync(join(tmpdir(), 'inputs-layers-'))
    const saved = process.env.GITHUB_WORKSPACE
    process.env.GITHUB_WORKSPACE = workspace
    try {
      return run(workspace)
    } finally {
      if (saved === undefined) delete process.env.GITHUB_WORKSPACE
      else process.env.GITHUB_WORKSPACE = saved
      rmSync(workspace, { recursive: true, force: true })
    }
  }

  it('takes zips and folders of the workspace, as absolute paths', () => {
    inWorkspace(workspace => {
      mkdirSync(join(workspace, 'layers', 'numpy', 'python'), { recursive: true })
      writeFileSync(join(workspace, 'layers', 'pandas.zip'), '')
      const inputs = read({ 'import-check-layers': 'layers/numpy, layers/pandas.zip' })
      expect(inputs.importCheckLayers).toEqual([
        join(workspace, 'layers', 'numpy'),
        join(workspace, 'layers', 'pandas.zip')
      ])
    })
  })

  it.each([
    [
      'arn:aws:lambda:us-east-1:123456789012:layer:numpy:3',
      'import-check-layers: "arn:aws:lambda:us-east-1:123456789012:layer:numpy:3" is a layer ARN, which the check does not fetch; give the path of a layer zip or of a folder holding its python/ folder'
    ],
    [
      'missing.zip',
      'import-check-layers: "missing.zip" is not found; give the path of a layer zip or of a folder holding its python/ folder'
    ],
    [
      'notes.txt',
      'import-check-layers: "notes.txt" is neither a .zip file nor a folder; give the path of a layer zip or of a folder holding its python/ folder'
    ],
    [
      '../elsewhere',
      'import-check-layers: "../elsewhere" is outside the workspace; move it into the repository, or set allow-outside-workspace: true'
    ]
  ])('refuses %s before any work', (value, message) => {
    inWorkspace(workspace => {
      writeFileSync(join(workspace, 'notes.txt'), '')
      expect(() => read({ 'import-check-layers': value })).toThrow(new InputError(message))
    })
  })
})

describe('releases: aliases, discovery and smoke-test-payload', () => {
  it('reads NAME:ALIAS and * as functions', () => {
    const inputs = read({ functions: 'orders-api:live\n*\nworker' })
    expect(inputs.functions).toEqual(['orders-api:live', '*', 'worker'])
  })

  it('takes an inline JSON event, sent compact', () => {
    const inputs = read({ functions: 'api', 'smoke-test-payload': '{ "path": "/health" }' })
    expect(inputs.smokeTestPayload).toBe('{"path":"/health"}')
    expect(read({ functions: 'api' }).smokeTestPayload).toBeUndefined()
  })

  it('reads a JSON file from the workspace, and refuses one outside it or missing', () => {
    const workspace = mkdtempSync(path.join(tmpdir(), 'workspace-'))
    const outside = mkdtempSync(path.join(tmpdir(), 'outside-'))
    mkdirSync(path.join(workspace, 'events'))
    writeFileSync(path.join(workspace, 'events', 'health.json'), '{"path": "/health"}\n')
    writeFileSync(path.join(outside, 'secret.json'), '{}')
    symlinkSync(path.join(outside, 'secret.json'), path.join(workspace, 'events', 'link.json'))
    vi.stubEnv('GITHUB_WORKSPACE', workspace)
    try {
      const payload = (file: string) =>
        read({ functions: 'api', 'smoke-test-payload': file }).smokeTestPayload
      expect(payload('events/health.json')).toBe('{"path":"/health"}')
      expect(() => payload('events/link.json')).toThrow(
        'smoke-test-payload: "events/link.json" is outside the workspace; move the file into the repository'
      )
      expect(() => payload('events/nope.json')).toThrow(
        /^smoke-test-payload: "events\/nope.json" is neither JSON nor a file in the workspace/
      )
    } finally {
      vi.unstubAllEnvs()
      rmSync(workspace, { recursive: true, force: true })
      rmSync(outside, { recursive: true, force: true })
    }
  })

  it.each([
    [
      { functions: 'api', 'smoke-test-payload': '{"path": ' },
      /^smoke-test-payload: the value is not valid JSON/
    ],
    [{ 'smoke-test-payload': '{}' }, /^smoke-test-payload: there is no function to invoke/],
    [{ functions: 'api:7' }, /^functions: api:7 names version "7"/]
  ])('refuses %j before anything runs', (inputs, message) => {
    expect(() => read(inputs)).toThrow(InputError)
    expect(() => read(inputs)).toThrow(message)
  })
})

describe('files', () => {
  it('reads one "source -> destination" per line, a bare layer folder as that folder', () => {
    const inputs = read({
      files:
        'src/shared_utils -> python/shared_utils\nvendor/libpq.so.5->lib\n# a comment\ntools/run.sh -> bin/'
    })
    expect(inputs.files).toEqual([
      {
        line: 'src/shared_utils -> python/shared_utils',
        source: 'src/shared_utils',
        destination: 'python/shared_utils'
      },
      { line: 'vendor/libpq.so.5->lib', source: 'vendor/libpq.so.5', destination: 'lib/' },
      { line: 'tools/run.sh -> bin/', source: 'tools/run.sh', destination: 'bin/' }
    ])
  })

  it.each([
    ['src/x.py', 'is not a mapping'],
    ['src/x.py ->', 'is not a mapping'],
    ['/etc/passwd -> lib/', 'the source must be a path inside the workspace'],
    ['src/../../x -> lib/', 'the source must be a path inside the workspace'],
    ['src/x.py -> x.py', 'the destination must be under python/, lib/ or bin/'],
    ['src/x.py -> python/../x.py', 'the destination must be under python/, lib/ or bin/'],
    ['src/x.py -> /opt/python/x.py', 'the destination must be under python/, lib/ or bin/'],
    ['src/x.py -> pythonic/x.py', 'the destination must be under python/, lib/ or bin/']
  ])('refuses "%s", naming the line', (line, why) => {
    expect(() => read({ files: line })).toThrow(new InputError(`files: "${line}"`).message)
    expect(() => read({ files: line })).toThrow(why)
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
