import { spawn } from 'node:child_process'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { isolatedPipEnv } from './pip-env.js'

/** The Node the action declares (runs.using: node24), from the npm package `node@24`. */
export const NODE24 = path.resolve('node_modules/node/bin/node')
/** The Node before it, from the npm package `node@22` (installed as `node22`). */
export const NODE22 = path.resolve('node_modules/node22/bin/node')
export const BUNDLE = path.resolve('dist/index.js')

export interface ActionRun {
  exitCode: number
  stdout: string
  stderr: string
  outputs: Record<string, string>
  /** How many times each output was written to GITHUB_OUTPUT (the last write wins on a runner). */
  outputWrites: Record<string, number>
  summary: string
  /** `::error ...::message` and `::warning ...::message` lines the runner turns into annotations. */
  errors: string[]
  warnings: string[]
  runnerTemp: string
}

/**
 * Runs the bundled action the way the runner does: INPUT_* variables, GITHUB_OUTPUT and
 * GITHUB_STEP_SUMMARY files, RUNNER_TEMP, on Node 24. pip is isolated from this machine's
 * configuration so it sees only the test index.
 */
export async function runAction(
  inputs: Record<string, string>,
  options: { cwd: string; env?: Record<string, string | undefined>; node?: string }
): Promise<ActionRun> {
  const runnerTemp = await mkdtemp(path.join(os.tmpdir(), 'runner-temp-'))
  const outputFile = path.join(runnerTemp, 'github-output')
  const summaryFile = path.join(runnerTemp, 'step-summary.md')
  await writeFile(outputFile, '')
  await writeFile(summaryFile, '')
  const env: NodeJS.ProcessEnv = {
    ...isolatedPipEnv(),
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_WORKSPACE: options.cwd,
    RUNNER_TEMP: runnerTemp
  }
  for (const key of Object.keys(env)) {
    if (key.startsWith('INPUT_') || key.startsWith('AWS_') || key.startsWith('ACTIONS_'))
      delete env[key]
  }
  env.AWS_EC2_METADATA_DISABLED = 'true'
  for (const [name, value] of Object.entries(inputs)) {
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value
  }
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key]
    else env[key] = value
  }
  const { exitCode, stdout, stderr } = await new Promise<{
    exitCode: number
    stdout: string
    stderr: string
  }>((resolve, reject) => {
    const child = spawn(options.node ?? NODE24, [BUNDLE], {
      cwd: options.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let out = ''
    let err = ''
    child.stdout.on('data', chunk => (out += chunk))
    child.stderr.on('data', chunk => (err += chunk))
    child.on('error', reject)
    child.on('close', code => resolve({ exitCode: code ?? -1, stdout: out, stderr: err }))
  })
  const outputText = await readFile(outputFile, 'utf8')
  return {
    exitCode,
    stdout,
    stderr,
    outputs: parseOutputs(outputText),
    outputWrites: countOutputWrites(outputText),
    summary: await readFile(summaryFile, 'utf8'),
    errors: commands(stdout, 'error'),
    warnings: commands(stdout, 'warning'),
    runnerTemp
  }
}

/** `name<<DELIM\nvalue\nDELIM` blocks, as @actions/core writes them. */
export function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  const pattern = /^(.+?)<<(\S+)\n([\s\S]*?)\n\2$/gm
  for (const match of text.matchAll(pattern)) outputs[match[1]] = match[3]
  return outputs
}

function countOutputWrites(text: string): Record<string, number> {
  const writes: Record<string, number> = {}
  for (const match of text.matchAll(/^(.+?)<<(\S+)\n[\s\S]*?\n\2$/gm)) {
    writes[match[1]] = (writes[match[1]] ?? 0) + 1
  }
  return writes
}

function commands(stdout: string, level: 'error' | 'warning'): string[] {
  return stdout
    .split('\n')
    .filter(line => line.startsWith(`::${level}`))
    .map(line =>
      line
        .replace(/^::\w+[^:]*::/, '')
        .replace(/%0A/g, '\n')
        .replace(/%25/g, '%')
    )
}

/** The `file=...,line=...` properties of each annotation of a level. */
export function annotationLocations(stdout: string, level: 'error' | 'warning'): string[] {
  return stdout
    .split('\n')
    .filter(line => line.startsWith(`::${level} `))
    .map(line => /^::\w+ ([^:]*)::/.exec(line)?.[1] ?? '')
}

/** The message given to core.setFailed: the last `::error::` line. */
export function failure(run: ActionRun): string {
  return run.errors.at(-1) ?? ''
}
