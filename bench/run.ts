// `npm run bench`: the action against the hand-written script it replaces, on the same
// requirements and the same local index, side by side and alternating, several rounds; then
// the zip stage alone (our writer, Info-ZIP, adm-zip) on one installed tree; then publishing
// to one region against three through the Lambda emulator. Writes bench/out/results.md and
// bench/out/results.json. See bench/README.md.
//
//   tsx bench/run.ts [--rounds N] [--only build,zip,deploy] [--import-check auto|false]
//   tsx bench/run.ts --only big-object [--big-object deflated|stored] [--strip true|false]
//     [--verify warn|off]

import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream, existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseArgs, promisify } from 'node:util'
import { parse as parseYaml } from 'yaml'
import { startIndex, type PackageIndex } from '../__tests__/support/index-server.js'
import { isolatedPipEnv } from '../__tests__/support/pip-env.js'
import { parseOutputs } from '../__tests__/support/action.js'
import { fileInMemory } from '../__tests__/support/layer-files.js'
import { startLambdaEmulator } from '../emulator/lambda-api.js'
import { writeAssembledZip } from '../src/builder/assemble.js'
import {
  BENCH_DIR,
  CORPUS_PYTHON,
  OUT_DIR,
  buildCorpus,
  corpusDistributions,
  type CorpusManifest
} from './corpus.js'
import { GNU_TIME, measure, type Measurement, type SampledProcess } from './measure.js'
import { mbOf, median, mibOf, ratio, spread, table, verdict } from './stats.js'
import type { DeployStageResult } from './deploy-stage.js'
import type { ZipStageResult } from './zip-stage.js'
import {
  BIG_OBJECT_REQUIREMENTS,
  bigObjectDistributions,
  type BigObjectEntry
} from './big-object.js'

const run = promisify(execFile)

const ROOT = path.dirname(BENCH_DIR)
const NODE24 = path.join(ROOT, 'node_modules/node/bin/node')
const TSX = path.join(ROOT, 'node_modules/.bin/tsx')
const BUNDLE = path.join(ROOT, 'dist/index.js')
const WORK = path.join(OUT_DIR, 'work')
const SITE_PACKAGES = `python/lib/python${CORPUS_PYTHON}/site-packages`

const TARGETS = {
  buildWall: 0.2,
  zipWall: 0.5,
  actionRssMiB: 200,
  zipSize: 0.65,
  regions: 1.5
}

type Part = 'build' | 'zip' | 'deploy' | 'big-object'

interface BuildRun {
  side: 'script' | 'action'
  round: number
  load: number
  m: Measurement
  zipSize: number
  files: number
  unzippedSize: number
  warnings: number
  /** Seconds per phase, from the arrival times of the run's log lines. */
  phases: Phases
  /** CPU seconds per kind of process (sampled from /proc). */
  cpuByProcess: Phases
  error?: string
}

interface ZipRun {
  writer: 'ours' | 'info-zip' | 'adm-zip'
  round: number
  load: number
  m: Measurement
  /** Seconds inside the writer (our writer and adm-zip report it; Info-ZIP's is its wall time). */
  writerS: number
  zipSize: number
  files: number
  sha256: string
}

interface DeployRun {
  regions: number
  round: number
  seconds: number
  failures: string[]
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      only: { type: 'string', default: 'build,zip,deploy' },
      // the action's import-check input: auto (the default, as users run it) or false
      'import-check': { type: 'string', default: 'auto' },
      // --only big-object: how the wheel holds the object, and the action's strip input
      'big-object': { type: 'string', default: 'deflated' },
      strip: { type: 'string', default: 'false' },
      verify: { type: 'string', default: 'warn' }
    }
  })
  const importCheck = values['import-check']
  if (!['auto', 'false'].includes(importCheck)) throw new Error('--import-check: auto or false')
  const rounds = Number(values.rounds)
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error('--rounds must be a whole number ≥ 1')
  const parts = new Set(values.only.split(',').map(p => p.trim()) as Part[])
  for (const part of parts) {
    if (!['build', 'zip', 'deploy', 'big-object'].includes(part))
      throw new Error(`--only: unknown part ${part}`)
  }
  if (parts.has('big-object')) {
    const entry = values['big-object'] as BigObjectEntry
    if (!['deflated', 'stored'].includes(entry)) throw new Error('--big-object: deflated or stored')
    return bigObjectRuns(rounds, entry, importCheck, values.strip, values.verify)
  }
  await checkPrerequisites(parts)

  const startedAt = new Date()
  const loadBefore = os.loadavg()
  const corpus = await buildCorpus({ log: line => console.log(line) })
  const index = await startIndex(await corpusDistributions(corpus), {
    idleTimeoutMs: 60 * 60 * 1000
  })
  await fs.rm(WORK, { recursive: true, force: true })
  await fs.mkdir(WORK, { recursive: true })
  const requirements = corpus.requirements.join('\n') + '\n'

  const builds: BuildRun[] = []
  const zips: ZipRun[] = []
  const deploys: DeployRun[] = []
  try {
    if (parts.has('build')) {
      for (let round = 1; round <= rounds; round++) {
        builds.push(await runScript(round, index, requirements, round === rounds))
        log(builds.at(-1)!)
        builds.push(await runAction(round, index, requirements, round === rounds, importCheck))
        log(builds.at(-1)!)
      }
    }
    if (parts.has('zip')) zips.push(...(await zipStage(rounds, index, requirements)))
    if (parts.has('deploy')) deploys.push(...(await deployStage(rounds)))
  } finally {
    await index.close()
  }

  const environment = await describeEnvironment(corpus, rounds, startedAt, loadBefore)
  const markdown = report(environment, builds, zips, deploys)
  await fs.writeFile(path.join(OUT_DIR, 'results.md'), markdown)
  await fs.writeFile(
    path.join(OUT_DIR, 'results.json'),
    JSON.stringify({ environment, targets: TARGETS, builds, zips, deploys }, stripOutput, 2) + '\n'
  )
  console.log('\n' + markdown)
  console.log(`written: ${path.relative(ROOT, path.join(OUT_DIR, 'results.md'))} and results.json`)
}

