// The folders are the architecture: the build half never reaches for AWS or the report, only
// main.ts opens the AWS half, and only lazily, so a build-only run never loads the AWS SDK.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const SRC = path.resolve('src')

interface Import {
  from: string
  to: string
  /** `import type` / `export type`: erased from the bundle, loads nothing. */
  typeOnly: boolean
  /** `await import(...)`. */
  lazy: boolean
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(entry =>
    entry.isDirectory()
      ? sourceFiles(path.join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [path.join(dir, entry.name)]
        : []
  )
}

const rel = (file: string) => path.relative(SRC, file).split(path.sep).join('/')

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8')
  const found: Import[] = []
  const resolve = (spec: string) =>
    rel(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')))
  const statics = /^(import|export)(\s+type)?\s[^'"]*?from\s+'(\.[^']+)'/gm
  for (const match of text.matchAll(statics)) {
    found.push({ from: rel(file), to: resolve(match[3]), typeOnly: Boolean(match[2]), lazy: false })
  }
  for (const match of text.matchAll(/\bimport\('(\.[^']+)'\)/g)) {
    found.push({ from: rel(file), to: resolve(match[1]), typeOnly: false, lazy: true })
  }
  return found
}

const files = sourceFiles(SRC)
const imports = files.flatMap(importsOf)
const inWing = (file: string, wing: string) => file.startsWith(`${wing}/`)

describe('the layout of src/', () => {
  it('reads every import it checks (the rules below are not vacuous)', () => {
    expect(imports.length).toBeGreaterThan(100)
    expect(imports.some(i => i.from === 'main.ts' && i.to === 'aws/index.ts' && i.lazy)).toBe(true)
    for (const i of imports) expect(files.map(rel), `${i.from} → ${i.to}`).toContain(i.to)
  })

  it('keeps the build half free of the AWS half and of the report', () => {
    const crossing = imports.filter(
      i => inWing(i.from, 'builder') && (inWing(i.to, 'aws') || inWing(i.to, 'report'))
    )
    expect(crossing.map(i => `${i.from} → ${i.to}`)).toEqual([])
  })

  it('opens the AWS half only from main.ts, lazily, through its one door', () => {
    const loaded = imports.filter(i => inWing(i.to, 'aws') && !inWing(i.from, 'aws') && !i.typeOnly)
    expect(loaded.map(i => `${i.from} → ${i.to}${i.lazy ? ' (lazy)' : ''}`)).toEqual([
      'main.ts → aws/index.ts (lazy)'
    ])
  })

  it('loads no AWS SDK outside the AWS half', () => {
    const sdk = files.filter(
      file =>
        !inWing(rel(file), 'aws') &&
        /^import\s(?!type)[^'"]*from\s+'@aws-sdk\//m.test(readFileSync(file, 'utf8'))
    )
    expect(sdk.map(rel)).toEqual([])
  })

  it('has no import cycles', () => {
    const graph = new Map<string, string[]>()
    for (const i of imports.filter(i => !i.typeOnly)) {
      graph.set(i.from, [...(graph.get(i.from) ?? []), i.to])
    }
    const cycles: string[] = []
    const state = new Map<string, 'open' | 'done'>()
    const visit = (node: string, trail: string[]) => {
      if (state.get(node) === 'done') return
      if (state.get(node) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(node)), node].join(' → '))
        return
      }
      state.set(node, 'open')
      for (const next of graph.get(node) ?? []) visit(next, [...trail, node])
      state.set(node, 'done')
    }
    for (const file of files) visit(rel(file), [])
    expect(cycles).toEqual([])
  })

  it('sets every output of the action from report/outputs.ts alone', () => {
    const setters = files.filter(file => /core\.setOutput\(/.test(readFileSync(file, 'utf8')))
    expect(setters.map(rel)).toEqual(['report/outputs.ts'])
  })
})
