import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import * as core from '@actions/core'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type Architecture, findRuntime } from '../../src/facts.js'
import { type DependencySource, readDependencySource } from '../../src/sources/index.js'

vi.mock('@actions/core', () => ({ warning: vi.fn(), info: vi.fn(), debug: vi.fn() }))

const FIXTURES = fileURLToPath(new URL('../fixtures/sources/', import.meta.url))
const run = promisify(execFile)

let work: string
beforeEach(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'sources-test-'))
  vi.mocked(core.warning).mockClear()
})
afterEach(async () => {
  await fs.rm(work, { recursive: true, force: true })
})

interface ReadOptions {
  runtime?: string
  architecture?: Architecture
  extras?: string[]
  groups?: string[]
  cwd?: string
  /** Default: cwd, as on a runner whose working directory is the checkout. */
  workspace?: string
  allowOutsideWorkspace?: boolean
}

function read(input: string, options: ReadOptions = {}): Promise<DependencySource> {
  const runtime = findRuntime(options.runtime ?? 'python3.12')
  if (!runtime) throw new Error(`no runtime ${options.runtime}`)
  return readDependencySource(input, {
    target: { runtime, architecture: options.architecture ?? 'x86_64' },
    extras: options.extras ?? [],
    groups: options.groups ?? [],
    workDir: path.join(work, 'out'),
    cwd: options.cwd ?? FIXTURES,
    workspace: options.workspace ?? options.cwd ?? FIXTURES,
    allowOutsideWorkspace: options.allowOutsideWorkspace
  })
}

/** The requirement lines pip will see (comments and blank lines dropped). */
async function pipLines(source: DependencySource): Promise<string[]> {
  const text = await fs.readFile(source.requirementsFile, 'utf8')
  return text.split('\n').filter(l => l.trim() && !l.trim().startsWith('#'))
}

/** `name==version` of every generated pin. */
async function pins(source: DependencySource): Promise<string[]> {
  return (await pipLines(source)).map(l => l.split(' ')[0])
}

/** Writes a file under the test's temporary directory and returns its path. */
async function write(relative: string, text: string): Promise<string> {
  const file = path.join(work, relative)
  await fs.mkdir(path.dirname(file), { recursive: true })
  await fs.writeFile(file, text)
  return file
}

async function fixture(relative: string): Promise<string> {
  return fs.readFile(path.join(FIXTURES, relative), 'utf8')
}

