import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { InstalledDistribution } from '../../src/builder/pip.js'
import { prune } from '../../src/builder/prune.js'
import { normalizeRecords, readLayerPackages, siteRelativePath } from '../../src/builder/site.js'
import { stripSharedObjects } from '../../src/builder/strip.js'
import {
  debugSharedObject,
  harmedCanaries,
  plantCanaries,
  type Canaries
} from '../support/canaries.js'
import { isolatedPipEnv } from '../support/pip-env.js'
import { buildWheel } from '../support/wheels.js'

let scratch: string
beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'site-test-'))
})
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }))

let counter = 0
function freshDir(label: string): string {
  const dir = path.join(scratch, `${label}-${++counter}`)
  fs.mkdirSync(dir, { recursive: true })
  return dir
}

const HOSTILE: InstalledDistribution = {
  name: 'hostile',
  version: '1.0.0',
  requested: true,
  requiresDist: [],
  url: ''
}

/**
 * Real pip installs a wheel whose RECORD names the canaries outside the site folder, the ways
 * a RECORD can: climbing out with `..` after a package folder, after pip's own `../../`, after
 * `bin/`, an absolute path, and through a symlink inside the site folder that leads out.
 */
function installHostileWheel(): { site: string; canaries: Canaries; hostileLines: string[] } {
  const root = freshDir('hostile')
  const site = path.join(root, 'site')
  const canaries = plantCanaries(path.join(root, 'outside'))
  const { knownHosts, source, sharedObject } = canaries.files
  const fromSite = (file: string) => path.relative(site, file)
  const hostileLines = [
    `hostile/../${fromSite(source)}`,
    `hostile/../${fromSite(sharedObject)}`,
    `../../${fromSite(sharedObject)}`,
    `bin/../${fromSite(knownHosts)}`,
    knownHosts,
    'hostile/link/known_hosts',
    'hostile/link/build/canary.c',
    'hostile/link/build/canary.so'
  ]
  const native = fs.readFileSync(debugSharedObject(freshDir('native'), 'native'))
  const wheel = buildWheel({
    name: 'hostile',
    version: '1.0.0',
    tag: 'py3-none-manylinux_2_17_x86_64',
    files: {
      'hostile/__init__.py': 'ANSWER = 42\n',
      'hostile/_native.so': native,
      'hostile/_native.c': 'int answer(void) { return 42; }\n',
      'hostile-1.0.0.data/scripts/hostile-tool': '#!python\nprint(42)\n'
    },
    // a size that differs from the file's makes the RECORD rewrite read and hash it
    extraRecordLines: hostileLines.map(line => `${line},sha256=AAAA,1`)
  })
  const wheelPath = path.join(root, wheel.filename)
  fs.writeFileSync(wheelPath, wheel.bytes)
  execFileSync(
    'python3',
    [
      '-m',
      'pip',
      'install',
      '--no-index',
      '--no-deps',
      '--no-compile',
      '--target',
      site,
      wheelPath
    ],
    { env: isolatedPipEnv(), stdio: 'pipe' }
  )
  fs.symlinkSync(canaries.dir, path.join(site, 'hostile/link'))
  return { site, canaries, hostileLines }
}

function warningsFor(lines: string[]): string[] {
  return lines.map(line => `hostile 1.0.0: RECORD names ${line}, outside the layer; ignored`)
}

