// What the action promises about secrets and about the bytes it ships, proven on the bundled
// action (dist/index.js) with real pip: an index password nobody sees, package code (an sdist's
// build backend, an imported module) that gets no credentials, and an import check that cannot
// change the zip. publish: false throughout.
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { mkdtemp, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { failure, runAction, type ActionRun } from '../support/action.js'
import { dumpEnvironment, spyingSdist } from '../support/hostile.js'
import { startIndex, type PackageIndex } from '../support/index-server.js'
import { extractZip } from '../support/unzip.js'
import { buildWheel } from '../support/wheels.js'

const temp: string[] = []
let index: PackageIndex
let spyDir: string

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix))
  temp.push(dir)
  return dir
}

/** Bytes deflate cannot shrink, the same on every run. */
function incompressible(size: number, seed: string): Buffer {
  const blocks: Buffer[] = []
  for (let i = 0; i * 32 < size; i++) {
    blocks.push(createHash('sha256').update(`${seed}:${i}`).digest())
  }
  return Buffer.concat(blocks).subarray(0, size)
}

const SELF_WRITER = `import os
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, 'generated.py'), 'w') as f:
    f.write('written_by_import = True\\n')
with open(os.path.join(here, 'data.txt'), 'w') as f:
    f.write('changed by the import check\\n')
`

/**
 * A wheel that lies about one entry: its CRC, in the local header and the central directory
 * alike (so the two agree), is not the CRC of the bytes. pip downloads it without a look.
 */
function crcLiar() {
  const wheel = buildWheel({
    name: 'crcliar',
    version: '1.0',
    files: { 'crcliar/__init__.py': 'ANSWER = 42\n' }
  })
  const name = Buffer.from('crcliar/__init__.py')
  const bytes = Buffer.from(wheel.bytes)
  for (const [signature, nameAt, crcAt] of [
    [0x04034b50, 30, 14],
    [0x02014b50, 46, 16]
  ]) {
    for (let at = 0; at + nameAt + name.length <= bytes.length; at++) {
      if (bytes.readUInt32LE(at) !== signature) continue
      if (!bytes.subarray(at + nameAt, at + nameAt + name.length).equals(name)) continue
      bytes.writeUInt32LE((bytes.readUInt32LE(at + crcAt) ^ 0xdeadbeef) >>> 0, at + crcAt)
    }
  }
  return { ...wheel, bytes }
}

beforeAll(async () => {
  spyDir = await tempDir('spy-')
  // files that keep the zip busy long enough for an import running beside it to finish first
  const ballast = Object.fromEntries(
    [0, 1, 2, 3, 4].map(i => [`selfwriter/ballast${i}.bin`, incompressible(9 << 20, `b${i}`)])
  )
  index = await startIndex([
    buildWheel({ name: 'plainpkg', version: '1.0', files: { 'plainpkg/__init__.py': '' } }),
    crcLiar(),
    spyingSdist(
      {
        name: 'spy',
        version: '1.0',
        files: { 'spy/__init__.py': dumpEnvironment(path.join(spyDir, 'import-env.json')) }
      },
      path.join(spyDir, 'build-env.json')
    ),
    buildWheel({
      name: 'selfwriter',
      version: '1.0',
      files: {
        'selfwriter/__init__.py': SELF_WRITER,
        'selfwriter/data.txt': 'as published\n',
        ...ballast
      }
    })
  ])
})
afterAll(async () => {
  await index?.close()
  for (const dir of temp) rmSync(dir, { recursive: true, force: true })
})

async function build(
  requirements: string,
  inputs: Record<string, string>,
  env: Record<string, string> = {}
): Promise<ActionRun> {
  const project = await tempDir('project-')
  await writeFile(path.join(project, 'requirements.txt'), requirements)
  const run = await runAction(
    { publish: 'false', 'index-url': index.url, runtime: 'python3.11', ...inputs },
    { cwd: project, env }
  )
  temp.push(run.runnerTemp)
  return run
}

/** Where a secret shows: log lines other than the runner's own mask command, the summary, outputs. */
function showings(run: ActionRun, secret: string): string[] {
  const lines = `${run.stdout}\n${run.stderr}`
    .split('\n')
    .filter(line => line.includes(secret) && !line.startsWith('::add-mask::'))
  if (run.summary.includes(secret)) lines.push('(job summary)')
  if (JSON.stringify(run.outputs).includes(secret)) lines.push('(outputs)')
  return lines
}