describe('requirements files', () => {
  it('hands pip the user’s own file when no line has a marker, in hash-checking mode when it has --hash', async () => {
    const source = await read('requirements/hashed.txt')
    expect(source.kind).toBe('requirements')
    expect(source.requirementsFile).toBe(path.join(FIXTURES, 'requirements/hashed.txt'))
    expect(source.hashed).toBe(true)
    expect(source.directNames).toEqual(['certifi', 'idna'])
    expect(source.origin('IDNA')).toEqual({ file: source.file, line: 6 })
  })

  it('evaluates markers for Lambda on arm64, not for the runner: aarch64 in; win32, macOS arm64 and old Python out', async () => {
    const source = await read('requirements/requirements.txt', { architecture: 'arm64' })
    expect(source.hashed).toBe(false)
    expect(source.directNames).toEqual([
      'certifi',
      'greenlet',
      'orjson',
      'pydantic',
      'pyyaml',
      'requests'
    ])
    const lines = await pipLines(source)
    expect(lines).toContain('greenlet==3.1.1')
    expect(lines).toContain('orjson==3.10.12')
    expect(lines.join('\n')).not.toMatch(/colorama|tomli|uvloop|;/)
  })

  it('leaves the aarch64-only requirement out of an x86_64 build', async () => {
    const source = await read('requirements/requirements.txt', { architecture: 'x86_64' })
    expect(source.directNames).not.toContain('greenlet')
    expect((await pipLines(source)).join('\n')).not.toContain('greenlet')
  })

  it('keeps every line at its number in the Lambda copy, so pip’s "line N" still points at the user’s line', async () => {
    const source = await read('requirements/requirements.txt', { architecture: 'arm64' })
    const original = (await fixture('requirements/requirements.txt')).split('\n')
    const copy = (await fs.readFile(source.requirementsFile, 'utf8')).split('\n')
    expect(copy).toHaveLength(original.length)
    const pydantic = original.findIndex(l => l.startsWith('pydantic'))
    expect(copy[pydantic]).toBe('pydantic==2.9.2')
    expect(source.origin('greenlet')?.line).toBe(
      original.findIndex(l => l.startsWith('greenlet')) + 1
    )
  })

  it('follows -r and -c relative to the including file and passes --index-url through', async () => {
    const source = await read('requirements/requirements.txt', { architecture: 'arm64' })
    expect(source.origin('pyyaml')).toEqual({
      file: path.join(FIXTURES, 'requirements/base.txt'),
      line: 3
    })
    expect(source.origin('urllib3')).toEqual({
      file: path.join(FIXTURES, 'requirements/constraints.txt'),
      line: 1
    })
    const lines = await pipLines(source)
    expect(lines).toContain('--index-url https://pypi.org/simple')
    // pip takes an include relative to the including file, as the copies are written
    const include = lines.find(l => l.startsWith('-r '))?.slice(3) ?? ''
    const included = path.resolve(path.dirname(source.requirementsFile), include)
    expect(await fs.readFile(included, 'utf8')).toContain('PyYAML==6.0.2')
  })

  it.each([
    ['mylib-1.0.tar.gz', 'is a local path'],
    ['git+https://github.com/acme/mylib@v1.2#egg=mylib', 'is a version-control URL'],
    ['mylib @ git+https://github.com/acme/mylib@v1.2', 'is a version-control URL']
  ])('refuses "%s" naming the file and line', async (line, why) => {
    await write('requirements.txt', `# app\nrequests==2.32.3\n${line}\n`)
    await expect(read('requirements.txt', { cwd: work })).rejects.toThrow(
      `requirements: requirements.txt line 3: "${line}" ${why}; it cannot be`
    )
  })

  it.each([
    ['-e ./mypkg', '"-e ./mypkg" is a local project that does not exist'],
    ['./libs/shared', '"./libs/shared" is a local project that does not exist'],
    [
      'dist/mylib-1.0-py3-none-any.whl',
      '"dist/mylib-1.0-py3-none-any.whl" is a local project that does not exist'
    ],
    ['--editable=../shared', '"-e ../shared" is a local project that reaches'],
    ['/opt/src/shared', '"/opt/src/shared" is a local project that reaches /opt/src/shared'],
    ['../shared[extra]', '"../shared" is a local project that reaches'],
    [
      'file:///tmp/mylib-1.0-py3-none-any.whl',
      '"file:///tmp/mylib-1.0-py3-none-any.whl" is a local project that reaches /tmp/mylib-1.0-py3-none-any.whl'
    ],
    ['mylib @ file:///tmp/mylib', '"file:///tmp/mylib" is a local project that reaches /tmp/mylib']
  ])('refuses the local project "%s" outside the workspace or not there', async (line, why) => {
    await write('requirements.txt', `# app\nrequests==2.32.3\n${line}\n`)
    await expect(read('requirements.txt', { cwd: work })).rejects.toThrow(
      `requirements: requirements.txt line 3: ${why}`
    )
  })

  it("leaves a local project out of pip's copy, for the builder to build", async () => {
    await fs.mkdir(path.join(work, 'libs', 'common'), { recursive: true })
    await write(
      'requirements.txt',
      'requests==2.32.3\n./libs/common[fast]\n-e libs/common\ncommon @ file:libs/common\nx/y; python_version < "3"\n'
    )
    const source = await read('requirements.txt', { cwd: work })
    expect(await pipLines(source)).toEqual(['requests==2.32.3'])
    const project = path.join(work, 'libs', 'common')
    const file = path.join(work, 'requirements.txt')
    expect(source.localProjects).toEqual([
      {
        path: project,
        written: './libs/common',
        extras: ['fast'],
        editable: false,
        origin: { file, line: 2 }
      },
      {
        path: project,
        written: '-e libs/common',
        extras: [],
        editable: true,
        origin: { file, line: 3 }
      },
      {
        path: project,
        written: 'file:libs/common',
        name: 'common',
        extras: [],
        editable: false,
        origin: { file, line: 4 }
      }
    ])
    expect(source.directNames).toEqual(['common', 'requests'])
  })

  it('names the included file when the refused line is in a -r include', async () => {
    await write('requirements.txt', 'requests==2.32.3\n-r more.txt\n')
    await write('more.txt', '# vcs code\n-e git+https://github.com/acme/x#egg=x\n')
    await expect(read('requirements.txt', { cwd: work })).rejects.toThrow(
      'requirements: more.txt line 2: "-e git+https://github.com/acme/x#egg=x" is an editable requirement'
    )
  })

  it('refuses an include that does not exist, naming the line', async () => {
    await write('requirements.txt', 'requests==2.32.3\n-r missing.txt\n')
    await expect(read('requirements.txt', { cwd: work })).rejects.toThrow(
      'requirements: requirements.txt line 2: included file "missing.txt" does not exist'
    )
  })

  it('accepts a remote wheel URL and knows its package name', async () => {
    await write(
      'requirements.txt',
      'https://files.example.com/wheels/shared_utils-1.2.0-py3-none-any.whl\n'
    )
    const source = await read('requirements.txt', { cwd: work })
    expect(source.directNames).toEqual(['shared-utils'])
  })

  it('gives the same identity when lines are reordered or comments change, another when a pin moves', async () => {
    const base =
      'requests==2.32.3  # http\npydantic==2.9.2\ncolorama==0.4.6; sys_platform == "win32"\n'
    await write('a/requirements.txt', base)
    await write(
      'b/requirements.txt',
      '# reordered\npydantic==2.9.2   # models\n\nrequests==2.32.3\ncolorama==0.4.5; sys_platform == "win32"\n'
    )
    await write('c/requirements.txt', base.replace('2.9.2', '2.10.0'))
    const [a, b, c] = await Promise.all(
      ['a', 'b', 'c'].map(d => read(`${d}/requirements.txt`, { cwd: work }))
    )
    expect(b.identity).toBe(a.identity)
    expect(c.identity).not.toBe(a.identity)
    expect(a.identity).toMatch(/^[0-9a-f]{64}$/)
  })

  it('refuses extras and groups, which a requirements file cannot have', async () => {
    await expect(read('requirements/hashed.txt', { extras: ['fast'] })).rejects.toThrow(
      'extras: requirements/hashed.txt is a requirements file, which has no extras'
    )
    await expect(read('requirements/hashed.txt', { groups: ['dev'] })).rejects.toThrow(
      'groups: requirements/hashed.txt is a requirements file, which has no dependency groups'
    )
  })
})