/**
 * The script and the action, alternating, on a layer of one 200 MB shared object: peak RSS of
 * both and their ratio (the target: the action's node process at most 200 MiB).
 */
async function bigObjectRuns(
  rounds: number,
  entry: BigObjectEntry,
  importCheck: string,
  strip: string,
  verify: string
): Promise<void> {
  await checkPrerequisites(new Set(['build']))
  const index = await startIndex(bigObjectDistributions(entry), { idleTimeoutMs: 60 * 60 * 1000 })
  await fs.rm(WORK, { recursive: true, force: true })
  const runs: BuildRun[] = []
  try {
    for (let round = 1; round <= rounds; round++) {
      runs.push(await runScript(round, index, BIG_OBJECT_REQUIREMENTS, false, 1))
      log(runs.at(-1)!)
      runs.push(
        await runAction(round, index, BIG_OBJECT_REQUIREMENTS, false, importCheck, {
          INPUT_STRIP: strip,
          INPUT_VERIFY: verify,
          // the stand-in object has ELF headers and no code: importing it cannot work
          'INPUT_IMPORT-CHECK-SKIP': 'bigobject'
        })
      )
      log(runs.at(-1)!)
    }
  } finally {
    await index.close()
  }
  for (const failed of runs.filter(r => r.error)) console.log(`${failed.side}: ${failed.error}`)
  const rss = (side: BuildRun['side'], pick: (m: Measurement) => number) =>
    median(runs.filter(r => r.side === side && !r.error).map(r => mibOf(pick(r.m))))
  const script = rss('script', m => m.maxProcessRss)
  const action = rss('action', m => m.rootRss)
  console.log(
    '\n' +
      table(
        [
          'one 200 MB shared object, ' +
            `${entry} in its wheel, strip ${strip}, import check ${importCheck}, verify ${verify}`,
          'MiB'
        ],
        [
          ['script, largest single process (median)', script.toFixed(0)],
          ['action, its node process (median)', action.toFixed(0)],
          [
            'action, largest single process (median)',
            rss('action', m => m.maxProcessRss).toFixed(0)
          ],
          ['ratio action/script', ratio(action, script)],
          [`target ≤ ${TARGETS.actionRssMiB} MiB`, verdict(action <= TARGETS.actionRssMiB)]
        ]
      )
  )
}

async function checkPrerequisites(parts: Set<Part>): Promise<void> {
  const need: Array<[string, string]> = [[GNU_TIME, 'apt-get install time']]
  if (parts.has('build') || parts.has('zip')) {
    need.push(['/usr/bin/zip', 'apt-get install zip'], ['/usr/bin/unzip', 'apt-get install unzip'])
  }
  if (parts.has('build')) need.push([BUNDLE, 'npm run build'], [NODE24, 'npm ci'])
  for (const [file, fix] of need) {
    if (!existsSync(file)) throw new Error(`the benchmark needs ${file}: ${fix}`)
  }
  try {
    await run(`python${CORPUS_PYTHON}`, ['-m', 'pip', '--version'])
  } catch {
    throw new Error(
      `the benchmark needs python${CORPUS_PYTHON} with pip (the corpus is Debian bookworm's cp311 builds)`
    )
  }
}

/**
 * Both sides get the same pip: no config file, no PIP_* from this machine, no cache (every run
 * downloads from the local index and unpacks from scratch), no version check.
 */
function benchEnv(): NodeJS.ProcessEnv {
  const env = isolatedPipEnv(process.env)
  for (const key of Object.keys(env)) {
    if (/^(INPUT_|GITHUB_|RUNNER_|ACTIONS_|AWS_)/.test(key)) delete env[key]
  }
  env.PIP_NO_CACHE_DIR = '1'
  return env
}

