// A RECORD is data whoever built the wheel wrote: the build reads where each line points by its
// text alone, and warns about a line outside the layer (the e2e hostile-record test runs it).
import { describe, expect, it } from 'vitest'
import { lexicalSitePath } from '../../src/builder/site.js'

describe('lexicalSitePath', () => {
  it.each([
    ['pkg/mod.py', 'pkg/mod.py'],
    ['pkg/./sub/../mod.py', 'pkg/mod.py'],
    ['../../bin/tool', 'bin/tool'],
    ['..\\..\\bin\\tool', 'bin/tool'],
    ['../../share/doc/x.txt', 'share/doc/x.txt'],
    ['pkg/data/', 'pkg/data']
  ])('keeps %s inside the layer as %s', (listed, expected) => {
    expect(lexicalSitePath(listed)).toBe(expected)
  })

  it.each([
    'pkg/../../../home/runner/.ssh/known_hosts',
    'bin/../../x',
    '../x',
    '../../../x',
    '../../..',
    '..',
    '../../',
    '/etc/passwd',
    '../..//etc/passwd',
    'pkg/mod.py\0.txt'
  ])('puts %s outside the layer', listed => {
    expect(lexicalSitePath(listed)).toBeUndefined()
  })
})