describe('a requirements file stays inside the workspace', () => {
  const FIX = 'move it into the repository, or set allow-outside-workspace: true'
  let ws: string
  /** A file elsewhere on the runner, holding what must never be read into a message. */
  let outside: string
  beforeEach(async () => {
    ws = path.join(work, 'ws')
    await fs.mkdir(ws, { recursive: true })
    outside = await fs.realpath(await write('outside/shared.txt', 'leaked-secret-package==6.6.6\n'))
  })

  it('refuses a requirements path outside the workspace before reading it, naming the way out', async () => {
    await expect(read('/proc/self/environ', { cwd: ws })).rejects.toThrow(
      new Error(`requirements: /proc/self/environ is outside the workspace (${ws}); ${FIX}`)
    )
    // a named pipe blocks whoever opens it: refused at once means it was never opened
    const fifo = path.join(work, 'outside', 'requirements.txt')
    await run('mkfifo', [fifo])
    await expect(read('../outside/requirements.txt', { cwd: ws })).rejects.toThrow(
      new Error(
        `requirements: ../outside/requirements.txt is outside the workspace (${ws}); ${FIX}`
      )
    )
  })

  it('refuses a requirements file that links to a file outside, without showing what it holds', async () => {
    await fs.symlink(outside, path.join(ws, 'requirements.txt'))
    const error = await read('requirements.txt', { cwd: ws }).catch((e: Error) => e)
    expect(error).toEqual(
      new Error(
        `requirements: requirements.txt reaches ${outside}, outside the workspace (${ws}); ${FIX}`
      )
    )
    // the same through a folder input that picks requirements.txt
    await expect(read('.', { cwd: ws })).rejects.toThrow(`reaches ${outside}, outside`)
  })

  it.each([
    '-r ../outside/shared.txt',
    '--requirement=../outside/shared.txt',
    '--requirement ../outside/shared.txt',
    '-r../outside/shared.txt',
    '-c ../outside/shared.txt',
    '--constraint ../outside/shared.txt',
    // optparse takes an unambiguous abbreviation, so pip would follow these too
    '--requirem ../outside/shared.txt',
    '--constr=../outside/shared.txt'
  ])('refuses "%s" at its line, naming where it reaches', async include => {
    await write('ws/requirements.txt', `# app\ntinyjson==1.0.0\n${include}\n`)
    const error = await read('requirements.txt', { cwd: ws }).catch((e: Error) => e)
    expect(error).toEqual(
      new Error(
        `requirements: requirements.txt line 3: ${include} reaches ${outside}, outside the workspace; ${FIX}`
      )
    )
  })

  it('refuses an include that is a link out, and an include of an include that reaches out', async () => {
    await fs.symlink(outside, path.join(ws, 'shared.txt'))
    await write('ws/requirements.txt', 'tinyjson==1.0.0\n-r shared.txt\n')
    await expect(read('requirements.txt', { cwd: ws })).rejects.toThrow(
      new Error(
        `requirements: requirements.txt line 2: -r shared.txt reaches ${outside}, outside the workspace; ${FIX}`
      )
    )
    await write('ws/app/requirements.txt', '-r ../base/common.txt\n')
    await write('ws/base/common.txt', 'greeter\n\n-c ../../outside/shared.txt\n')
    await expect(read('app/requirements.txt', { cwd: ws })).rejects.toThrow(
      new Error(
        `requirements: base/common.txt line 3: -c ../../outside/shared.txt reaches ${outside}, outside the workspace; ${FIX}`
      )
    )
  })

  it('refuses a --find-links folder outside, and takes one inside', async () => {
    await fs.mkdir(path.join(work, 'outside', 'wheels'))
    await fs.mkdir(path.join(ws, 'wheels'))
    await write('ws/requirements.txt', '--find-links ./wheels\ntinyjson\n')
    expect((await read('requirements.txt', { cwd: ws })).directNames).toEqual(['tinyjson'])
    for (const findLinks of [
      '-f ../outside/wheels',
      `--find-links file://${work}/outside/wheels`
    ]) {
      await write('ws/requirements.txt', `tinyjson\n${findLinks}\n`)
      await expect(read('requirements.txt', { cwd: ws })).rejects.toThrow(
        `requirements: requirements.txt line 2: ${findLinks} reaches ${path.dirname(outside)}/wheels, outside the workspace; ${FIX}`
      )
    }
  })

  it.each([
    // pip splits option text with shlex: quotes and escapes inside a word are read away
    ['-f"../outside/wheels"', '-f../outside/wheels'],
    ['--find-links ..\\/outside/wheels', '--find-links ../outside/wheels'],
    // pip reads `file:` without // as a path from the working directory
    ['--find-links file:../outside/wheels', '--find-links file:../outside/wheels'],
    // and takes an existing local path as an index
    ['--extra-index-url ../outside/wheels', '--extra-index-url ../outside/wheels'],
    ['-i "file:../outside/wheels"', '-i file:../outside/wheels']
  ])('refuses "%s", the way pip reads it, at its line', async (line, asRead) => {
    await fs.mkdir(path.join(work, 'outside', 'wheels'), { recursive: true })
    await write('ws/requirements.txt', `tinyjson\n${line}\n`)
    await expect(read('requirements.txt', { cwd: ws })).rejects.toThrow(
      `requirements: requirements.txt line 2: ${asRead} reaches ${path.dirname(outside)}/wheels, outside the workspace; ${FIX}`
    )
  })

  it('refuses an include given as a file: URL, which pip reads from the working directory', async () => {
    await write('ws/requirements.txt', 'tinyjson\n-r file:../outside/shared.txt\n')
    await expect(read('requirements.txt', { cwd: ws })).rejects.toThrow(
      /^requirements: requirements.txt line 2: .*includes a file from a URL/
    )
  })

  it('reads files outside with allow-outside-workspace: true', async () => {
    await write('ws/requirements.txt', 'tinyjson==1.0.0\n-r ../outside/shared.txt\n')
    const source = await read('requirements.txt', { cwd: ws, allowOutsideWorkspace: true })
    expect(source.directNames).toEqual(['leaked-secret-package', 'tinyjson'])
    const direct = await read(outside, { cwd: ws, allowOutsideWorkspace: true })
    expect(direct.directNames).toEqual(['leaked-secret-package'])
  })

  it('names an include loop in one line, from the file that closes it', async () => {
    await write('ws/a.txt', '-r b.txt\ntinyjson\n')
    await write('ws/b.txt', 'greeter\n-r ./a.txt\n')
    await expect(read('a.txt', { cwd: ws })).rejects.toThrow(
      new Error('requirements: include loop: a.txt line 1 → b.txt line 2 → a.txt')
    )
    await write('ws/self.txt', 'tinyjson\n\n-c self.txt\n')
    await expect(read('self.txt', { cwd: ws })).rejects.toThrow(
      new Error('requirements: include loop: self.txt line 3 → self.txt')
    )
  })

  it('reads a file two includes share once, which is no loop', async () => {
    await write('ws/requirements.txt', '-r web.txt\n-r worker.txt\n')
    await write('ws/web.txt', '-r common.txt\ngreeter\n')
    await write('ws/worker.txt', '-r common.txt\noldpy\n')
    await write('ws/common.txt', 'tinyjson\n')
    const source = await read('requirements.txt', { cwd: ws })
    expect(source.directNames).toEqual(['greeter', 'oldpy', 'tinyjson'])
  })
})

