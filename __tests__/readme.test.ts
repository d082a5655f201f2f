import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { INPUT_DEFAULTS } from '../src/inputs.js'
import { cell, readAction, renderReadme } from '../scripts/readme-tables.js'

describe('the README and action.yml', () => {
  it('has inputs and outputs tables that match action.yml (npm run readme rewrites them)', async () => {
    const readme = readFileSync('README.md', 'utf8')
    expect(readme).toBe(await renderReadme(readme, readAction()))
  })

  it('applies the same defaults in code as action.yml declares', () => {
    const action = readAction()
    const declared = Object.fromEntries(
      Object.entries(action.inputs).map(([name, input]) => [name, input.default ?? ''])
    )
    expect(INPUT_DEFAULTS).toEqual(declared)
  })

  it('shows a description as written: Markdown in prose is escaped, code spans are left alone', () => {
    expect(
      cell('Drop __pycache__ and *.pyc, keep `__init__.py`, x86_64, AWS_REGION, <b>, [a](b), a|b')
    ).toBe(
      'Drop \\_\\_pycache\\_\\_ and \\*.pyc, keep `__init__.py`, x86_64, AWS_REGION, \\<b\\>, \\[a\\](b), a\\|b'
    )
    expect(cell('`a|b` and\na `*` line')).toBe('`a\\|b` and a `*` line')
  })

  it('renders no bold, italics or HTML in the inputs and outputs tables', () => {
    const readme = readFileSync('README.md', 'utf8')
    const cells = ['inputs', 'outputs'].flatMap(name =>
      generatedSection(readme, name)
        .split('\n')
        .filter(line => line.startsWith('|'))
    )
    expect(cells.length).toBeGreaterThan(40)
    const prose = cells.map(line => line.replace(/`[^`]*`/g, '').replace(/\\./g, ''))
    // what is left of a cell is plain text only if it holds no emphasis or HTML delimiter
    const markup = prose.filter(line => /[*<]|(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/u.test(line))
    expect(markup).toEqual([])
  })
})

function generatedSection(readme: string, name: string): string {
  return readme.slice(
    readme.indexOf(`<!-- ${name}:start -->`),
    readme.indexOf(`<!-- ${name}:end -->`)
  )
}
