// The import check alone on a layer zip the action built (the bench keeps the last round's as
// bench/out/action.zip): how long importing every top-level module and every extension module
// takes, per round. Prints one JSON line. With MODULE, times another build of the check (an
// older src/builder/import-check.ts copied beside it) for comparison.
//
//   tsx bench/import-check-stage.ts LAYER_ZIP [ROUNDS] [MODULE]

import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import path from 'node:path'
import { promisify } from 'node:util'
import { findInterpreter } from '../src/builder/interpreter.js'
import { checkPrebuiltZip } from '../src/builder/prebuilt.js'
import { findRuntime } from '../src/facts.js'

async function main(): Promise<void> {
  const [layerZip, rounds = '3', modulePath = '../src/builder/import-check.js'] =
    process.argv.slice(2)
  if (!layerZip) {
    throw new Error('usage: tsx bench/import-check-stage.ts LAYER_ZIP [ROUNDS] [MODULE]')
  }
  const { checkImports } = (await import(
    modulePath.startsWith('.') ? modulePath : path.resolve(modulePath)
  )) as typeof import('../src/builder/import-check.js')
  const target = { runtime: findRuntime('python3.11')!, architecture: 'x86_64' as const }
  const { interpreter, reason } = await findInterpreter(target, '')
  if (!interpreter) throw new Error(`no interpreter: ${reason}`)
  // the packages as the action reads a layer zip's METADATA and RECORD; the tree as it extracts it
  const { packages } = await checkPrebuiltZip(layerZip, target, 'off')
  const root = await mkdtemp(path.join(os.tmpdir(), 'import-check-stage-'))
  try {
    await promisify(execFile)('unzip', ['-q', layerZip, '-d', root])
    const siteDir = path.join(root, 'python')
    const seconds: number[] = []
    let result: Awaited<ReturnType<typeof checkImports>> | undefined
    for (let i = 0; i < Number(rounds); i++) {
      const start = performance.now()
      result = await checkImports({ interpreter, siteDir, packages, skip: [] })
      seconds.push((performance.now() - start) / 1000)
    }
    console.log(
      JSON.stringify({
        packages: packages.length,
        modules: result?.checked.length,
        failures: result?.failures,
        throughDependents: result?.throughDependents,
        seconds
      })
    )
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

await main()
