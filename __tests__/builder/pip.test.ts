import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ARCHITECTURES, findRuntime, RUNTIMES } from '../../src/facts.js'
import { lambdaMarkerEnvironment } from '../../src/sources/markers.js'
import {
  checkPip,
  checkPipArgs,
  MARKERS_FOR_LAMBDA,
  pipEnv,
  targetArgs,
  unresolvableRequirement,
  wheelArgs
} from '../../src/builder/pip.js'

/** An executable that answers `-m pip --version` the way a given pip would. */
function fakePython(answer: string, exitCode = 0): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fake-python-'))
  const file = path.join(dir, 'python')
  writeFileSync(file, `#!/bin/sh\necho '${answer}'\nexit ${exitCode}\n`)
  chmodSync(file, 0o755)
  return file
}

const python312 = findRuntime('python3.12')!

describe('the interpreter that runs pip', () => {
  it('accepts pip 22.2 and later', async () => {
    expect(await checkPip(fakePython('pip 22.2.2 from /x (python 3.10)'))).toBe('22.2')
    expect(await checkPip(fakePython('pip 24.0 from /x (python 3.12)'))).toBe('24.0')
  })

  it('refuses an older pip, saying how to upgrade', async () => {
    const python = fakePython('pip 21.3.1 from /x (python 3.9)')
    await expect(checkPip(python)).rejects.toThrow(
      `python: pip 21.3 is too old; the action needs pip 22.2 or later (run: ${python} -m pip install --upgrade pip)`
    )
  })

  it('names an interpreter that does not exist', async () => {
    await expect(checkPip('/no/such/python3')).rejects.toThrow(
      'python: "/no/such/python3" was not found on the runner'
    )
  })

  it('names an interpreter without pip', async () => {
    await expect(checkPip(fakePython('No module named pip', 1))).rejects.toThrow(/has no pip/)
  })
})

describe('what pip is told', () => {
  it('asks for CPython wheels of the runtime, every manylinux level up to its glibc', () => {
    const args = targetArgs({ runtime: python312, architecture: 'arm64' })
    expect(args).toEqual(
      expect.arrayContaining([
        '--only-binary=:all:',
        '--implementation',
        'cp',
        '--python-version',
        '3.12'
      ])
    )
    const platforms = args.filter((_, i) => args[i - 1] === '--platform')
    expect(platforms[0]).toBe('manylinux_2_34_aarch64')
    expect(platforms).toContain('manylinux2014_aarch64')
    expect(platforms).toContain('manylinux_2_17_aarch64')
    expect(platforms.some(p => p.includes('x86_64') || p.includes('manylinux_2_16'))).toBe(false)
    const abis = args.filter((_, i) => args[i - 1] === '--abi')
    expect(abis).toEqual(['cp312', 'abi3', 'none'])
  })

  it('evaluates markers for Lambda: Linux, the runtime Python, the target machine', () => {
    expect(lambdaMarkerEnvironment({ runtime: python312, architecture: 'arm64' })).toMatchObject({
      python_version: '3.12',
      python_full_version: '3.12.0',
      platform_machine: 'aarch64',
      sys_platform: 'linux'
    })
  })

  it("gives pip's marker evaluation the lock readers' values for every runtime and architecture", () => {
    // pip's own packaging evaluates `name == "value"` for every variable, under the launcher
    const probe = `${MARKERS_FOR_LAMBDA}
from pip._vendor.packaging.markers import Marker
print(json.dumps({k: Marker('%s == "%s"' % (k, v)).evaluate() for k, v in lambda_environment.items()}))
`
    for (const runtime of RUNTIMES) {
      for (const architecture of ARCHITECTURES) {
        const environment = lambdaMarkerEnvironment({ runtime, architecture })
        const seen = JSON.parse(
          execFileSync('python3', ['-c', probe, JSON.stringify(environment)], { encoding: 'utf8' })
        ) as Record<string, boolean>
        expect(Object.keys(seen).sort(), `${runtime.name} ${architecture}`).toEqual(
          Object.keys(environment).sort()
        )
        expect(
          Object.entries(seen).filter(([, holds]) => !holds),
          `${runtime.name} ${architecture}`
        ).toEqual([])
      }
    }
  })

  it('refuses pip-args that would change the target', () => {
    expect(() => checkPipArgs(['--pre', '--python-version=3.9'])).toThrow(
      'pip-args: --python-version is set by the action'
    )
    expect(() => checkPipArgs(['--plat', 'linux_x86_64'])).toThrow('pip-args: --plat (--platform)')
    expect(() => checkPipArgs(['-t/tmp/elsewhere'])).toThrow('pip-args: -t/tmp/elsewhere (-t)')
    expect(() => checkPipArgs(['--pre', '--no-cache-dir', '--trusted-host', 'x'])).not.toThrow()
  })
})