describe('a requirements file cannot make pip build on the runner or for another target', () => {
  const COMPILES =
    'pip compile packages on the runner, which cannot build them for Lambda; remove it (the action builds pure sdists itself and refuses native ones)'
  const TARGET =
    'is set by the action from runtime and architecture and cannot be changed in a requirements file; remove it'

  it.each([
    ['--no-binary :all:', `--no-binary makes ${COMPILES}`],
    ['--no-binary=:all:', `--no-binary makes ${COMPILES}`],
    ['--no-binary tinyjson', `--no-binary makes ${COMPILES}`],
    ['--no-bin :all:', `--no-bin (--no-binary) makes ${COMPILES}`],
    ['greeter==1.0.0 --no-binary :all:', `--no-binary makes ${COMPILES}`],
    ['--only-binary :none:', `--only-binary :none: lets ${COMPILES}`],
    ['--only-binary=tinyjson,:none:', `--only-binary tinyjson,:none: lets ${COMPILES}`],
    ['--platform manylinux2014_x86_64', `--platform ${TARGET}`],
    ['--python-version=3.9', `--python-version ${TARGET}`],
    ['--abi cp39', `--abi ${TARGET}`],
    ['--implementation pp', `--implementation ${TARGET}`],
    ['--target /tmp/site', `--target ${TARGET}`],
    ['--root /', `--root ${TARGET}`],
    ['--prefix /usr', `--prefix ${TARGET}`],
    ['--edit ../shared', '"-e ../shared" is a local project that reaches']
  ])('refuses "%s" at its line', async (line, why) => {
    await write('requirements.txt', `tinyjson==1.0.0\n${line}\n`)
    await expect(read('requirements.txt', { cwd: work })).rejects.toThrow(
      `requirements: requirements.txt line 2: ${why}`
    )
  })

  it('refuses the same in an included file, at that file’s line', async () => {
    await write('requirements.txt', '-r more.txt\n')
    await write('more.txt', '# build everything\n--no-binary=:all:\n')
    await expect(read('requirements.txt', { cwd: work })).rejects.toThrow(
      new Error(`requirements: more.txt line 2: --no-binary makes ${COMPILES}`)
    )
  })

  it.each([
    'mylib @ https://files.example.com/mylib-1.0.tar.gz',
    'https://github.com/acme/mylib/archive/refs/tags/v1.0.zip#egg=mylib',
    'mylib @ https://files.example.com/download?file=mylib-1.0.whl'
  ])('refuses "%s", a URL pip would build from source on the runner', async line => {
    await write('requirements.txt', `${line}\n`)
    await expect(read('requirements.txt', { cwd: work })).rejects.toThrow(
      new Error(
        `requirements: requirements.txt line 1: "${line}" is not a wheel URL; pip would build it on the runner, which cannot build it for Lambda; point it at a .whl, or publish it to an index and require it by name (the action builds pure sdists from an index itself)`
      )
    )
  })

  it('keeps the options that only choose where wheels come from', async () => {
    const lines = [
      '--index-url https://pypi.example.com/simple',
      '-i https://pypi.example.com/simple',
      '--extra-index-url=https://mirror.example.com/simple',
      '--trusted-host mirror.example.com',
      '--find-links https://wheels.example.com/',
      '--pre',
      '--prefer-binary',
      '--only-binary :all:',
      '--only-binary tinyjson',
      '--no-index',
      '--use-feature=truststore',
      `tinyjson==1.0.0 --hash=sha256:${'a'.repeat(64)}`,
      'greeter==1.0.0 --hash sha256:' + 'b'.repeat(64)
    ]
    await write('requirements.txt', lines.join('\n') + '\n')
    const source = await read('requirements.txt', { cwd: work })
    expect(source.directNames).toEqual(['greeter', 'tinyjson'])
    expect(source.hashed).toBe(true)
  })
})

describe('a requirements file that is not UTF-8', () => {
  it.each([
    [
      'UTF-16 with its byte-order mark',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('tinyjson\n', 'utf16le')]),
      'byte 0xff at offset 0: a UTF-16 byte-order mark'
    ],
    [
      'UTF-16 without one',
      Buffer.from('tinyjson\n', 'utf16le'),
      'byte 0x00 at offset 1, line 1: UTF-16 without a byte-order mark?'
    ],
    ['Latin-1', Buffer.from('# café\ntinyjson\n', 'latin1'), 'byte 0xe9 at offset 5, line 1'],
    [
      'cut off in the middle of a character',
      Buffer.concat([Buffer.from('tinyjson\n# caf'), Buffer.from([0xc3])]),
      'byte 0xc3 at offset 14, line 2'
    ]
  ])('is refused in one line naming the file and the first bad byte: %s', async (_, bytes, why) => {
    await write('requirements.txt', '-r more.txt\n')
    await fs.writeFile(path.join(work, 'more.txt'), bytes)
    await expect(read('requirements.txt', { cwd: work })).rejects.toThrow(
      new Error(`requirements: more.txt is not UTF-8 (${why}); save it as UTF-8`)
    )
  })

  it('UTF-8 with a byte-order mark is read as pip reads it', async () => {
    await fs.writeFile(path.join(work, 'requirements.txt'), '\uFEFFtinyjson==1.0.0\ngreeter\n')
    const source = await read('requirements.txt', { cwd: work })
    expect(source.directNames).toEqual(['greeter', 'tinyjson'])
    expect(source.origin('tinyjson')?.line).toBe(1)
  })

  it('a lock file too', async () => {
    await fs.writeFile(path.join(work, 'uv.lock'), Buffer.from('version = 1\n# ü\n', 'latin1'))
    await expect(read('uv.lock', { cwd: work })).rejects.toThrow(
      new Error(
        'requirements: uv.lock is not UTF-8 (byte 0xfc at offset 14, line 2); save it as UTF-8'
      )
    )
  })
})

