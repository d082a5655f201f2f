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
  indexFailure,
  installRequirements,
  MARKERS_FOR_LAMBDA,
  pipEnv,
  targetArgs,
  unresolvableRequirement,
  wheelArgs
} from '../../src/builder/pip.js'

/** An executable that answers `-m pip --version` the way a given pip would. */
function fakePython(answer: string, exitCode = 0): string {
  return fakeScript(`echo '${answer}'\nexit ${exitCode}`)
}

/** An executable shell script standing in for python. */
function fakeScript(body: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fake-python-'))
  const file = path.join(dir, 'python')
  writeFileSync(file, `#!/bin/sh\n${body}\n`)
  chmodSync(file, 0o755)
  return file
}

const python312 = findRuntime('python3.12')!

describe('the interpreter that runs pip', () => {
  it('accepts pip 22.2 and later', async () => {
    expect(await checkPip(fakePython('pip 22.2.2'))).toMatchObject({ pipVersion: '22.2' })
    expect(await checkPip(fakePython('pip 24.0'))).toMatchObject({ pipVersion: '24.0' })
  })

  it('reads the real pip, and finds the interpreter behind a shim so pip starts without it', async () => {
    const real = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'])
      .toString()
      .trim()
    // a pyenv/asdf-like shim: a script that finds the interpreter, then runs it
    const shim = fakeScript('exec python3 "$@"')
    const found = await checkPip(shim)
    expect(found.executable).toBe(real)
    expect(found.pipVersion).toMatch(/^\d+\.\d+$/)
  })

  it('reads its own lines past what a .pth prints first, and keeps the asked python for a path that is not absolute', async () => {
    const noisy = fakeScript(
      "echo 'hello from a .pth'\necho 'pip 23.2.1'\necho '/opt/py/bin/python3'"
    )
    expect(await checkPip(noisy)).toEqual({ executable: '/opt/py/bin/python3', pipVersion: '23.2' })
    const relative = fakeScript("echo 'pip 23.2.1'\necho 'python3'")
    expect(await checkPip(relative)).toEqual({ executable: relative, pipVersion: '23.2' })
  })

  it('refuses a python without pip, naming it', async () => {
    const bare = mkdtempSync(path.join(os.tmpdir(), 'no-pip-'))
    execFileSync('python3', ['-m', 'venv', '--without-pip', bare])
    await expect(checkPip(path.join(bare, 'bin', 'python'))).rejects.toThrow(
      `python: "${path.join(bare, 'bin', 'python')}" has no pip (No module named pip)`
    )
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

const FROM_THE_TARGET =
  'is set by the action from runtime and architecture and cannot be overridden; remove it'
const REQUIREMENT_FILES = 'cannot add requirement files; use the requirements input'
const CONSTRAINT_FILES = 'cannot add constraint files; put the -c line in the requirements file'
const EDITABLE = 'cannot add editable projects; put the -e line in the requirements file'

describe('pip-args read the way pip reads them', () => {
  // each spelling is one optparse accepts for the same option
  it.each([
    [['-qt/tmp/x'], `-qt/tmp/x (-t) ${FROM_THE_TARGET}`],
    [['-qt', '/tmp/x'], `-qt (-t) ${FROM_THE_TARGET}`],
    [['-vvt/tmp/x'], `-vvt/tmp/x (-t) ${FROM_THE_TARGET}`],
    [['-UIt', '/tmp/x'], `-UIt (-t) ${FROM_THE_TARGET}`],
    [['-t', '/tmp/x'], `-t ${FROM_THE_TARGET}`],
    [['--target=/tmp/x'], `--target ${FROM_THE_TARGET}`],
    [['--tar', '/tmp/x'], `--tar (--target) ${FROM_THE_TARGET}`],
    [['--pref=/usr'], `--pref (--prefix) ${FROM_THE_TARGET}`],
    [['--report', 'r.json'], '--report is set by the action, which reads the report pip writes'],
    [['--python', '/usr/bin/python3'], '--python would run pip under another interpreter'],
    [['-qrextra.txt'], `-qrextra.txt (-r) ${REQUIREMENT_FILES}`],
    [['-vr', 'extra.txt'], `-vr (-r) ${REQUIREMENT_FILES}`],
    [['-r', 'extra.txt'], `-r ${REQUIREMENT_FILES}`],
    [['--requirement=extra.txt'], `--requirement ${REQUIREMENT_FILES}`],
    [['--requirem', 'extra.txt'], `--requirem (--requirement) ${REQUIREMENT_FILES}`],
    [['-c', 'constraints.txt'], `-c ${CONSTRAINT_FILES}`],
    [['-qcconstraints.txt'], `-qcconstraints.txt (-c) ${CONSTRAINT_FILES}`],
    [['--constraint=constraints.txt'], `--constraint ${CONSTRAINT_FILES}`],
    [['--cons', 'constraints.txt'], `--cons (--constraint) ${CONSTRAINT_FILES}`],
    [['-qe.'], `-qe. (-e) ${EDITABLE}`],
    [['-e', '.'], `-e ${EDITABLE}`],
    [['--edit=.'], `--edit (--editable) ${EDITABLE}`]
  ])('refuses %j', (pipArgs, message) => {
    expect(() => checkPipArgs(pipArgs)).toThrow(`pip-args: ${message}`)
  })

  it.each([
    [['-q', '--no-cache-dir', '--pre']],
    [['-vvU']],
    // -i takes the rest of the word as its value: "t/x" is an index URL, not a target
    [['-qit/x']],
    [['-i', 'https://mirror.example/simple/', '--extra-index-url=https://x.example/simple/']],
    [['-f/wheels', '--find-links', '/more-wheels']],
    [['-C', 'key=value', '--trusted-host', 'mirror.example']]
  ])('accepts %j', pipArgs => {
    expect(() => checkPipArgs(pipArgs)).not.toThrow()
  })

  it('keeps credentials out of the message', () => {
    const refuse = (): void => checkPipArgs(['-qrhttps://ci:s3cret@host.example/extra.txt'])
    expect(refuse).toThrow('pip-args: -qrhttps://***@host.example/extra.txt (-r)')
    expect(refuse).not.toThrow('s3cret')
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

describe('what a failed pip run is reported as', () => {
  it('a pip crash, by the exception it ended with rather than "Exception:"', async () => {
    // a real Python traceback, chained the way pip's own crashes often are
    const python = fakeScript(
      `exec python3 -c '
import sys
print("ERROR: Exception:", file=sys.stderr)
try:
    raise KeyError("wheel")
except KeyError:
    raise OSError(28, "No space left on device")
'`
    )
    const workDir = mkdtempSync(path.join(os.tmpdir(), 'pip-crash-'))
    await expect(
      installRequirements({
        python,
        target: { runtime: python312, architecture: 'x86_64' },
        requirementsFile: path.join(workDir, 'requirements.txt'),
        siteDir: path.join(workDir, 'python'),
        workDir,
        extraIndexUrls: [],
        pipArgs: []
      })
    ).rejects.toThrow(/^pip install failed: OSError: \[Errno 28\] No space left on device$/)
  })

  const install = {
    indexUrl: 'http://ci:s3cret@127.0.0.1:9/simple',
    extraIndexUrls: ['https://extra.example/simple/'],
    pipArgs: []
  }
  const unauthorized = {
    page: 'http://ci:****@127.0.0.1:9/simple/tinyjson/',
    reason: '401 Client Error: Unauthorized for url: http://127.0.0.1:9/simple/tinyjson/'
  }
  const extraHasNoTinyjson = {
    page: 'https://extra.example/simple/tinyjson/',
    reason: '404 Client Error: Not Found for url: https://extra.example/simple/tinyjson/'
  }

  it('an index that refused, named by its input with the credentials masked', () => {
    const pages = {
      fetched: ['https://extra.example/simple/greeter/'],
      failed: [unauthorized, extraHasNoTinyjson]
    }
    expect(indexFailure(pages, 'TinyJSON', '', install)).toBe(
      "index-url: http://***@127.0.0.1:9/simple answered 401 Unauthorized for tinyjson; check the credentials in the URL or the runner's pip configuration"
    )
  })

  it('not a 404 from an index that serves other pages: it lacks the project', () => {
    const pages = {
      fetched: ['https://extra.example/simple/greeter/'],
      failed: [extraHasNoTinyjson]
    }
    expect(indexFailure(pages, 'tinyjson', '', install)).toBeUndefined()
  })

  it('not when another index served the project page: that index lacked a fitting file', () => {
    const pages = {
      fetched: ['http://ci:****@127.0.0.1:9/simple/tinyjson/'],
      failed: [extraHasNoTinyjson]
    }
    expect(indexFailure(pages, 'tinyjson', '', install)).toBeUndefined()
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

  it("withholds the runner's PIP_* settings for what the action sets: target, platform, files", () => {
    const env = pipEnv({
      ...RUNNER_ENV,
      PIP_TARGET: '/home/runner/elsewhere',
      PIP_PLATFORM: 'linux_x86_64',
      PIP_ABI: 'cp311',
      PIP_REQUIREMENT: '/etc/extra.txt',
      PIP_CONSTRAINT: '/etc/constraints.txt',
      PIP_NO_BINARY: ':all:'
    })
    expect(
      Object.keys(env)
        .filter(name => name.startsWith('PIP_'))
        .sort()
    ).toEqual(['PIP_CERT', 'PIP_DISABLE_PIP_VERSION_CHECK', 'PIP_INDEX_URL', 'PIP_NO_INPUT'])
  })
})