function log(run: BuildRun): void {
  const m = run.m
  console.log(
    `round ${run.round} ${run.side.padEnd(6)}: ${m.wallS.toFixed(1)} s wall, ${m.cpuS.toFixed(1)} s CPU, ` +
      `${mibOf(m.maxProcessRss).toFixed(0)} MiB largest process, zip ${mbOf(run.zipSize).toFixed(1)} MB, ` +
      `${run.files} files` +
      (run.error ? ` — FAILED: ${run.error}` : '')
  )
}

// ---------------------------------------------------------------------------------------------
// (a) the hand-written script, (b) the action

async function runScript(
  round: number,
  index: PackageIndex,
  requirements: string,
  keep: boolean,
  minFiles = 1000
): Promise<BuildRun> {
  const dir = path.join(WORK, `round-${round}`, 'script')
  await fs.mkdir(path.join(dir, 'layers'), { recursive: true })
  await fs.writeFile(path.join(dir, 'requirements.txt'), requirements)
  await settle()
  const load = os.loadavg()[0]
  const m = await measure('bash', [path.join(BENCH_DIR, 'hand-written.sh')], {
    cwd: dir,
    env: { ...benchEnv(), BENCH_PY: CORPUS_PYTHON, BENCH_INDEX_URL: index.url }
  })
  const zipPath = path.join(dir, 'layers/custom-dependencies.zip')
  const result: BuildRun = {
    side: 'script',
    round,
    load,
    m,
    zipSize: 0,
    files: 0,
    unzippedSize: 0,
    warnings: 0,
    phases: scriptPhases(m),
    cpuByProcess: cpuByKind(m.processes)
  }
  // The script has no `set -e`: a failed pip still "succeeds", so judge it by what it zipped.
  if (existsSync(zipPath)) {
    const listing = await zipListing(zipPath)
    Object.assign(result, { zipSize: (await fs.stat(zipPath)).size, ...listing })
  }
  if (m.exitCode !== 0 || /^ERROR:/m.test(m.stderr) || result.files < minFiles) {
    result.error = `exit ${m.exitCode}: ${lastLines(m.stderr)}`
  }
  await finishRun(dir, keep ? zipPath : undefined, 'script.zip')
  return result
}

async function runAction(
  round: number,
  index: PackageIndex,
  requirements: string,
  keep: boolean,
  importCheck: string,
  inputs: NodeJS.ProcessEnv = {}
): Promise<BuildRun> {
  const dir = path.join(WORK, `round-${round}`, 'action')
  const runnerTemp = path.join(dir, 'runner-temp')
  await fs.mkdir(runnerTemp, { recursive: true })
  await fs.writeFile(path.join(dir, 'requirements.txt'), requirements)
  const outputFile = path.join(runnerTemp, 'github-output')
  const summaryFile = path.join(runnerTemp, 'step-summary.md')
  await fs.writeFile(outputFile, '')
  await fs.writeFile(summaryFile, '')
  const env: NodeJS.ProcessEnv = {
    ...benchEnv(),
    ...(await actionDefaults()),
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_WORKSPACE: dir,
    RUNNER_TEMP: runnerTemp,
    AWS_EC2_METADATA_DISABLED: 'true',
    INPUT_REQUIREMENTS: 'requirements.txt',
    INPUT_RUNTIME: `python${CORPUS_PYTHON}`,
    INPUT_ARCHITECTURE: 'x86_64',
    'INPUT_INDEX-URL': index.url,
    INPUT_PUBLISH: 'false',
    'INPUT_IMPORT-CHECK': importCheck,
    // Debian's builds need glibc 2.35, above python3.11's Amazon Linux 2 (2.26): report, don't fail.
    INPUT_VERIFY: 'warn',
    ...inputs
  }
  await settle()
  const load = os.loadavg()[0]
  const m = await measure(NODE24, [BUNDLE], { cwd: dir, env })
  const outputs = parseOutputs(await fs.readFile(outputFile, 'utf8'))
  const zipPath = outputs['zip-path']
  const result: BuildRun = {
    side: 'action',
    round,
    load,
    m,
    zipSize: 0,
    files: 0,
    unzippedSize: 0,
    warnings: m.stdout.split('\n').filter(line => line.startsWith('::warning')).length,
    phases: actionPhases(m),
    cpuByProcess: cpuByKind(m.processes)
  }
  if (zipPath && existsSync(zipPath)) {
    const listing = await zipListing(zipPath)
    Object.assign(result, { zipSize: (await fs.stat(zipPath)).size, ...listing })
    if (Number(outputs['zip-size']) !== result.zipSize) {
      result.error = `zip-size output ${outputs['zip-size']} is not the zip's ${result.zipSize} bytes`
    }
  }
  if (m.exitCode !== 0 || !zipPath) {
    const errors = m.stdout.split('\n').filter(line => line.startsWith('::error'))
    result.error = `exit ${m.exitCode}: ${errors.join(' ').slice(0, 600) || lastLines(m.stderr)}`
  }
  if (keep) {
    await fs.writeFile(path.join(OUT_DIR, 'action-stdout.log'), m.stdout)
    await fs.copyFile(summaryFile, path.join(OUT_DIR, 'action-summary.md'))
  }
  await finishRun(dir, keep ? zipPath : undefined, 'action.zip')
  return result
}