describe('${VAR} in a requirements file', () => {
  const SECRET = 'ghp_s3cr3tTokenValue'
  beforeEach(() => {
    process.env.PRIVATE_TOKEN = SECRET
  })
  afterEach(() => {
    delete process.env.PRIVATE_TOKEN
  })

  it.each([
    [
      'mylib @ git+https://${PRIVATE_TOKEN}@github.com/acme/mylib',
      '"mylib @ git+https://***@github.com/acme/mylib" is a version-control URL'
    ],
    [
      'mylib @ https://x:${PRIVATE_TOKEN}@files.example.com/mylib-1.0.tar.gz',
      '"mylib @ https://***@files.example.com/mylib-1.0.tar.gz" is not a wheel URL'
    ],
    [
      'mylib @ https://files.example.com/mylib-1.0.tar.gz?token=${PRIVATE_TOKEN}',
      '"mylib @ https://files.example.com/mylib-1.0.tar.gz?token=${PRIVATE_TOKEN}" is not a wheel URL'
    ],
    [
      'mylib; python_version >< "${PRIVATE_TOKEN}"',
      'invalid environment marker "python_version >< "${PRIVATE_TOKEN}""'
    ],
    ['--no-binary ${PRIVATE_TOKEN}', '--no-binary makes pip compile packages on the runner']
  ])('shows "%s" as written, never what it expands to', async (line, shown) => {
    await write('requirements.txt', `tinyjson\n${line}\n`)
    const error = await read('requirements.txt', { cwd: work }).catch((e: Error) => e)
    expect((error as Error).message).toContain(`requirements: requirements.txt line 2: ${shown}`)
    expect((error as Error).message).not.toContain(SECRET)
  })

  it('hands credentials it expands into URLs over for masking, and pip still gets ${VAR} to expand itself', async () => {
    await write(
      'requirements.txt',
      '--extra-index-url https://__token__:${PRIVATE_TOKEN}@pypi.example.com/simple\ntinyjson; platform_machine == "x86_64"\n'
    )
    const source = await read('requirements.txt', { cwd: work })
    expect(source.secrets).toContain(SECRET)
    // the Lambda copy (written for the marker) holds the line as written, not the token
    const copy = await fs.readFile(source.requirementsFile, 'utf8')
    expect(copy).toContain('${PRIVATE_TOKEN}')
    expect(copy).not.toContain(SECRET)
  })

  it('hands over a token expanded into a URL path too, as pip prints such a URL whole', async () => {
    process.env.SHORT_VALUE = 'v2'
    try {
      await write(
        'requirements.txt',
        '--extra-index-url https://pkgs.example.com/${PRIVATE_TOKEN}/${SHORT_VALUE}/simple\ntinyjson\n'
      )
      const source = await read('requirements.txt', { cwd: work })
      expect(source.secrets).toContain(SECRET)
      // a short value (a version, a region) would blot out every log line it appears in
      expect(source.secrets).not.toContain('v2')
    } finally {
      delete process.env.SHORT_VALUE
    }
  })
})

describe('pyproject.toml', () => {
  it('reads [project].dependencies with markers evaluated for Lambda, without hashes', async () => {
    const source = await read('pyproject/pyproject.toml', { architecture: 'arm64' })
    expect(source.kind).toBe('pyproject')
    expect(source.hashed).toBe(false)
    expect(await pipLines(source)).toEqual([
      'greenlet>=3',
      'pydantic>=2.7',
      'requests[socks]<3,>=2.31'
    ])
    const x86 = await read('pyproject/pyproject.toml', { architecture: 'x86_64' })
    expect(await pipLines(x86)).toEqual(['pydantic>=2.7', 'requests[socks]<3,>=2.31'])
  })

  it('adds the asked extras (following a self-reference) and groups (following include-group)', async () => {
    const source = await read('pyproject/pyproject.toml', { extras: ['all'], groups: ['dev'] })
    expect(source.directNames).toEqual([
      'orjson',
      'pydantic',
      'pytest',
      'pytest-cov',
      'requests',
      'ruff',
      'ujson'
    ])
    expect(source.directNames).not.toContain('orders-api')
  })

  it('points each dependency at its line', async () => {
    const source = await read('pyproject/pyproject.toml')
    const text = (await fixture('pyproject/pyproject.toml')).split('\n')
    expect(source.origin('pydantic')?.line).toBe(
      text.findIndex(l => l.includes('"pydantic>=2.7"')) + 1
    )
  })

  it('refuses an unknown extra or group, listing the ones there are', async () => {
    await expect(read('pyproject/pyproject.toml', { extras: ['gpu'] })).rejects.toThrow(
      'extras: pyproject/pyproject.toml has no extra "gpu" (available: all, fast)'
    )
    await expect(read('pyproject/pyproject.toml', { groups: ['docs'] })).rejects.toThrow(
      'groups: pyproject/pyproject.toml has no dependency group "docs" (available: dev, test)'
    )
  })

  it('refuses dynamic dependencies', async () => {
    await write(
      'pyproject.toml',
      '[project]\nname = "x"\nversion = "1"\ndynamic = ["dependencies"]\n'
    )
    await expect(read('pyproject.toml', { cwd: work })).rejects.toThrow(
      'requirements: pyproject.toml declares its dependencies dynamic'
    )
  })

  it('refuses a local path dependency, naming its line', async () => {
    await write(
      'pyproject.toml',
      '[project]\nname = "x"\nversion = "1"\ndependencies = [\n  "requests>=2",\n  "shared @ file:///src/shared",\n]\n'
    )
    await expect(read('pyproject.toml', { cwd: work })).rejects.toThrow(
      'requirements: pyproject.toml line 6: "shared @ file:///src/shared" is a local file URL'
    )
  })

  it('refuses a runtime outside requires-python', async () => {
    await expect(read('pyproject/pyproject.toml', { runtime: 'python3.9' })).rejects.toThrow(
      'requirements: pyproject/pyproject.toml (requires-python) is for Python ">=3.10", which excludes python3.9'
    )
  })
})

