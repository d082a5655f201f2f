// Runs one command the way the benchmark measures everything: under GNU time for wall time,
// the CPU time of the whole process tree (every waited-for descendant) and the largest single
// process's peak RSS, while a sampler reads /proc for the root process's own high-water mark
// and the summed RSS of the tree at each instant.

import { spawn } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'

export const GNU_TIME = '/usr/bin/time'
const SAMPLE_MS = 50
/** sysconf(_SC_CLK_TCK) on Linux: /proc/PID/stat counts CPU time in 1/100 s. */
const CLOCK_TICKS = 100

export interface Measurement {
  exitCode: number
  stdout: string
  stderr: string
  /** Seconds, from GNU time. */
  wallS: number
  /** user + system seconds of the command and all its descendants. */
  cpuS: number
  /** Peak RSS of the largest single process in the tree (GNU time %M), bytes. */
  maxProcessRss: number
  /** Peak RSS (VmHWM) of the command's own process, bytes; the node process for the action. */
  rootRss: number
  /** Largest sum of RSS over all processes of the tree at one sample, bytes. */
  treeRss: number
  /** Each stdout line with the seconds since the start at which it arrived. */
  timeline: Array<[number, string]>
  /**
   * CPU seconds of each process of the tree, as last sampled (a process's final 50 ms and
   * processes shorter than a sample are missed), with its command line.
   */
  processes: SampledProcess[]
}

export interface SampledProcess {
  pid: number
  parent: number
  command: string
  cpuS: number
}

export interface MeasureOptions {
  cwd: string
  env: NodeJS.ProcessEnv
}

export async function measure(
  command: string,
  args: string[],
  options: MeasureOptions
): Promise<Measurement> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'bench-time-'))
  const timeFile = path.join(scratch, 'time')
  try {
    const child = spawn(GNU_TIME, ['-o', timeFile, '-f', '%e %U %S %M', command, ...args], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const started = performance.now()
    let stdout = ''
    let stderr = ''
    let partial = ''
    const timeline: Array<[number, string]> = []
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString()
      stdout += text
      const lines = (partial + text).split('\n')
      partial = lines.pop()!
      const at = (performance.now() - started) / 1000
      for (const line of lines) timeline.push([at, line])
    })
    child.stderr.on('data', chunk => (stderr += chunk))
    const sampler = new TreeSampler(child.pid!)
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.on('error', reject)
      child.on('close', code => resolve(code ?? -1))
    })
    sampler.stop()
    await sampler.done
    const [wall, user, sys, maxKiB] = (await readFile(timeFile, 'utf8'))
      .trim()
      .split('\n')
      .at(-1)!
      .split(' ')
      .map(Number)
    return {
      exitCode,
      stdout,
      stderr,
      wallS: wall,
      cpuS: user + sys,
      maxProcessRss: maxKiB * 1024,
      rootRss: sampler.rootHwm,
      treeRss: sampler.treePeak,
      timeline,
      processes: [...sampler.processes.values()]
    }
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}

/** Polls /proc for the tree below GNU time: the command's VmHWM and the tree's summed VmRSS. */
class TreeSampler {
  rootHwm = 0
  treePeak = 0
  readonly processes = new Map<number, SampledProcess>()
  readonly done: Promise<void>
  private stopped = false

  constructor(private readonly timePid: number) {
    this.done = this.loop()
  }

  stop(): void {
    this.stopped = true
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      await this.sample().catch(() => {})
      await new Promise(resolve => setTimeout(resolve, SAMPLE_MS))
    }
  }

  private async sample(): Promise<void> {
    const [root] = await children(this.timePid)
    if (root === undefined) return
    let total = 0
    const queue = [root]
    while (queue.length) {
      const pid = queue.shift()!
      const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
      total += kib(status, 'VmRSS') * 1024
      if (pid === root) this.rootHwm = Math.max(this.rootHwm, kib(status, 'VmHWM') * 1024)
      await this.sampleCpu(pid)
      queue.push(...(await children(pid)))
    }
    this.treePeak = Math.max(this.treePeak, total)
  }

  private async sampleCpu(pid: number): Promise<void> {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
    // Fields after "(comm)": state, ppid, … utime is the line's 14th field and stime its 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const cpuS = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
    if (!Number.isFinite(cpuS)) return
    let entry = this.processes.get(pid)
    if (!entry) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
      const command = cmdline.split('\0').join(' ').trim().slice(0, 300)
      entry = { pid, parent: Number(fields[1]), command, cpuS }
      this.processes.set(pid, entry)
    }
    entry.cpuS = cpuS
  }
}

async function children(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[])
  const pids: number[] = []
  for (const task of tasks) {
    const text = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '')
    pids.push(...text.split(/\s+/).filter(Boolean).map(Number))
  }
  return pids
}

function kib(status: string, field: string): number {
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0)
}