/**
 * Flushes the previous run's dirty pages before the next run starts: each side writes and
 * deletes hundreds of MB, and without this the next run pays for that write-back.
 */
async function settle(): Promise<void> {
  await run('sync')
}

let defaults: Record<string, string> | undefined

/** Every input with action.yml's default, as the runner passes them. */
async function actionDefaults(): Promise<Record<string, string>> {
  if (defaults) return defaults
  const action = parseYaml(await fs.readFile(path.join(ROOT, 'action.yml'), 'utf8')) as {
    inputs: Record<string, { default?: string }>
  }
  defaults = Object.fromEntries(
    Object.entries(action.inputs).map(([name, input]) => [
      `INPUT_${name.replace(/ /g, '_').toUpperCase()}`,
      String(input.default ?? '')
    ])
  )
  return defaults
}

/** Keeps the last round's zip in bench/out for inspection, and frees the rest. */
async function finishRun(dir: string, zipPath: string | undefined, keepAs: string): Promise<void> {
  if (zipPath && existsSync(zipPath)) await fs.copyFile(zipPath, path.join(OUT_DIR, keepAs))
  await fs.rm(dir, { recursive: true, force: true })
}

/** Files (not directory entries) in a zip and their uncompressed bytes, from `unzip -Zl`. */
async function zipListing(zipPath: string): Promise<{ files: number; unzippedSize: number }> {
  const { stdout } = await run('unzip', ['-Z', '-l', zipPath], { maxBuffer: 256 * 1024 * 1024 })
  let files = 0
  let unzippedSize = 0
  for (const line of stdout.split('\n')) {
    // -rw-r--r--  3.0 unx     1234 b-     567 defN 80-Jan-01 00:00 python/x.py
    const fields = line.trim().split(/\s+/)
    if (fields.length < 10 || !/^[-dl]/.test(fields[0]) || fields.at(-1)!.endsWith('/')) continue
    files++
    unzippedSize += Number(fields[3])
  }
  return { files, unzippedSize }
}

function lastLines(text: string, count = 3): string {
  return text.trim().split('\n').slice(-count).join(' / ').slice(0, 600)
}

// ---------------------------------------------------------------------------------------------
// The zip stage alone

