// The whole flow on this machine, with no AWS account and no internet: a package index and a
// Lambda API emulator on 127.0.0.1, then the bundled action (dist/index.js) on Node 24: a
// publish, a rerun that changes nothing, a plan of a change, and a release of an alias after a
// smoke test.
import {
  CreateAliasCommand,
  LambdaClient,
  PublishLayerVersionCommand,
  PublishVersionCommand
} from '@aws-sdk/client-lambda'
import { mkdtemp, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { runAction, type ActionRun } from '../__tests__/support/action.js'
import { catalog } from '../__tests__/support/catalog.js'
import { startIndex } from '../__tests__/support/index-server.js'
import { startLambdaEmulator } from '../emulator/lambda-api.js'

const region = 'us-east-1'
const credentials = {
  AWS_ACCESS_KEY_ID: 'AKIDDEMO',
  AWS_SECRET_ACCESS_KEY: 'demo',
  AWS_REGION: region
}

const index = await startIndex(catalog())
const emulator = await startLambdaEmulator()
try {
  // A function that already has another layer: the action must keep it, in place.
  const lambda = new LambdaClient({
    region,
    endpoint: emulator.endpoint,
    credentials: { accessKeyId: 'AKIDDEMO', secretAccessKey: 'demo' }
  })
  const tinyZip = catalog().find(d => d.filename.startsWith('tinyjson-1.0.0'))!.bytes
  const other = await lambda.send(
    new PublishLayerVersionCommand({ LayerName: 'shared-utils', Content: { ZipFile: tinyZip } })
  )
  emulator.createFunction({
    name: 'demo-fn',
    region,
    runtime: 'python3.11',
    architecture: 'x86_64',
    layers: [other.LayerVersionArn!]
  })

  const inputs = {
    requirements: 'examples/demo/requirements.txt',
    // this machine has CPython 3.11, so the import check runs too
    runtime: 'python3.11',
    architecture: 'x86_64',
    'index-url': index.url,
    'layer-name': 'demo-deps',
    functions: 'demo-fn',
    'keep-versions': '3',
    // the example index's fastmath carries a stand-in extension (ELF headers, no code) that
    // verification reads but no interpreter can load: the check imports everything else
    'import-check-skip': 'fastmath._core'
  }
  const env = {
    ...credentials,
    AWS_ENDPOINT_URL_LAMBDA: emulator.endpoint,
    AWS_ENDPOINT_URL_S3: emulator.endpoint
  }
  const cwd = path.resolve('.')

  show('first run: build, publish, attach', await runAction(inputs, { cwd, env }))
  show('second run, nothing changed: no new version', await runAction(inputs, { cwd, env }))
  // a pull request that drops the native extra: what publishing it would change, read-only
  const planned = path.join(await mkdtemp(path.join(os.tmpdir(), 'demo-plan-')), 'requirements.txt')
  await writeFile(planned, 'greeter==1.0.0\nawshelper\n')
  show(
    'plan on a pull request: compare with the published version, publish nothing',
    await runAction(
      { ...inputs, requirements: planned, 'allow-outside-workspace': 'true', publish: 'plan' },
      { cwd, env }
    )
  )
  console.log(`demo-fn layers now: ${emulator.getFunction('demo-fn', region)?.layers.join(', ')}`)

  // Production behind an alias: the handler imports greeter from the layer; `live` points at
  // version 1 (no layer yet) and moves only once the new version answered the smoke test.
  emulator.createFunction({
    name: 'demo-api',
    region,
    runtime: 'python3.11',
    code: {
      'app.py':
        'import greeter\n\n\ndef handler(event, context):\n    return {"body": greeter.greet(event["name"])}\n'
    }
  })
  await lambda.send(new PublishVersionCommand({ FunctionName: 'demo-api' }))
  await lambda.send(
    new CreateAliasCommand({ FunctionName: 'demo-api', Name: 'live', FunctionVersion: '1' })
  )
  const release = {
    ...inputs,
    functions: 'demo-api:live',
    'smoke-test-payload': '{"name": "demo"}'
  }
  show(
    'third run: demo-api:live, smoke-tested before the alias moves',
    await runAction(release, { cwd, env })
  )
  const api = emulator.getFunction('demo-api', region)
  console.log(`demo-api:live now points at version ${api?.aliases.get('live')?.functionVersion}`)
  console.log(
    `demo-deps versions: ${emulator
      .layerVersions('demo-deps', region)
      .map(v => v.version)
      .join(', ')}`
  )
} finally {
  await emulator.close()
  await index.close()
}

function show(title: string, run: ActionRun): void {
  console.log(`\n=== ${title} (exit ${run.exitCode}) ===\n`)
  if (run.exitCode !== 0) console.log(run.stdout, run.stderr)
  console.log('outputs:')
  for (const [name, value] of Object.entries(run.outputs)) console.log(`  ${name}: ${value}`)
  console.log('\njob summary:\n')
  console.log(run.summary)
  if (run.exitCode !== 0) process.exitCode = 1
}
