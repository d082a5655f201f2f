// The action's deploy step (src/aws/deploy.ts: publish, then move a function onto the new version,
// in every region at once) against the Lambda emulator, in a process of its own so its log
// stays out of the benchmark's output. Prints one JSON line with the seconds it took.
//
//   tsx bench/deploy-stage.ts ENDPOINT ZIP_PATH LAYER_NAME FUNCTION REGION[,REGION...]

import { performance } from 'node:perf_hooks'
import { awsClients } from '../src/aws/clients.js'
import { deployLayer } from '../src/aws/deploy.js'
import { findRuntime } from '../src/facts.js'
import { layerZipAt } from '../__tests__/support/layer-zip.js'

export interface DeployStageResult {
  regions: string[]
  seconds: number
  failures: string[]
}

async function main(): Promise<void> {
  const [endpoint, zipPath, layerName, fn, regionList] = process.argv.slice(2)
  if (!endpoint || !zipPath || !layerName || !fn || !regionList) {
    throw new Error(
      'usage: tsx bench/deploy-stage.ts ENDPOINT ZIP_PATH LAYER_NAME FUNCTION REGION[,REGION...]'
    )
  }
  const regions = regionList.split(',')
  const clients = awsClients({
    endpoint,
    credentials: { accessKeyId: 'AKIDBENCHMARK', secretAccessKey: 'benchmark' }
  })
  // the build hashes its zip as it writes it; the deploy starts from those facts
  const zip = layerZipAt(zipPath)
  const start = performance.now()
  const result = await deployLayer(
    {
      layerName,
      zip,
      target: { runtime: findRuntime('python3.11')!, architecture: 'x86_64' },
      compatibleRuntimes: ['python3.11'],
      compatibleArchitectures: ['x86_64'],
      skipUnchanged: true,
      regions,
      functions: [fn],
      shareWith: []
    },
    { clients }
  )
  const seconds = (performance.now() - start) / 1000
  const out: DeployStageResult = { regions, seconds, failures: result.failures }
  // The deploy logs through @actions/core on stdout; the result is the last line.
  console.log(JSON.stringify(out))
}

await main()