describe('uv.lock', () => {
  it('pins the root project’s dependencies for Lambda x86_64 python3.12, with every listed hash', async () => {
    const source = await read('uv/uv.lock')
    expect(source.kind).toBe('uv.lock')
    expect(source.hashed).toBe(true)
    expect(await pins(source)).toEqual([
      'certifi==2024.8.30',
      'charset-normalizer==3.4.0',
      'greenlet==3.1.1',
      'idna==3.10',
      'numpy==2.2.1',
      'pysocks==1.7.1',
      'requests==2.32.3',
      'sqlalchemy==2.0.36',
      'typing-extensions==4.12.2',
      'urllib3==2.2.3'
    ])
    const numpy = (await pipLines(source)).find(l => l.startsWith('numpy'))
    // one sdist and four wheels
    expect(numpy?.match(/--hash=sha256:[0-9a-f]{64}/g)).toHaveLength(5)
    expect(source.directNames).toEqual(['numpy', 'requests', 'sqlalchemy'])
  })

  it('adds asked extras and groups and drops what markers exclude on arm64 python3.13', async () => {
    const source = await read('uv/uv.lock', {
      runtime: 'python3.13',
      architecture: 'arm64',
      extras: ['fast'],
      groups: ['dev']
    })
    const names = (await pins(source)).map(p => p.split('==')[0])
    expect(names).toEqual(
      expect.arrayContaining(['orjson', 'pytest', 'iniconfig', 'pluggy', 'packaging'])
    )
    // greenlet only below 3.13; colorama, exceptiongroup and tomli are for Windows or old Python;
    // uvloop's marker is macOS's "arm64"; ruff is in the lint group that was not asked for
    for (const absent of [
      'greenlet',
      'colorama',
      'exceptiongroup',
      'tomli',
      'uvloop',
      'ruff',
      'orders-api'
    ])
      expect(names).not.toContain(absent)
    expect(source.directNames).toEqual(['numpy', 'orjson', 'pytest', 'requests', 'sqlalchemy'])
  })

  it('points a package at its [[package]] entry', async () => {
    const source = await read('uv/uv.lock')
    expect(source.origin('certifi')).toEqual({ file: path.join(FIXTURES, 'uv/uv.lock'), line: 10 })
  })

  it('refuses an unknown extra or group, listing the ones the project has', async () => {
    await expect(read('uv/uv.lock', { extras: ['gpu'] })).rejects.toThrow(
      'extras: uv/uv.lock has no extra "gpu" (available: fast)'
    )
    await expect(read('uv/uv.lock', { groups: ['docs'] })).rejects.toThrow(
      'groups: uv/uv.lock has no dependency group "docs" (available: dev, lint)'
    )
  })

  it('refuses a path dependency of the project, naming it and its entry', async () => {
    await expect(read('uv-path/uv.lock')).rejects.toThrow(
      /^requirements: uv-path\/uv\.lock line \d+: shared-utils is a local project \(\.\.\/shared-utils\) that does not exist/
    )
  })

  it('gives the same identity for a reordered lock and another when a pin changes', async () => {
    const text = await fixture('uv/uv.lock')
    const [head, ...blocks] = text.split('\n[[package]]\n')
    const reversed = [head, ...blocks.reverse()]
      .join('\n[[package]]\n')
      // and the project's own dependency list, which decides the order the graph is walked in
      .replace(
        /(source = \{ virtual = "\." \}\ndependencies = \[\n)([\s\S]*?)(\n\])/,
        (_, open, list, close) => open + (list as string).split('\n').reverse().join('\n') + close
      )
    expect(reversed).not.toBe(text)
    await write('reordered/uv.lock', '# re-locked\n' + reversed + '\n')
    await write('bumped/uv.lock', text.replace('version = "2.32.3"', 'version = "2.32.4"'))
    const original = await read('uv/uv.lock')
    const reordered = await read('reordered/uv.lock', { cwd: work })
    const bumped = await read('bumped/uv.lock', { cwd: work })
    expect(reordered.identity).toBe(original.identity)
    expect(bumped.identity).not.toBe(original.identity)
  })

  it('refuses a runtime outside the lock’s requires-python', async () => {
    await expect(read('uv/uv.lock', { runtime: 'python3.9' })).rejects.toThrow(
      'requirements: uv/uv.lock (requires-python) is for Python ">=3.10", which excludes python3.9'
    )
  })

  it('falls back to plain pins with a warning when some packages have no hashes', async () => {
    const text = await fixture('uv-path/uv.lock')
    const withoutShared = text.slice(0, text.indexOf('[[package]]\nname = "shared-utils"'))
    await write(
      'uv.lock',
      withoutShared.replace('    { name = "shared-utils" },\n', '    { name = "tzdata" },\n') +
        '\n[[package]]\nname = "tzdata"\nversion = "2024.2"\nsource = { registry = "https://pypi.org/simple" }\n'
    )
    const source = await read('uv.lock', { cwd: work })
    expect(source.hashed).toBe(false)
    expect(await pipLines(source)).toEqual(['idna==3.10', 'tzdata==2024.2'])
    expect(core.warning).toHaveBeenCalledWith(expect.stringContaining('no hashes for tzdata'))
  })
})

describe('poetry.lock', () => {
  it('Poetry 2: takes the main group with its locked markers for Lambda', async () => {
    const source = await read('poetry/poetry.lock')
    expect(source.kind).toBe('poetry.lock')
    expect(source.hashed).toBe(true)
    const names = (await pins(source)).map(p => p.split('==')[0])
    expect(names).toEqual([
      'annotated-types',
      'certifi',
      'charset-normalizer',
      'click',
      'greenlet',
      'idna',
      'pydantic',
      'pydantic-core',
      'requests',
      'sqlalchemy',
      'typing-extensions',
      'urllib3'
    ])
    expect(source.directNames).toEqual(['click', 'pydantic', 'requests', 'sqlalchemy'])
  })

  it('Poetry 2: adds an asked extra and the dev group, still evaluating markers', async () => {
    const source = await read('poetry/poetry.lock', {
      runtime: 'python3.13',
      architecture: 'arm64',
      extras: ['fast'],
      groups: ['dev']
    })
    const names = (await pins(source)).map(p => p.split('==')[0])
    expect(names).toEqual(expect.arrayContaining(['orjson', 'pytest', 'pluggy', 'iniconfig']))
    for (const absent of ['greenlet', 'colorama', 'exceptiongroup', 'tomli'])
      expect(names).not.toContain(absent)
  })

  it('Poetry 1: walks the pyproject’s dependencies through the lock, with extras and Python-specific choices', async () => {
    const source = await read('poetry1/poetry.lock', { extras: ['fast'] })
    expect(await pins(source)).toEqual([
      'certifi==2024.8.30',
      'charset-normalizer==3.4.0',
      'idna==3.10',
      'numpy==2.1.3',
      'orjson==3.10.12',
      'pysocks==1.7.1',
      'pyyaml==6.0.2',
      'requests==2.32.3',
      'urllib3==2.2.3'
    ])
    const older = await read('poetry1/poetry.lock', { runtime: 'python3.10', groups: ['dev'] })
    const names = await pins(older)
    expect(names).toEqual(
      expect.arrayContaining([
        'numpy==1.26.4',
        'tomli==2.2.1',
        'pytest==8.3.4',
        'exceptiongroup==1.2.2'
      ])
    )
    expect(names.join(' ')).not.toMatch(/orjson|colorama/)
  })

  it('Poetry 1: needs the pyproject.toml next to the lock', async () => {
    await write('poetry.lock', await fixture('poetry1/poetry.lock'))
    await expect(read('poetry.lock', { cwd: work })).rejects.toThrow(
      'requirements: poetry.lock (lock-version 2.0, Poetry 1) does not record which packages each group needs'
    )
  })

  it.each([
    ['directory', 'is a local project (../shared) that reaches'],
    ['git', 'comes from git (../shared)']
  ])('refuses a %s source, naming the package and its entry', async (type, why) => {
    const lock = await fixture('poetry/poetry.lock')
    const shared =
      '[[package]]\nname = "shared"\nversion = "0.1.0"\ndescription = ""\noptional = false\npython-versions = ">=3.10"\ngroups = ["main"]\nfiles = []\n\n' +
      `[package.source]\ntype = "${type}"\nurl = "../shared"\n\n`
    await write('poetry.lock', lock.replace('[extras]', shared + '[extras]'))
    await expect(read('poetry.lock', { cwd: work })).rejects.toThrow(
      new RegExp(`^requirements: poetry\\.lock line \\d+: shared ${why.replace(/[().]/g, '\\$&')}`)
    )
  })

  it('refuses an unknown group, listing the ones there are', async () => {
    await expect(read('poetry/poetry.lock', { groups: ['docs'] })).rejects.toThrow(
      'groups: poetry/poetry.lock has no dependency group "docs" (available: dev, main)'
    )
  })
})

