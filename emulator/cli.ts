// Runs the Lambda API emulator on its own until Ctrl-C or the idle timeout:
//   npx tsx emulator/cli.ts [--port N] [--latency-ms N] [--update-duration-ms N]
//     [--idle-timeout-ms N] [--account-id ID] [--function name:runtime:arch[:region] ...]
import { parseArgs } from 'node:util'
import { ARCHITECTURES, type Architecture } from '../src/facts.js'
import { startLambdaEmulator, type NewFunction } from './lambda-api.js'

const USAGE =
  'usage: npx tsx emulator/cli.ts [--port N] [--latency-ms N] [--update-duration-ms N] ' +
  '[--idle-timeout-ms N] [--account-id ID] [--function name:runtime:arch[:region] ...]'

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'latency-ms': { type: 'string' },
      'update-duration-ms': { type: 'string' },
      'idle-timeout-ms': { type: 'string' },
      'account-id': { type: 'string' },
      function: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help) {
    console.log(USAGE)
    return
  }
  const functions = (values.function ?? []).map(parseFunction)
  return run(values, functions)
}

async function run(
  values: Record<string, string | string[] | boolean | undefined>,
  functions: NewFunction[]
): Promise<void> {
  const emulator = await startLambdaEmulator({
    port: number(values.port, '--port'),
    latencyMs: number(values['latency-ms'], '--latency-ms'),
    updateDurationMs: number(values['update-duration-ms'], '--update-duration-ms'),
    idleTimeoutMs: number(values['idle-timeout-ms'], '--idle-timeout-ms'),
    accountId: typeof values['account-id'] === 'string' ? values['account-id'] : undefined,
    onCall: call => console.log(`${call.region || '-'} ${call.operation} ${call.status}`)
  })
  for (const fn of functions) {
    const created = emulator.createFunction(fn)
    console.log(`function ${created.arn} (${created.runtime}, ${created.architecture})`)
  }
  console.log(`Lambda API emulator listening on ${emulator.endpoint}`)
  console.log(`  export AWS_ENDPOINT_URL_LAMBDA=${emulator.endpoint}`)
  console.log(`  export AWS_ENDPOINT_URL_S3=${emulator.endpoint}`)
  console.log(`  export AWS_ENDPOINT_URL_SSM=${emulator.endpoint}`)
  console.log(
    '  (any credentials will do, e.g. AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY=x)'
  )

  // The server does not hold the process open by itself (it is unref'd for tests): this does.
  const keepAlive = setInterval(() => {}, 60_000)
  const stop = () => void emulator.close()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  await emulator.closed
  clearInterval(keepAlive)
  console.log('Lambda API emulator stopped')
}

function parseFunction(spec: string): NewFunction {
  const [name, runtime, architecture = 'x86_64', region] = spec.split(':')
  if (!name || !runtime || !ARCHITECTURES.includes(architecture as Architecture)) {
    throw new Error(
      `--function "${spec}" must be name:runtime:arch[:region], arch one of ${ARCHITECTURES.join(', ')}`
    )
  }
  return { name, runtime, architecture: architecture as Architecture, region }
}

function number(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined
  const parsed = Number(value)
  if (typeof value !== 'string' || !Number.isInteger(parsed) || parsed < 0) {
    throw new Error(`${flag} must be a whole number, got "${String(value)}"`)
  }
  return parsed
}

main().catch(error => {
  console.error(error instanceof Error ? error.message : String(error))
  console.error(USAGE)
  process.exitCode = 1
})
