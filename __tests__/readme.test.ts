import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { INPUT_DEFAULTS } from '../src/inputs.js'
import { readAction, renderReadme } from '../scripts/readme-tables.js'

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
})
