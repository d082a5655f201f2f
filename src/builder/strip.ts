import * as exec from '@actions/exec'
import { lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { WHEEL_MACHINE, type Architecture } from '../facts.js'
import { mapLimit } from '../concurrency.js'
import { IN_MEMORY_LIMIT, layerFileContent, writeLayerFile } from './assemble.js'
import type { LayerFile } from './layout.js'

/**
 * Shared objects a strip may touch: never those in `*.libs/` folders, the libraries auditwheel
 * bundles, whose ELF load commands strip misaligns ("ELF load command … not page-aligned").
 */
export function isStrippable(file: string): boolean {
  const parts = file.split('/')
  if (parts.some(part => part.endsWith('.libs') || part.endsWith('.dist-info'))) return false
  return /\.so(\.\d+)*$/.test(file)
}

/** binutils for the target machine: the host's own strip only reads its own machine's ELF. */
export function stripTool(architecture: Architecture, hostMachine = os.machine()): string {
  const machine = WHEEL_MACHINE[architecture]
  return hostMachine === machine ? 'strip' : `${machine}-linux-gnu-strip`
}

export interface LayerStripResult {
  files: LayerFile[]
  stripped: number
  savedBytes: number
  warning?: string
}

/**
 * Strips the layer's shared objects (`--strip-unneeded`): they are written to a scratch folder,
 * stripped there, and go into the layer as new bytes; the rest stays copied from the wheels.
 */
export async function stripLayerFiles(
  files: LayerFile[],
  architecture: Architecture,
  scratchDir: string,
  inMemoryLimit = IN_MEMORY_LIMIT
): Promise<LayerStripResult> {
  const tool = stripTool(architecture)
  const targets = files.flatMap((file, index) => (isStrippable(file.path) ? [index] : []))
  if (targets.length === 0) return { files, stripped: 0, savedBytes: 0 }
  await mkdir(scratchDir, { recursive: true })
  const scratch = (index: number) => path.join(scratchDir, `${index}.so`)
  const big = (size: number) => size > inMemoryLimit
  await mapLimit(targets, 4, async index =>
    big(files[index].size)
      ? writeLayerFile(files[index], scratch(index))
      : writeFile(scratch(index), await layerFileContent(files[index]))
  )
  // a big stripped object stays in the scratch folder, and the zip reads it from there
  let keptOnDisk = false
  try {
    for (let i = 0; i < targets.length; i += 200) {
      const batch = targets.slice(i, i + 200).map(scratch)
      let failure: string | undefined
      try {
        const { exitCode, stderr } = await exec.getExecOutput(
          tool,
          ['--strip-unneeded', ...batch],
          { ignoreReturnCode: true, silent: true }
        )
        if (exitCode !== 0) {
          failure = `strip: ${tool} failed, shared objects left as they are: ${stderr.trim().split('\n')[0]}`
        }
      } catch {
        failure = `strip: ${tool} was not found on the runner (install binutils for ${WHEEL_MACHINE[architecture]}); shared objects left as they are`
      }
      // nothing of a failed strip reaches the layer: the wheels' bytes are still there
      if (failure) return { files, stripped: 0, savedBytes: 0, warning: failure }
    }
    const result = [...files]
    let savedBytes = 0
    await mapLimit(targets, 4, async index => {
      const { size } = await lstat(scratch(index))
      savedBytes += files[index].size - size
      if (big(size)) {
        keptOnDisk = true
        result[index] = { ...files[index], size, source: { kind: 'file', file: scratch(index) } }
        return
      }
      const data = await readFile(scratch(index))
      result[index] = { ...files[index], size: data.length, source: { kind: 'bytes', data } }
      await rm(scratch(index), { force: true })
    })
    return { files: result, stripped: targets.length, savedBytes }
  } finally {
    if (!keptOnDisk) await rm(scratchDir, { recursive: true, force: true })
  }
}