async function zipStage(
  rounds: number,
  index: PackageIndex,
  requirements: string
): Promise<ZipRun[]> {
  const dir = path.join(WORK, 'zip-stage')
  const site = path.join(dir, SITE_PACKAGES)
  await fs.mkdir(site, { recursive: true })
  await fs.writeFile(path.join(dir, 'requirements.txt'), requirements)
  // The tree the script zips: its own pip line (no venv needed for the tree itself).
  console.log(`zip stage: installing the tree the script zips into ${path.relative(ROOT, site)}`)
  const pip = await measure(
    `python${CORPUS_PYTHON}`,
    [
      '-m',
      'pip',
      'install',
      '--platform=manylinux2014_x86_64',
      `--target=${SITE_PACKAGES}/`,
      `--python-version=${CORPUS_PYTHON}`,
      '--only-binary=:all:',
      '--index-url',
      index.url,
      '-r',
      'requirements.txt'
    ],
    { cwd: dir, env: benchEnv() }
  )
  if (pip.exitCode !== 0) throw new Error(`zip stage: pip failed: ${lastLines(pip.stderr)}`)

  const writers: ZipRun['writer'][] = ['info-zip', 'ours', 'adm-zip']
  const runs: ZipRun[] = []
  for (let round = 1; round <= rounds; round++) {
    // Rotate the order each round so no writer always runs on the coldest cache.
    const order = writers.map((_, i) => writers[(i + round - 1) % writers.length])
    for (const writer of order) {
      const zipPath = path.join(dir, `${writer}.zip`)
      await fs.rm(zipPath, { force: true })
      await settle()
      const load = os.loadavg()[0]
      let m: Measurement
      if (writer === 'info-zip') {
        m = await measure(
          'zip',
          ['-r', '-qq', zipPath, SITE_PACKAGES, '-x', '*boto3*', '-x', '*botocore*'],
          { cwd: dir, env: benchEnv() }
        )
      } else {
        m = await measure(
          TSX,
          [path.join(BENCH_DIR, 'zip-stage.ts'), writer, site, zipPath, `${SITE_PACKAGES}/`],
          { cwd: ROOT, env: benchEnv() }
        )
      }
      if (m.exitCode !== 0) throw new Error(`zip stage: ${writer} failed: ${lastLines(m.stderr)}`)
      const inside =
        writer === 'info-zip'
          ? m.wallS
          : (JSON.parse(m.stdout.trim().split('\n').at(-1)!) as ZipStageResult).seconds
      const listing = await zipListing(zipPath)
      const zipRun: ZipRun = {
        writer,
        round,
        load,
        m,
        writerS: inside,
        zipSize: (await fs.stat(zipPath)).size,
        files: listing.files,
        sha256: await sha256File(zipPath)
      }
      runs.push(zipRun)
      console.log(
        `zip stage round ${round} ${writer.padEnd(8)}: ${inside.toFixed(2)} s in writer, ` +
          `${m.wallS.toFixed(2)} s process, ${m.cpuS.toFixed(2)} s CPU, ` +
          `${mibOf(m.maxProcessRss).toFixed(0)} MiB, ${mbOf(zipRun.zipSize).toFixed(1)} MB`
      )
      await fs.rm(zipPath, { force: true })
    }
  }
  await fs.rm(dir, { recursive: true, force: true })
  return runs
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

// ---------------------------------------------------------------------------------------------
// Publishing to one region and to three

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2']
const LATENCY_MS = 500

async function deployStage(rounds: number): Promise<DeployRun[]> {
  const dir = path.join(WORK, 'deploy-stage')
  // What is uploaded hardly matters here: 500 ms per API call dominates.
  const zipPath = path.join(dir, 'layer.zip')
  const module = fileInMemory('benchlayer/__init__.py', 'VALUE = 1\n'.repeat(10_000))
  await writeAssembledZip([module], zipPath)
  const emulator = await startLambdaEmulator({ latencyMs: LATENCY_MS, idleTimeoutMs: 10 * 60_000 })
  const runs: DeployRun[] = []
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const count of round % 2 ? [1, 3] : [3, 1]) {
        const regions = REGIONS.slice(0, count)
        // A fresh function per run: each run adds a layer, and a function holds at most 5.
        const fn = `bench-fn-r${round}-${count}`
        for (const region of regions) {
          emulator.createFunction({ name: fn, region, runtime: `python${CORPUS_PYTHON}` })
        }
        const { stdout, stderr } = await run(
          TSX,
          [
            path.join(BENCH_DIR, 'deploy-stage.ts'),
            emulator.endpoint,
            zipPath,
            `bench-r${round}-${count}`,
            fn,
            regions.join(',')
          ],
          { cwd: ROOT, env: benchEnv(), maxBuffer: 16 * 1024 * 1024 }
        ).catch((error: { stdout?: string; stderr?: string }) => {
          throw new Error(`deploy stage failed: ${lastLines(error.stderr ?? error.stdout ?? '')}`)
        })
        void stderr
        const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as DeployStageResult
        runs.push({ regions: count, round, seconds: result.seconds, failures: result.failures })
        console.log(
          `deploy round ${round}: ${count} region(s) in ${result.seconds.toFixed(2)} s` +
            (result.failures.length ? ` — failures: ${result.failures.join('; ')}` : '')
        )
      }
    }
  } finally {
    await emulator.close()
    await fs.rm(dir, { recursive: true, force: true })
  }
  return runs
}

// ---------------------------------------------------------------------------------------------
// Where each side's time goes, from when its log lines arrived

type Phases = Array<[string, number]>

function lineAt(m: Measurement, pattern: RegExp, after = 0, last = false): number | undefined {
  const hits = m.timeline.filter(([at, line]) => at >= after && pattern.test(line))
  return (last ? hits.at(-1) : hits[0])?.[0]
}

function span(from: number | undefined, to: number | undefined): number {
  return from === undefined || to === undefined ? NaN : to - from
}

export function scriptPhases(m: Measurement): Phases {
  const pipStart = lineAt(m, /^Looking in indexes/)
  const installStart = lineAt(m, /^Installing collected packages/)
  const pipEnd = lineAt(m, /^Successfully installed/)
  return [
    ['python -m venv (ensurepip) and pip start-up', span(0, pipStart)],
    ['pip: resolve and download', span(pipStart, installStart)],
    ['pip: unpack and compile .pyc', span(installStart, pipEnd)],
    ['cp -r venv/ python/, zip -r, rm -rf', span(pipEnd, m.wallS)]
  ]
}

