// The import check alone on one installed tree: how long importing every top-level module and
// every extension module takes, per round. Prints one JSON line. With MODULE, times another
// build of the check (an older src/builder/import-check.ts copied beside it) for comparison.
//
//   tsx bench/import-check-stage.ts SITE_DIR [ROUNDS] [MODULE]

import { performance } from 'node:perf_hooks'
import path from 'node:path'
import { findInterpreter } from '../src/builder/interpreter.js'
import { readLayerPackages } from '../src/builder/site.js'
import { findRuntime } from '../src/facts.js'

async function main(): Promise<void> {
  const [siteDir, rounds = '3', modulePath = '../src/builder/import-check.js'] =
    process.argv.slice(2)
  if (!siteDir) throw new Error('usage: tsx bench/import-check-stage.ts SITE_DIR [ROUNDS] [MODULE]')
  const { checkImports } = (await import(
    modulePath.startsWith('.') ? modulePath : path.resolve(modulePath)
  )) as typeof import('../src/builder/import-check.js')
  const target = { runtime: findRuntime('python3.11')!, architecture: 'x86_64' as const }
  const { interpreter, reason } = await findInterpreter(target, '')
  if (!interpreter) throw new Error(`no interpreter: ${reason}`)
  const packages = await readLayerPackages(siteDir, [], () => undefined)
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
}

await main()
