import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

const root = new URL('../', import.meta.url)
const readJson = (path: string) => JSON.parse(readFileSync(new URL(path, root), 'utf8'))

// The Node major the action runs its bundle on: action.yml `runs.using: node24` → 24
function actionNodeMajor(): number {
  const action = parse(readFileSync(new URL('action.yml', root), 'utf8'))
  const using = String(action?.runs?.using)
  const match = /^node(\d+)$/.exec(using)
  if (!match) throw new Error(`action.yml runs.using is not a Node runtime: ${using}`)
  return Number(match[1])
}

describe('the Node version the package declares', () => {
  it('has engines.node naming the Node major action.yml runs the bundle on', () => {
    const range = String(readJson('package.json').engines?.node)
    // a lower bound only (">=24", ">=24.0.0"): the bundle runs on that major and later ones
    const match = /^>=\s*(\d+)(?:\.\d+){0,2}$/.exec(range)
    expect(match, `engines.node is not a ">=MAJOR" range: ${range}`).not.toBeNull()
    expect(Number(match![1])).toBe(actionNodeMajor())
  })

  it('tests the bundle on that major: the node devDependency in node_modules/node', () => {
    const version = String(readJson('node_modules/node/package.json').version)
    expect(Number(version.split('.')[0])).toBe(actionNodeMajor())
  })
})