export function actionPhases(m: Measurement): Phases {
  const pipStart = lineAt(m, /^::group::pip (download|install)/)
  const pipEnd = lineAt(m, /^::endgroup::/, pipStart ?? 0)
  const assembled = lineAt(m, /^layer: \d+ files from \d+ wheels/, pipEnd ?? 0)
  const verified = lineAt(m, /^verify: \d+ files read in memory/, assembled ?? 0)
  const zipDone = lineAt(m, /^layer zip:/)
  const importStart = lineAt(m, /^::group::import check/)
  const importEnd = lineAt(m, /^::endgroup::/, importStart ?? Infinity)
  return [
    ['node start-up, inputs, index and pip checks', span(0, pipStart)],
    ['pip: resolve and download (pip download)', span(pipStart, pipEnd)],
    ['assemble: read wheels, prune, slim, RECORD', span(pipEnd, assembled)],
    // verification and the zip run at once; their lines come when both are done
    ['verify (every file inflated, CRC checked) and write zip, at once', span(assembled, verified)],
    ['tree for the import check finished, zip hashed', span(verified, zipDone)],
    ['import check', span(importStart, importEnd)],
    ['size check, report, exit', span(importEnd ?? zipDone, m.wallS)]
  ]
}

const PROCESS_KINDS: Array<[string, RegExp]> = [
  ['python -m venv (with ensurepip)', /-m venv/],
  ['the action (node: prune, verify, zip, report)', /dist\/index\.js/],
  ['import check interpreters', / -I -S -B -c /],
  ['pip', /pip-for-lambda\.py|-m pip|bin\/pip /],
  ['zip', /^zip /],
  ['cp -r', /^cp /],
  ['rm -rf', /^rm /]
]

/** CPU seconds by kind of process; a process started by venv counts as venv (ensurepip's pip). */
export function cpuByKind(processes: SampledProcess[]): Phases {
  const byPid = new Map(processes.map(p => [p.pid, p]))
  const kindOf = (p: SampledProcess): string => {
    for (let up = byPid.get(p.parent); up; up = byPid.get(up.parent)) {
      if (/-m venv/.test(up.command)) return PROCESS_KINDS[0][0]
    }
    return PROCESS_KINDS.find(([, pattern]) => pattern.test(p.command))?.[0] ?? 'other'
  }
  const totals = new Map<string, number>([
    ...PROCESS_KINDS.map(([k]) => [k, 0] as [string, number]),
    ['other', 0]
  ])
  for (const p of processes) totals.set(kindOf(p), totals.get(kindOf(p))! + p.cpuS)
  return [...totals].filter(([, seconds]) => seconds > 0)
}

// ---------------------------------------------------------------------------------------------
// The report

interface Environment {
  date: string
  cpu: string
  cores: number
  memoryGiB: number
  node: string
  python: string
  pip: string
  zip: string
  loadBefore: string
  loadAfter: string
  rounds: number
  pipCache: string
  corpus: {
    projects: number
    wheelsMB: number
    installedMB: number
    wheels: Array<{ file: string; installedMB: number; bundled: string[] }>
  }
}

async function describeEnvironment(
  corpus: CorpusManifest,
  rounds: number,
  startedAt: Date,
  loadBefore: number[]
): Promise<Environment> {
  const cpuinfo = await fs.readFile('/proc/cpuinfo', 'utf8').catch(() => '')
  const cpu = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown'
  const version = async (cmd: string, args: string[]) =>
    await run(cmd, args)
      .then(r => (r.stdout || r.stderr).trim().split('\n')[0])
      .catch(() => '?')
  let wheelBytes = 0
  for (const w of corpus.wheels)
    wheelBytes += (await fs.stat(path.join(corpus.wheelsDir, w.filename))).size
  return {
    date: startedAt.toISOString(),
    cpu,
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    node: (await version(NODE24, ['--version'])) + ' (action); ' + process.version + ' (bench)',
    python: await version(`python${CORPUS_PYTHON}`, ['--version']),
    pip: (await version(`python${CORPUS_PYTHON}`, ['-m', 'pip', '--version'])).split(' from ')[0],
    zip: await run('zip', ['-v'])
      .then(r => /This is (Zip [^\n]*)/.exec(r.stdout)?.[1] ?? 'Info-ZIP')
      .catch(() => '?'),
    loadBefore: loadBefore.map(l => l.toFixed(2)).join(' '),
    loadAfter: os
      .loadavg()
      .map(l => l.toFixed(2))
      .join(' '),
    rounds,
    pipCache: 'off for both (PIP_NO_CACHE_DIR=1, PIP_CONFIG_FILE=/dev/null, no other PIP_*)',
    corpus: {
      projects: corpus.wheels.length,
      wheelsMB: mbOf(wheelBytes),
      installedMB: mbOf(corpus.wheels.reduce((s, w) => s + w.installedBytes, 0)),
      wheels: corpus.wheels.map(w => ({
        file: w.filename,
        installedMB: mbOf(w.installedBytes),
        bundled: w.bundled
      }))
    }
  }
}

