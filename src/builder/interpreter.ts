// Finds a CPython on the runner that can stand in for the Lambda runtime in the import check:
// the runtime's minor version, on the target's machine.
import { execFile } from 'node:child_process'
import { realpath } from 'node:fs/promises'
import { WHEEL_MACHINE, type Target } from '../facts.js'

export interface Interpreter {
  path: string
  /** "3.11" */
  version: string
  machine: 'x86_64' | 'aarch64'
}

/** Asking a candidate interpreter who it is; a pyenv shim or a slow disk can take a while. */
const PROBE_TIMEOUT_MS = 15_000
const PROBE_OUTPUT_LIMIT = 64 * 1024

// Runs under -E -s rather than -I so that a Python 2 `python` still answers and can be named
// in the reason, instead of dying on an unknown option.
const PROBE = `
import json, platform, sys, sysconfig
multiarch = sysconfig.get_config_var('MULTIARCH') or ''
print(json.dumps({
  'implementation': platform.python_implementation(),
  'version': '%d.%d' % sys.version_info[:2],
  'machine': multiarch.split('-')[0] or platform.machine(),
  'platform': sys.platform,
  'libc': platform.libc_ver()[0],
  'freeThreaded': bool(sysconfig.get_config_var('Py_GIL_DISABLED')),
  'executable': sys.executable
}))
`

interface Probe {
  implementation: string
  version: string
  machine: string
  platform: string
  libc: string
  freeThreaded: boolean
  executable: string
}

/**
 * The first CPython on the runner matching the runtime's minor version and the target's
 * machine. Candidates in order: the `python` input, `python3.X`, `python3`, `python` (looked
 * up on `env.PATH`). A candidate that is missing or does not run is passed over; when none
 * fits, `reason` says once why.
 */
export async function findInterpreter(
  target: Target,
  pythonInput: string,
  env: NodeJS.ProcessEnv = process.env
): Promise<{ interpreter?: Interpreter; reason?: string }> {
  const version = target.runtime.pythonVersion
  const machine = WHEEL_MACHINE[target.architecture]
  const input = pythonInput.trim()
  const candidates = [...new Set([input, `python${version}`, 'python3', 'python'].filter(Boolean))]

  const found = new Map<string, string>()
  let inputRuns = input === ''
  for (const candidate of candidates) {
    const probe = await probeInterpreter(candidate, env)
    if (!probe) continue
    if (candidate === input) inputRuns = true
    if (fits(probe, version, machine)) {
      return { interpreter: { path: probe.executable || candidate, version, machine } }
    }
    const key = await realpath(probe.executable).catch(() => probe.executable || candidate)
    if (!found.has(key)) found.set(key, `${candidate} ${describeProbe(probe)}`)
  }

  const tried = candidates.join(', ')
  let why = found.size > 0 ? `found ${[...found.values()].join(', ')}` : `none of ${tried} runs`
  if (!inputRuns) why += `; the python input "${input}" does not run`
  return { reason: `no CPython ${version} for ${machine} on this runner (${why})` }
}

async function probeInterpreter(
  command: string,
  env: NodeJS.ProcessEnv
): Promise<Probe | undefined> {
  return new Promise(resolve => {
    execFile(
      command,
      ['-E', '-s', '-c', PROBE],
      { env, timeout: PROBE_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: PROBE_OUTPUT_LIMIT },
      (error, stdout) => {
        if (error) return resolve(undefined)
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as Probe)
        } catch {
          resolve(undefined)
        }
      }
    )
  })
}

function fits(probe: Probe, version: string, machine: string): boolean {
  return (
    probe.implementation === 'CPython' &&
    probe.version === version &&
    normalizeMachine(probe.machine) === machine &&
    probe.platform === 'linux' &&
    // A musl or free-threaded build loads different extension modules than Lambda's runtime.
    probe.libc === 'glibc' &&
    !probe.freeThreaded
  )
}

/** "3.11 x86_64", with whatever else keeps it from matching: "3.13 x86_64 free-threaded". */
function describeProbe(probe: Probe): string {
  const parts = [probe.version, normalizeMachine(probe.machine)]
  if (probe.implementation !== 'CPython') parts.push(probe.implementation)
  if (probe.platform !== 'linux') parts.push(probe.platform)
  else if (probe.libc !== 'glibc') parts.push(probe.libc || 'non-glibc')
  if (probe.freeThreaded) parts.push('free-threaded')
  return parts.join(' ')
}

function normalizeMachine(machine: string): string {
  const aliases: Record<string, string> = { amd64: 'x86_64', arm64: 'aarch64' }
  return aliases[machine.toLowerCase()] ?? machine
}

/** Folders at the top of site-packages that are never importable modules. */