describe('Pipfile.lock', () => {
  it('takes the default section with markers evaluated for Lambda', async () => {
    const source = await read('pipenv/Pipfile.lock', { architecture: 'arm64' })
    expect(source.kind).toBe('Pipfile.lock')
    expect(source.hashed).toBe(true)
    const names = (await pins(source)).map(p => p.split('==')[0])
    expect(names).toEqual([
      'certifi',
      'charset-normalizer',
      'greenlet',
      'idna',
      'pysocks',
      'requests',
      'sqlalchemy',
      'typing-extensions',
      'urllib3'
    ])
    expect(source.directNames).toEqual(['requests', 'sqlalchemy'])
    expect(source.origin('idna')?.line).toBeGreaterThan(1)
  })

  it('adds develop only when asked, and other Pipfile categories by name', async () => {
    const dev = await read('pipenv/Pipfile.lock', { groups: ['dev', 'docs'] })
    expect((await pins(dev)).map(p => p.split('==')[0])).toEqual(
      expect.arrayContaining(['pytest', 'pluggy', 'mkdocs'])
    )
    await expect(read('pipenv/Pipfile.lock', { groups: ['lint'] })).rejects.toThrow(
      'groups: pipenv/Pipfile.lock has no dependency group "lint" (available: default, dev, develop, docs)'
    )
  })

  it.each([
    [{ editable: true, path: './shared' }, 'is a local project (./shared) that does not exist'],
    [{ git: 'https://github.com/acme/shared.git', ref: 'abc123' }, 'comes from version control']
  ])('refuses %j', async (entry, why) => {
    const lock = JSON.parse(await fixture('pipenv/Pipfile.lock')) as Record<
      string,
      Record<string, unknown>
    >
    lock.default.shared = entry
    await write('Pipfile.lock', JSON.stringify(lock, null, 4))
    await expect(read('Pipfile.lock', { cwd: work })).rejects.toThrow(
      `requirements: Pipfile.lock line`
    )
    await expect(read('Pipfile.lock', { cwd: work })).rejects.toThrow(`shared ${why}`)
  })

  it('names the file when a marker in it cannot be read', async () => {
    const lock = JSON.parse(await fixture('pipenv/Pipfile.lock')) as Record<
      string,
      Record<string, { markers?: string }>
    >
    lock.default.idna.markers = "python_version >< '3.8'"
    await write('Pipfile.lock', JSON.stringify(lock, null, 4))
    await expect(read('Pipfile.lock', { cwd: work })).rejects.toThrow(
      `requirements: Pipfile.lock: invalid environment marker "python_version >< '3.8'"`
    )
  })

  it('refuses extras, which a Pipfile.lock does not have', async () => {
    await expect(read('pipenv/Pipfile.lock', { extras: ['fast'] })).rejects.toThrow(
      'extras: pipenv/Pipfile.lock is a Pipfile.lock file, which has no extras'
    )
  })
})

describe('the requirements input', () => {
  it.each([
    ['uv', 'uv.lock', 'uv.lock'],
    ['poetry', 'poetry.lock', 'poetry.lock'],
    ['pipenv', 'Pipfile.lock', 'Pipfile.lock'],
    ['pyproject', 'pyproject', 'pyproject.toml']
  ])('in directory %s uses the first file found: %s', async (directory, kind, file) => {
    const source = await read(directory)
    expect(source.kind).toBe(kind)
    expect(source.file).toBe(path.join(FIXTURES, directory, file))
    expect(source.chosenFrom).toBe(path.join(FIXTURES, directory))
  })

  it('in a directory with requirements.txt and pyproject.toml, prefers requirements.txt', async () => {
    await write('app/requirements.txt', 'requests==2.32.3\n')
    await write('app/pyproject.toml', '[project]\nname = "app"\nversion = "1"\n')
    const source = await read('app', { cwd: work })
    expect(source.kind).toBe('requirements')
  })

  it('says what it looked for in a directory without any of them', async () => {
    await expect(read('empty-dir')).rejects.toThrow(
      'requirements: empty-dir is a directory with none of uv.lock, poetry.lock, Pipfile.lock, requirements.txt, pyproject.toml'
    )
  })

  it('names a missing file', async () => {
    await expect(read('nope/requirements.txt')).rejects.toThrow(
      'requirements: nope/requirements.txt does not exist'
    )
  })
})