describe('the sdist build', () => {
  it('gets pip-args without the options only pip install takes', () => {
    expect(
      wheelArgs(['--upgrade', '--pre', '--upgrade-strategy', 'eager', '-U', '--trusted-host', 'h'])
    ).toEqual(['--pre', '--trusted-host', 'h'])
  })
})

describe("reading pip's refusal", () => {
  it('finds the requirement and its name, with nested parentheses', () => {
    const stderr =
      'ERROR: Could not find a version that satisfies the requirement Foo_Bar[x]>=2.0 (from -r /t/requirements.txt (line 3)) (from versions: none)\n' +
      'ERROR: No matching distribution found for Foo_Bar[x]>=2.0'
    expect(unresolvableRequirement(stderr)).toEqual({
      requirement: 'Foo_Bar[x]>=2.0',
      name: 'foo-bar'
    })
  })

  it('names the package that required a missing dependency', () => {
    const stderr =
      'ERROR: Could not find a version that satisfies the requirement nosuchpkg>=1 (from needsmissing) (from versions: none)'
    expect(unresolvableRequirement(stderr)).toEqual({
      requirement: 'nosuchpkg>=1',
      name: 'nosuchpkg',
      requiredBy: 'needsmissing'
    })
  })

  it('finds nothing in other failures', () => {
    expect(unresolvableRequirement('ERROR: THESE PACKAGES DO NOT MATCH THE HASHES')).toBeUndefined()
  })
})

describe('the environment pip and the sdist builds it runs get', () => {
  // a runner's environment: what the runner and the action hold, and what pip needs
  const RUNNER_ENV: Record<string, string> = {
    AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret-key',
    AWS_SESSION_TOKEN: 'session',
    AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.2/creds',
    GITHUB_TOKEN: 'ghs_token',
    GH_TOKEN: 'gh_token',
    ACTIONS_RUNTIME_TOKEN: 'runtime',
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'oidc',
    ACTIONS_ID_TOKEN_REQUEST_URL: 'https://token.actions.example/',
    ACTIONS_RESULTS_URL: 'https://results.example/',
    ACTIONS_CACHE_URL: 'https://cache.example/',
    'INPUT_INDEX-URL': 'https://aws:tok3n@repo.example/simple/',
    GITHUB_ENV: '/runner/_temp/set_env',
    GITHUB_OUTPUT: '/runner/_temp/set_output',
    PATH: '/usr/bin',
    HOME: '/home/runner',
    HTTPS_PROXY: 'http://proxy:3128',
    https_proxy: 'http://proxy:3128',
    NO_PROXY: 'localhost',
    SSL_CERT_FILE: '/etc/ssl/corp.pem',
    REQUESTS_CA_BUNDLE: '/etc/ssl/corp.pem',
    PIP_INDEX_URL: 'https://aws:codeartifact@repo.example/simple/',
    PIP_CERT: '/etc/ssl/corp.pem',
    NETRC: '/home/runner/.netrc',
    PYTHON_KEYRING_BACKEND: 'keyrings.alt.file.PlaintextKeyring',
    XDG_CONFIG_HOME: '/home/runner/.config',
    LANG: 'C.UTF-8',
    TMPDIR: '/tmp',
    PYENV_ROOT: '/opt/pyenv',
    VIRTUAL_ENV: '/opt/venv',
    RUNNER_TEMP: '/runner/_temp',
    CODEARTIFACT_AUTH_TOKEN: 'named-in-requirements'
  }

  it('withholds AWS credentials, GitHub and Actions tokens, inputs and file commands', () => {
    expect(
      Object.keys(pipEnv(RUNNER_ENV)).filter(name =>
        /^(AWS_|ACTIONS_|INPUT_|GH_|GITHUB_)/.test(name)
      )
    ).toEqual([])
  })

  it('keeps what pip reads: proxies, certificates, PIP_*, netrc, keyring, pyenv, temp folders', () => {
    const env = pipEnv(RUNNER_ENV)
    for (const name of Object.keys(RUNNER_ENV).filter(
      n => !/^(AWS_|ACTIONS_|INPUT_|GH_|GITHUB_)/.test(n)
    )) {
      expect(env[name], name).toBe(RUNNER_ENV[name])
    }
    expect(env.PIP_NO_INPUT).toBe('1')
  })
})