function report(
  env: Environment,
  builds: BuildRun[],
  zips: ZipRun[],
  deploys: DeployRun[]
): string {
  const out: string[] = ['# Benchmark: the action against the hand-written script', '']
  out.push(
    `${env.date} · ${env.cpu}, ${env.cores} cores, ${env.memoryGiB} GiB · ${env.node} · ` +
      `${env.python}, ${env.pip} · ${env.rounds} round(s), alternating · pip cache ${env.pipCache} · ` +
      `load average ${env.loadBefore} before, ${env.loadAfter} after (other work on the machine shows here)`,
    '',
    `Corpus: ${env.corpus.projects} projects re-packed from Debian bookworm's python3-* packages ` +
      `(${env.corpus.wheelsMB.toFixed(0)} MB of wheels, ${env.corpus.installedMB.toFixed(0)} MB of files before .pyc); ` +
      `requirements: numpy, scipy, pandas, SQLAlchemy, requests, pydantic; runtime python3.11 x86_64, verify warn.`,
    ''
  )

  if (builds.length) {
    const side = (name: BuildRun['side']) => builds.filter(b => b.side === name && !b.error)
    const a = side('script')
    const b = side('action')
    const failed = builds.filter(r => r.error)
    const col = (runs: BuildRun[], pick: (r: BuildRun) => number, digits = 1) =>
      runs.length ? spread(runs.map(pick), digits) : '—'
    const med = (runs: BuildRun[], pick: (r: BuildRun) => number) => median(runs.map(pick))
    const wall = (r: BuildRun) => r.m.wallS
    const cpu = (r: BuildRun) => r.m.cpuS
    const big = (r: BuildRun) => mibOf(r.m.maxProcessRss)
    const root = (r: BuildRun) => mibOf(r.m.rootRss)
    const tree = (r: BuildRun) => mibOf(r.m.treeRss)
    const size = (r: BuildRun) => mbOf(r.zipSize)
    const files = (r: BuildRun) => r.files
    const unzipped = (r: BuildRun) => mbOf(r.unzippedSize)
    // B/A pair by pair (round i of each side ran back to back), so a machine that drifts
    // slower or faster across rounds moves both sides of each ratio together
    const pairs = (pick: (r: BuildRun) => number) =>
      a.length === b.length
        ? b.map((run, i) => pick(run) / pick(a[i]))
        : [med(b, pick) / med(a, pick)]
    const pairedRatio = (pick: (r: BuildRun) => number) => `${spread(pairs(pick), 2)}×`
    const wallRatio = median(pairs(wall))
    const sizeRatio = med(b, size) / med(a, size)
    const rootRss = med(b, root)
    out.push('## Whole build', '')
    out.push(
      table(
        [
          'median (min–max)',
          'hand-written script (A)',
          'action, build only (B)',
          'B/A (per round)',
          'target'
        ],
        [
          [
            'wall time, s',
            col(a, wall),
            col(b, wall),
            pairedRatio(wall),
            `≤ ${TARGETS.buildWall}× — ${verdict(wallRatio <= TARGETS.buildWall)}`
          ],
          ['CPU time (user+sys, whole tree), s', col(a, cpu), col(b, cpu), pairedRatio(cpu), ''],
          [
            'peak RSS, largest single process, MiB',
            col(a, big, 0),
            col(b, big, 0),
            ratio(med(b, big), med(a, big)),
            ''
          ],
          [
            'peak RSS, the action’s node process, MiB',
            '—',
            col(b, root, 0),
            '',
            `≤ ${TARGETS.actionRssMiB} MiB — ${verdict(rootRss <= TARGETS.actionRssMiB)}`
          ],
          [
            'peak RSS, whole process tree summed (sampled), MiB',
            col(a, tree, 0),
            col(b, tree, 0),
            ratio(med(b, tree), med(a, tree)),
            ''
          ],
          [
            'zip size, MB',
            col(a, size),
            col(b, size),
            ratio(med(b, size), med(a, size)),
            `≤ ${TARGETS.zipSize}× (≥ 35 % smaller) — ${verdict(sizeRatio <= TARGETS.zipSize)}`
          ],
          [
            'files in the zip',
            col(a, files, 0),
            col(b, files, 0),
            ratio(med(b, files), med(a, files)),
            ''
          ],
          [
            'unzipped size, MB',
            col(a, unzipped),
            col(b, unzipped),
            ratio(med(b, unzipped), med(a, unzipped)),
            '≤ 262.1 MB (Lambda)'
          ]
        ]
      ),
      ''
    )
    const phaseTable = (runs: BuildRun[]) => {
      const each = runs.map(r => r.phases)
      if (!each.length) return ''
      return table(
        ['phase', 'median s', 'share of wall'],
        each[0].map(([name], i) => {
          const seconds = median(each.map(p => p[i][1]).filter(Number.isFinite))
          // a phase with no log line in any round did not run (the import check when off)
          if (!Number.isFinite(seconds)) return [name, 'not run', '']
          return [name, seconds.toFixed(2), `${((100 * seconds) / med(runs, wall)).toFixed(0)} %`]
        })
      )
    }
    out.push(
      '### Where the time goes (from the arrival time of each side’s log lines)',
      '',
      '(a) the script:',
      '',
      phaseTable(a),
      '',
      '(b) the action:',
      '',
      phaseTable(b),
      ''
    )
    const cpuTable = (runs: BuildRun[]) => {
      const kinds = [...new Set(runs.flatMap(r => r.cpuByProcess.map(([k]) => k)))]
      return table(
        ['process', 'median CPU s'],
        kinds.map(kind => [
          kind,
          median(runs.map(r => r.cpuByProcess.find(([k]) => k === kind)?.[1] ?? 0)).toFixed(2)
        ])
      )
    }
    out.push(
      '### CPU by process (sampled from /proc every 50 ms; short-lived processes are missed)',
      '',
      '(a) the script:',
      '',
      cpuTable(a),
      '',
      '(b) the action:',
      '',
      cpuTable(b),
      ''
    )
    if (b.length) {
      out.push(
        `The action's own warnings per run (verify warn: Debian's glibc 2.35 builds on an AL2 runtime): ${spread(
          b.map(r => r.warnings),
          0
        )}.`,
        ''
      )
    }
    if (failed.length) {
      out.push('Failed runs (left out of the medians):', '')
      for (const r of failed) out.push(`- round ${r.round} ${r.side}: ${r.error}`)
      out.push('')
    }
  }

  if (zips.length) {
    const by = (writer: ZipRun['writer']) => zips.filter(z => z.writer === writer)
    const infoZip = median(by('info-zip').map(z => z.writerS))
    const rows = (['ours', 'info-zip', 'adm-zip'] as const).map(writer => {
      const runs = by(writer)
      const identical = new Set(runs.map(z => z.sha256)).size === 1
      const inside = median(runs.map(z => z.writerS))
      return [
        writer === 'ours'
          ? 'the action (src/builder/zip/)'
          : writer === 'info-zip'
            ? 'Info-ZIP `zip -r -qq`'
            : 'adm-zip',
        spread(
          runs.map(z => z.writerS),
          2
        ),
        ratio(inside, infoZip),
        spread(
          runs.map(z => z.m.wallS),
          2
        ),
        spread(
          runs.map(z => z.m.cpuS),
          2
        ),
        spread(
          runs.map(z => mibOf(z.m.maxProcessRss)),
          0
        ),
        spread(
          runs.map(z => mbOf(z.zipSize)),
          1
        ),
        String(median(runs.map(z => z.files))),
        runs.length > 1 ? (identical ? 'yes' : 'no') : 'one run'
      ]
    })
    const ours = median(by('ours').map(z => z.writerS))
    out.push('## Zip stage alone (same installed tree: the script’s, with its .pyc)', '')
    out.push(
      table(
        [
          'writer',
          'time in writer, s',
          '/ Info-ZIP',
          'process wall, s',
          'CPU, s',
          'peak RSS, MiB',
          'zip, MB',
          'files',
          'byte-identical across runs'
        ],
        rows
      ),
      '',
      `Target: our writer ≤ ${TARGETS.zipWall}× Info-ZIP's wall time — ${verdict(
        ours / infoZip <= TARGETS.zipWall
      )} (${ratio(ours, infoZip)}). "time in writer" excludes Node start-up and tsx's compile for ` +
        "the two Node writers; Info-ZIP's is its process wall time.",
      ''
    )
  }

  if (deploys.length) {
    const one = median(deploys.filter(d => d.regions === 1).map(d => d.seconds))
    const three = median(deploys.filter(d => d.regions === 3).map(d => d.seconds))
    out.push(`## Publishing: one region against three (emulator, ${LATENCY_MS} ms per call)`, '')
    out.push(
      table(
        ['regions', 'deploy time, s (publish + attach one function per region)', 'ratio', 'target'],
        [
          [
            '1',
            spread(
              deploys.filter(d => d.regions === 1).map(d => d.seconds),
              2
            ),
            '',
            ''
          ],
          [
            '3',
            spread(
              deploys.filter(d => d.regions === 3).map(d => d.seconds),
              2
            ),
            ratio(three, one),
            `< ${TARGETS.regions}× — ${verdict(three / one < TARGETS.regions)}`
          ]
        ]
      ),
      ''
    )
    const failures = deploys.flatMap(d => d.failures)
    if (failures.length) out.push(`Deploy failures: ${failures.join('; ')}`, '')
  }
  out.push('Reproduce: `npm run bench` (see bench/README.md).', '')
  return out.join('\n')
}

/** The JSON keeps numbers, not whole logs. */
function stripOutput(key: string, value: unknown): unknown {
  if ((key === 'stdout' || key === 'stderr') && typeof value === 'string') return value.slice(-2000)
  if (key === 'timeline' || key === 'processes') return undefined
  return value
}

await main()
