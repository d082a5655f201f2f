// Serves the test world's packages (__tests__/support/catalog.ts) as a PEP 503 index on
// 127.0.0.1, for the e2e workflow and for local runs of the action:
//   npx tsx scripts/test-index.ts [--port N] [--idle-timeout-ms N]
// It prints its URL once listening and stops on Ctrl-C, SIGTERM, or after idling.
import { parseArgs } from 'node:util'
import { catalog } from '../__tests__/support/catalog.js'
import { startIndex } from '../__tests__/support/index-server.js'

const USAGE = 'usage: npx tsx scripts/test-index.ts [--port N] [--idle-timeout-ms N]'

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'idle-timeout-ms': { type: 'string' },
    help: { type: 'boolean', short: 'h' }
  }
})
if (values.help) {
  console.log(USAGE)
} else {
  const index = await startIndex(catalog(), {
    port: wholeNumber(values.port, '--port') ?? 0,
    idleTimeoutMs: wholeNumber(values['idle-timeout-ms'], '--idle-timeout-ms') ?? 15 * 60 * 1000
  })
  // the index itself never holds the process open (tests rely on that); a CLI must
  const keepAlive = setInterval(() => {}, 60_000)
  process.once('SIGINT', () => void index.close())
  process.once('SIGTERM', () => void index.close())
  console.log(`Package index listening on ${index.url}`)
  console.log(`  give it to the action as index-url (INPUT_INDEX-URL=${index.url})`)
  await index.closed
  clearInterval(keepAlive)
  console.log('Package index stopped')
}

function wholeNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value)) {
    console.error(`${flag}: "${value}" is not a whole number\n${USAGE}`)
    process.exit(2)
  }
  return Number(value)
}