describe('pip installs what the generated files say, for the target rather than the runner', () => {
  const pipEnv = (): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {}
    for (const [key, value] of Object.entries(process.env))
      if (!key.startsWith('PIP_')) env[key] = value
    return {
      ...env,
      PIP_CONFIG_FILE: '/dev/null',
      PIP_DISABLE_PIP_VERSION_CHECK: '1',
      PIP_NO_INPUT: '1'
    }
  }

  /** A minimal pure wheel; returns its sha256. */
  async function buildWheel(directory: string, name: string): Promise<string> {
    const script = `
import base64, hashlib, sys, zipfile
name, out = sys.argv[1], sys.argv[2]
dist = f"{name}-1.0.dist-info"
files = {
    f"{name}/__init__.py": b"VALUE = 1\\n",
    f"{dist}/METADATA": f"Metadata-Version: 2.1\\nName: {name}\\nVersion: 1.0\\n".encode(),
    f"{dist}/WHEEL": b"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
record = "".join(
    f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()},{len(d)}\\n"
    for p, d in files.items()
) + f"{dist}/RECORD,,\\n"
with zipfile.ZipFile(out, "w") as z:
    for p, d in files.items():
        z.writestr(p, d)
    z.writestr(f"{dist}/RECORD", record)
`
    const wheel = path.join(directory, `${name}-1.0-py3-none-any.whl`)
    await fs.mkdir(directory, { recursive: true })
    await run('python3', ['-c', script, name, wheel])
    return createHash('sha256')
      .update(await fs.readFile(wheel))
      .digest('hex')
  }

  async function pipInstall(source: DependencySource, wheels: string): Promise<string[]> {
    const target = path.join(work, 'site')
    const args = ['-m', 'pip', 'install', '--no-index', '--find-links', wheels, '--target', target]
    if (source.hashed) args.push('--require-hashes', '--no-deps')
    await run('python3', [...args, '-r', source.requirementsFile], { env: pipEnv() })
    return (await fs.readdir(target)).filter(f => !f.includes('.dist-info')).sort()
  }

  it('a uv.lock for arm64 installs the aarch64-only package in hash-checking mode', async () => {
    const wheels = path.join(work, 'wheels')
    const arm = await buildWheel(wheels, 'demo_arm')
    const x86 = await buildWheel(wheels, 'demo_x86')
    const lock = (armHash: string): string => `version = 1
requires-python = ">=3.10"

[[package]]
name = "app"
version = "0.1.0"
source = { virtual = "." }
dependencies = [
    { name = "demo-arm", marker = "platform_machine == 'aarch64'" },
    { name = "demo-x86", marker = "platform_machine == 'x86_64'" },
]

[[package]]
name = "demo-arm"
version = "1.0"
source = { registry = "https://pypi.org/simple" }
wheels = [{ url = "https://example.invalid/demo_arm-1.0-py3-none-any.whl", hash = "sha256:${armHash}" }]

[[package]]
name = "demo-x86"
version = "1.0"
source = { registry = "https://pypi.org/simple" }
wheels = [{ url = "https://example.invalid/demo_x86-1.0-py3-none-any.whl", hash = "sha256:${x86}" }]
`
    await write('good/uv.lock', lock(arm))
    const source = await read('good/uv.lock', { cwd: work, architecture: 'arm64' })
    expect(source.hashed).toBe(true)
    expect(await pipInstall(source, wheels)).toEqual(['demo_arm'])

    await write('tampered/uv.lock', lock(x86))
    const tampered = await read('tampered/uv.lock', { cwd: work, architecture: 'arm64' })
    await expect(pipInstall(tampered, wheels)).rejects.toThrow(/DO NOT MATCH THE HASHES/)
  })

  it('a requirements file with machine markers installs the arm64 line even on an x86_64 runner', async () => {
    const wheels = path.join(work, 'wheels')
    await buildWheel(wheels, 'demo_arm')
    await buildWheel(wheels, 'demo_x86')
    await write(
      'requirements.txt',
      'demo-arm==1.0; platform_machine == "aarch64"\ndemo-x86==1.0; platform_machine == "x86_64"\n'
    )
    const arm = await read('requirements.txt', { cwd: work, architecture: 'arm64' })
    expect(await pipInstall(arm, wheels)).toEqual(['demo_arm'])
  })
})

describe('path dependencies of locks, inside the workspace', () => {
  it('hands uv workspace members, Poetry directories and Pipfile paths to the builder, not to pip', async () => {
    await fs.mkdir(path.join(work, 'libs', 'common'), { recursive: true })
    const common = path.join(work, 'libs', 'common')
    await write(
      'uv.lock',
      'version = 1\nrequires-python = ">=3.12"\n\n[[package]]\nname = "app"\nversion = "0.1.0"\nsource = { virtual = "." }\ndependencies = [{ name = "common" }]\n\n[[package]]\nname = "common"\nversion = "1.0.0"\nsource = { editable = "libs/common" }\n'
    )
    const uv = await read('uv.lock', { cwd: work })
    expect(uv.localProjects).toEqual([
      {
        path: common,
        written: 'libs/common',
        name: 'common',
        extras: [],
        editable: true,
        origin: { file: path.join(work, 'uv.lock'), line: 11 }
      }
    ])
    expect(await pipLines(uv)).toEqual([])
    expect(uv.directNames).toEqual(['common'])

    await write(
      'poetry.lock',
      '[[package]]\nname = "common"\nversion = "1.0.0"\ndescription = ""\noptional = false\npython-versions = "*"\ngroups = ["main"]\nfiles = []\ndevelop = true\n\n[package.source]\ntype = "directory"\nurl = "libs/common"\n\n[metadata]\nlock-version = "2.1"\npython-versions = ">=3.12"\ncontent-hash = "0"\n'
    )
    const poetry = await read('poetry.lock', { cwd: work })
    expect(poetry.localProjects?.map(p => [p.name, p.path, p.editable])).toEqual([
      ['common', common, true]
    ])

    await write(
      'Pipfile.lock',
      JSON.stringify({ _meta: {}, default: { common: { path: './libs/common', editable: false } } })
    )
    const pipenv = await read('Pipfile.lock', { cwd: work })
    expect(pipenv.localProjects?.map(p => [p.name, p.path, p.editable])).toEqual([
      ['common', common, false]
    ])
    // the path is part of what the layer is built from
    await fs.mkdir(path.join(work, 'libs', 'other'), { recursive: true })
    await write(
      'Pipfile.lock',
      JSON.stringify({ _meta: {}, default: { common: { path: './libs/other', editable: false } } })
    )
    expect((await read('Pipfile.lock', { cwd: work })).identity).not.toBe(pipenv.identity)
  })
})
