// The `files` input: files and folders of the workspace added to the layer where Lambda looks
// for them (python/ on sys.path, lib/ on LD_LIBRARY_PATH, bin/ on PATH). Planned before pip
// runs, as a plain list the zip step adds and verification checks.
import * as fs from 'node:fs/promises'
import path from 'node:path'
import type { FileMapping } from '../inputs.js'
import { isInside } from '../sources/common.js'

/** One file of the workspace and where it goes in the layer zip. */
export interface ExtraFile {
  /** Absolute real path of the content. */
  source: string
  /** Path inside the zip, `/`-separated: `python/shared_utils/__init__.py`, `lib/libpq.so.5`. */
  layerPath: string
  /** Executables keep x; nothing else travels (see modeOf). */
  mode: 0o644 | 0o755
}

export interface ExtraFilesPlan {
  files: ExtraFile[]
  warnings: string[]
}

/**
 * Every file the mappings add, sorted by layer path. Refuses a source that is not there, one
 * that is or reaches (through a symlink, at any depth) outside the workspace, a file that is
 * neither regular nor a folder, and two mappings that give the same layer path.
 */
export async function planExtraFiles(
  mappings: FileMapping[],
  workspace: string
): Promise<ExtraFilesPlan> {
  const realWorkspace = await fs.realpath(workspace).catch(() => path.resolve(workspace))
  const files: ExtraFile[] = []
  const warnings: string[] = []
  const from = new Map<string, string>()
  for (const mapping of mappings) {
    const refuse = (why: string): Error => new Error(`files: "${mapping.line}": ${why}`)
    const start = path.resolve(workspace, mapping.source)
    const real = await realInside(start, realWorkspace, refuse)
    const stats = await fs.stat(real)
    const destination = mapping.destination.endsWith('/')
      ? mapping.destination + path.basename(start)
      : mapping.destination
    const found: ExtraFile[] = []
    if (stats.isDirectory()) {
      await walk(real, destination, realWorkspace, new Set([real]), found, refuse)
    } else if (stats.isFile()) {
      found.push({ source: real, layerPath: destination, mode: modeOf(stats.mode) })
    } else {
      throw refuse(`${mapping.source} is not a regular file or a folder`)
    }
    if (found.length === 0) warnings.push(`files: "${mapping.line}" adds nothing (an empty folder)`)
    for (const file of found) {
      const other = from.get(file.layerPath)
      if (other !== undefined)
        throw refuse(`${file.layerPath} is also added by "${other}"; give each its own destination`)
      from.set(file.layerPath, mapping.line)
      if (file.layerPath.startsWith('bin/') && file.mode !== 0o755)
        warnings.push(
          `files: ${file.layerPath} is not executable in the workspace, so Lambda cannot run it from PATH; chmod +x it (git update-index --chmod=+x)`
        )
      files.push(file)
    }
  }
  return { files: files.sort((a, b) => (a.layerPath < b.layerPath ? -1 : 1)), warnings }
}

/**
 * The files under lib/, relative to it: those of lib/ itself the loader finds on
 * LD_LIBRARY_PATH (/opt/lib); those of its subfolders only through an RPATH or RUNPATH.
 */
export function layerLibraries(files: ExtraFile[]): string[] {
  return files
    .filter(f => f.layerPath.startsWith('lib/'))
    .map(f => path.posix.relative('lib', f.layerPath))
}

async function realInside(
  file: string,
  realWorkspace: string,
  refuse: (why: string) => Error
): Promise<string> {
  let real: string
  try {
    real = await fs.realpath(file)
  } catch {
    // whether the link is inside is told first: a dangling link out says nothing of the runner
    const link = await fs.readlink(file).catch(() => undefined)
    if (link !== undefined && !isInside(path.resolve(path.dirname(file), link), realWorkspace))
      throw refuse(`${file} is a symlink to ${link}, outside the workspace`)
    throw refuse(`${file} does not exist`)
  }
  if (!isInside(real, realWorkspace))
    throw refuse(`${file} reaches ${real}, outside the workspace (${realWorkspace})`)
  return real
}

async function walk(
  folder: string,
  layerFolder: string,
  realWorkspace: string,
  ancestors: Set<string>,
  found: ExtraFile[],
  refuse: (why: string) => Error
): Promise<void> {
  for (const name of (await fs.readdir(folder)).sort()) {
    const real = await realInside(path.join(folder, name), realWorkspace, refuse)
    const stats = await fs.stat(real)
    const layerPath = `${layerFolder}/${name}`
    if (stats.isDirectory()) {
      if (ancestors.has(real))
        throw refuse(`${path.join(folder, name)} loops back to a parent folder`)
      await walk(real, layerPath, realWorkspace, new Set([...ancestors, real]), found, refuse)
    } else if (stats.isFile()) {
      found.push({ source: real, layerPath, mode: modeOf(stats.mode) })
    } else {
      throw refuse(`${path.join(folder, name)} is not a regular file or a folder`)
    }
  }
}

function modeOf(mode: number): 0o644 | 0o755 {
  return mode & 0o111 ? 0o755 : 0o644
}