describe('an index password with / and @ in it', () => {
  const withPassword = (password: string, url = index.url) =>
    url.replace('http://', `http://user:${password}@`)

  it('given raw, is refused before pip runs, and shows nowhere', async () => {
    const run = await build('plainpkg\n', { 'index-url': withPassword('p@ss/w@rd') })
    expect(run.exitCode).toBe(1)
    expect(failure(run)).toBe(
      `index-url: "${index.url.replace('http://', 'http://***@')}" has a /, ?, #, \\ or space in its user name or password, which pip would not read as part of it; percent-encode them (%2F, %3F, %23, %5C, %20)`
    )
    for (const part of ['p@ss/w@rd', 'p@ss', 'ss/w', 'w@rd'])
      expect(showings(run, part)).toEqual([])
    expect(run.stdout).not.toContain('pip install')
  })

  it('percent-encoded, reaches pip and shows in no log line, summary or output', async () => {
    const run = await build('plainpkg\n', {
      'index-url': withPassword('p@ss%2Fw@rd'),
      'pip-args': `--extra-index-url ${index.url.replace('http://', 'http://__token__:t0k%2Fen@')}`
    })
    expect(run.exitCode, run.stdout).toBe(0)
    // the runner is told to mask each, as written and decoded
    for (const secret of ['p@ss/w@rd', 'p@ss%2Fw@rd', 't0k/en', 't0k%2Fen']) {
      // the runner reads a command's % as %25
      expect(run.stdout).toContain(`::add-mask::${secret.replace(/%/g, '%25')}`)
      expect(showings(run, secret)).toEqual([])
    }
    for (const part of ['p%40ss', 'ss%2Fw', 'ss/w']) expect(showings(run, part)).toEqual([])
    // pip did use the index through that URL: its command line is in the log, masked
    expect(run.stdout).toContain(`--index-url ${index.url.replace('http://', 'http://***@')}`)
  })
})

describe('package code never sees the credentials of the runner or the action', () => {
  const CREDENTIALS: Record<string, string> = {
    AWS_ACCESS_KEY_ID: 'AKIAWITHHELDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'aws-secret-key-withheld',
    AWS_SESSION_TOKEN: 'aws-session-token-withheld',
    GITHUB_TOKEN: 'ghs_github_token_withheld',
    GH_TOKEN: 'gho_gh_token_withheld',
    ACTIONS_RUNTIME_TOKEN: 'actions-runtime-token-withheld',
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'oidc-request-token-withheld',
    ACTIONS_ID_TOKEN_REQUEST_URL: 'https://oidc-request-url-withheld.example/',
    ACTIONS_RESULTS_URL: 'https://results-url-withheld.example/',
    ACTIONS_CACHE_URL: 'https://cache-url-withheld.example/'
  }

  it("neither an sdist's build backend nor a module the import check imports", async () => {
    const netrc = path.join(spyDir, 'netrc-kept-for-pip')
    const run = await build(
      'spy\n',
      { 'import-check': 'true', description: 'input-value-withheld' },
      { ...CREDENTIALS, NETRC: netrc }
    )
    expect(run.exitCode, run.stdout).toBe(0)
    expect(run.summary).toContain('built from sdist')

    const buildEnv = readFileSync(path.join(spyDir, 'build-env.json'), 'utf8')
    const importEnv = readFileSync(path.join(spyDir, 'import-env.json'), 'utf8')
    for (const [name, text] of [
      ['build backend', buildEnv],
      ['import', importEnv]
    ]) {
      const seen = Object.keys(JSON.parse(text) as Record<string, string>)
      expect(
        seen.filter(key => /^(AWS_.*_(ID|KEY|TOKEN)|GH_|GITHUB_TOKEN|ACTIONS_|INPUT_)/.test(key)),
        name
      ).toEqual([])
      for (const value of [...Object.values(CREDENTIALS), 'input-value-withheld']) {
        expect(text, `${name} saw ${value}`).not.toContain(value)
      }
    }
    // what pip needs still reaches it
    expect(JSON.parse(buildEnv)).toMatchObject({ NETRC: netrc, PIP_CONFIG_FILE: '/dev/null' })
  })
})

describe('what ships is what was verified', () => {
  it('an import that writes into its own package changes nothing in the zip', async () => {
    const checked = await build('selfwriter\n', { 'import-check': 'true' })
    expect(checked.exitCode, checked.stdout).toBe(0)
    expect(checked.summary).toMatch(/passed: 1 module imported/)
    // the import did write, into the folder the zip was made from
    const [work] = readdirSync(checked.runnerTemp).filter(name => name.startsWith('lambda-layer-'))
    const site = path.join(checked.runnerTemp, work, 'python', 'selfwriter')
    expect(existsSync(path.join(site, 'generated.py'))).toBe(true)
    expect(readFileSync(path.join(site, 'data.txt'), 'utf8')).toBe('changed by the import check\n')

    const unzipped = await tempDir('unzipped-')
    extractZip(checked.outputs['zip-path'], unzipped)
    const shipped = path.join(unzipped, 'python', 'selfwriter')
    expect(existsSync(path.join(shipped, 'generated.py'))).toBe(false)
    expect(readFileSync(path.join(shipped, 'data.txt'), 'utf8')).toBe('as published\n')

    const unchecked = await build('selfwriter\n', { 'import-check': 'false' })
    expect(unchecked.exitCode, unchecked.stdout).toBe(0)
    expect(checked.outputs['code-sha256']).toBe(unchecked.outputs['code-sha256'])
    const onDisk = createHash('sha256').update(readFileSync(checked.outputs['zip-path']))
    expect(onDisk.digest('base64')).toBe(checked.outputs['code-sha256'])
  })
})

describe('a wheel whose bytes do not match their CRC', () => {
  it.each(['error', 'off'])(
    'is refused naming the wheel and the entry, and no zip is output (verify: %s)',
    async verify => {
      const run = await build('crcliar\n', { verify, 'import-check': 'false' })
      expect(run.exitCode).toBe(1)
      expect(failure(run)).toContain(
        'crcliar-1.0-py3-none-any.whl: crcliar/__init__.py does not match its CRC or size when inflated'
      )
      expect(run.outputs['zip-path']).toBeUndefined()
      expect(run.outputs['code-sha256']).toBeUndefined()
    }
  )
})
