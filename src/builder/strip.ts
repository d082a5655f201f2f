import * as exec from '@actions/exec'
import { lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { WHEEL_MACHINE, type Architecture } from '../facts.js'
import { mapLimit } from '../concurrency.js'
import { IN_MEMORY_LIMIT, layerFileContent, writeLayerFile } from './assemble.js'
import type { LayerFile } from './layout.js'
import { siteLocator, type LayerPackage } from './site.js'

export interface StripResult {
  packages: LayerPackage[]
  stripped: number
  savedBytes: number
  warning?: string
}

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

export async function stripSharedObjects(
  siteDir: string,
  packages: LayerPackage[],
  architecture: Architecture
): Promise<StripResult> {
  const tool = stripTool(architecture)
  const locate = siteLocator(siteDir)
  // strip rewrites files in place: never one whose real location is outside the layer
  // once each: a file two RECORDs list is stripped, and its savings counted, once
  const targets = [
    ...new Set(
      packages.flatMap(pkg =>
        pkg.files.filter(file => isStrippable(file) && locate(file) !== undefined)
      )
    )
  ]
  if (targets.length === 0) return { packages, stripped: 0, savedBytes: 0 }
  const before = await sizes(siteDir, targets)
  for (let i = 0; i < targets.length; i += 200) {
    const batch = targets.slice(i, i + 200).map(file => path.join(siteDir, file))
    try {
      const { exitCode, stderr } = await exec.getExecOutput(tool, ['--strip-unneeded', ...batch], {
        ignoreReturnCode: true,
        silent: true
      })
      if (exitCode !== 0)
        return {
          packages,
          stripped: 0,
          savedBytes: 0,
          warning: `strip: ${tool} failed, shared objects may be partly stripped: ${stderr.trim().split('\n')[0]}`
        }
    } catch {
      return {
        packages,
        stripped: 0,
        savedBytes: 0,
        warning: `strip: ${tool} was not found on the runner (install binutils for ${WHEEL_MACHINE[architecture]}); shared objects left as they are`
      }
    }
  }
  const after = await sizes(siteDir, targets)
  let savedBytes = 0
  const updated = packages.map(pkg => {
    const saved = pkg.files
      .filter(file => before.has(file))
      .reduce((sum, file) => sum + (before.get(file)! - after.get(file)!), 0)
    savedBytes += saved
    return saved === 0 ? pkg : { ...pkg, bytes: pkg.bytes - saved }
  })
  return { packages: updated, stripped: targets.length, savedBytes }
}

/** Sizes of the files that exist; a file a RECORD names but nobody installed is skipped. */
async function sizes(siteDir: string, files: string[]): Promise<Map<string, number>> {
  const entries = await Promise.all(
    files.map(
      async file =>
        [file, (await lstat(path.join(siteDir, file)).catch(() => undefined))?.size] as const
    )
  )
  return new Map(
    entries.filter((entry): entry is readonly [string, number] => entry[1] !== undefined)
  )
}

export interface LayerStripResult {
  files: LayerFile[]
  stripped: number
  savedBytes: number
  warning?: string
}

/**
 * stripSharedObjects for a layer assembled from wheels: the shared objects are written to a
 * scratch folder, stripped there, and go into the layer as new bytes; the rest stays copied.
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