describe('a RECORD naming files outside the layer folder', () => {
  it('is read as data: the files stay untouched, each line is reported, and the published RECORD leaves it out', async () => {
    const { site, canaries, hostileLines } = installHostileWheel()
    const warnings: string[] = []

    const packages = await readLayerPackages(site, [HOSTILE], message => warnings.push(message))
    expect(warnings.sort()).toEqual(warningsFor(hostileLines).sort())
    // pip's --target scripts (`../../bin/…`) still count as the package's
    expect(packages[0].files).toContain('bin/hostile-tool')
    expect(packages[0].files.every(file => !file.startsWith('..') && !file.includes('link'))).toBe(
      true
    )
    const inside = packages[0].files.map(file => fs.lstatSync(path.join(site, file)).size)
    expect(packages[0].bytes).toBe(inside.reduce((sum, size) => sum + size, 0))

    const pruned = await prune(site, packages, [HOSTILE], { exclude: [], slim: true })
    expect(fs.existsSync(path.join(site, 'hostile/_native.c'))).toBe(false)
    const stripped = await stripSharedObjects(site, pruned.packages, 'x86_64')
    expect(stripped.warning).toBeUndefined()
    expect(stripped.stripped).toBe(1)
    await normalizeRecords(site)

    expect(harmedCanaries(canaries)).toEqual([])
    const record = fs.readFileSync(path.join(site, 'hostile-1.0.0.dist-info/RECORD'), 'utf8')
    for (const line of hostileLines) expect(record).not.toContain(line)
    expect(record).toMatch(/^hostile\/_native\.so,sha256=/m)
  })

  it('leaves them in place when the package is excluded', async () => {
    const { site, canaries } = installHostileWheel()
    const packages = await readLayerPackages(site, [HOSTILE], () => {})

    const pruned = await prune(site, packages, [HOSTILE], { exclude: ['hostile'], slim: true })

    expect(pruned.excluded.map(e => e.name)).toEqual(['hostile'])
    expect(fs.existsSync(path.join(site, 'hostile/__init__.py'))).toBe(false)
    expect(harmedCanaries(canaries)).toEqual([])
  })

  it('never removes or strips a file outside, even when handed its path directly', async () => {
    const { site, canaries } = installHostileWheel()
    const { source, sharedObject } = canaries.files
    const handMade = {
      ...HOSTILE,
      files: [
        'hostile/link/build/canary.c',
        'hostile/link/build/canary.so',
        path.relative(site, source),
        path.relative(site, sharedObject)
      ],
      bytes: 0
    }

    await stripSharedObjects(site, [handMade], 'x86_64')
    await prune(site, [handMade], [HOSTILE], { exclude: ['hostile'], slim: true })

    expect(harmedCanaries(canaries)).toEqual([])
  })

  it('does not rewrite console scripts through a bin folder that links out of the layer', async () => {
    const site = freshDir('site')
    const outside = freshDir('outside-bin')
    const script = path.join(outside, 'tool')
    fs.writeFileSync(script, '#!/opt/hostedtoolcache/Python/3.12.1/x64/bin/python3\nprint(1)\n')
    fs.symlinkSync(outside, path.join(site, 'bin'))

    await normalizeRecords(site)

    expect(fs.readFileSync(script, 'utf8')).toMatch(/^#!\/opt\/hostedtoolcache/)
  })
})

describe('siteRelativePath', () => {
  let site: string
  beforeAll(() => {
    const root = freshDir('paths')
    site = path.join(root, 'python')
    fs.mkdirSync(path.join(site, 'pkg'), { recursive: true })
    fs.mkdirSync(path.join(site, 'other'))
    fs.writeFileSync(path.join(site, 'other/mod.py'), '')
    fs.mkdirSync(path.join(root, 'outside'))
    fs.writeFileSync(path.join(root, 'outside/secret'), '')
    fs.symlinkSync(path.join(root, 'outside'), path.join(site, 'pkg/out'))
    fs.symlinkSync(path.join(root, 'outside/secret'), path.join(site, 'pkg/secret'))
    fs.symlinkSync(path.join(site, 'other'), path.join(site, 'pkg/in'))
    fs.symlinkSync(path.join(root, 'outside/missing'), path.join(site, 'pkg/dangling'))
  })

  it.each([
    ['pkg/mod.py', 'pkg/mod.py'],
    ['pkg/./sub/../mod.py', 'pkg/mod.py'],
    ['../../bin/tool', 'bin/tool'],
    ['..\\..\\bin\\tool', 'bin/tool'],
    ['../../share/doc/x.txt', 'share/doc/x.txt'],
    ['pkg/in/mod.py', 'pkg/in/mod.py'],
    ['pkg/not-installed.py', 'pkg/not-installed.py']
  ])('keeps %s inside the layer as %s', (listed, expected) => {
    expect(siteRelativePath(site, listed)).toBe(expected)
  })

  it.each([
    'pkg/../../../home/runner/.ssh/known_hosts',
    'bin/../../x',
    '../x',
    '../../../x',
    '../../..',
    '..',
    '/etc/passwd',
    'pkg/out/secret',
    'pkg/out/not-there',
    'pkg/secret',
    'pkg/dangling'
  ])('puts %s outside the layer', listed => {
    expect(siteRelativePath(site, listed)).toBeUndefined()
  })

  it('judges by real locations when the site folder itself is reached through a symlink', () => {
    const alias = path.join(freshDir('alias'), 'python')
    fs.symlinkSync(site, alias)
    expect(siteRelativePath(alias, 'other/mod.py')).toBe('other/mod.py')
    expect(siteRelativePath(alias, 'pkg/out/secret')).toBeUndefined()
  })
})
