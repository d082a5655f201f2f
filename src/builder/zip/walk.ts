// Walking the site directory: every directory and file under it as sorted zip entries.

import fsSync from 'node:fs'
import path from 'node:path'
import type { ExtraFile } from '../extra-files.js'

export interface DirectoryEntry {
  kind: 'directory'
  name: Buffer
}

export interface FileEntry {
  kind: 'file'
  name: Buffer
  /** Real path of the content (a symlink's target when the entry came through a link). */
  source: string
  size: number
  mode: 0o644 | 0o755
}

export type LayerEntry = DirectoryEntry | FileEntry

/**
 * Every directory and file of the site directory as zip entries, sorted by name bytes.
 * Symlinks are resolved inside the tree; links that leave it, dangle or loop are skipped
 * with a warning, since following them would zip files from the build machine.
 *
 * Synchronous on purpose: nothing else runs during the walk, and a thread-pool round trip
 * per lstat costs several times the syscall itself on trees of tens of thousands of files.
 */
export function collectEntries(
  siteDir: string,
  prefix: string,
  warn: (message: string) => void
): LayerEntry[] {
  let root: string
  try {
    root = fsSync.realpathSync(siteDir)
  } catch {
    throw new Error(`Cannot zip ${siteDir}: the directory does not exist`)
  }
  if (!fsSync.statSync(root).isDirectory()) {
    throw new Error(`Cannot zip ${siteDir}: it is not a directory`)
  }
  const entries: LayerEntry[] = prefixDirectories(prefix).map(name => ({
    kind: 'directory',
    name: Buffer.from(name)
  }))
  const warnings: string[] = []
  const isInside = (target: string) => target === root || target.startsWith(root + path.sep)

  function walk(dir: string, zipDir: string, ancestors: Ancestors): void {
    for (const child of fsSync.readdirSync(dir)) {
      visit(path.join(dir, child), zipDir + child, ancestors)
    }
  }

  function visit(full: string, zipName: string, ancestors: Ancestors): void {
    const stats = fsSync.lstatSync(full)
    if (stats.isDirectory()) return enterDirectory(full, zipName, ancestors)
    if (stats.isFile()) return addFile(full, zipName, stats)
    if (!stats.isSymbolicLink()) {
      warnings.push(
        `Skipped ${zipName}: ${specialKind(stats)}, not a regular file, directory or symlink`
      )
      return
    }
    const link = fsSync.readlinkSync(full)
    let target: string
    try {
      target = fsSync.realpathSync(full)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      const reason =
        code === 'ENOENT' ? 'its target does not exist' : `it cannot be resolved (${code})`
      warnings.push(`Skipped symlink ${zipName} -> ${link}: ${reason}`)
      return
    }
    if (!isInside(target)) {
      warnings.push(`Skipped symlink ${zipName} -> ${link}: it points outside the site directory`)
      return
    }
    const targetStats = fsSync.statSync(target)
    if (targetStats.isFile()) return addFile(target, zipName, targetStats)
    if (!targetStats.isDirectory()) {
      warnings.push(
        `Skipped symlink ${zipName} -> ${link}: ${specialKind(targetStats)}, not a regular file or directory`
      )
      return
    }
    if (hasAncestor(ancestors, target)) {
      warnings.push(`Skipped symlink ${zipName} -> ${link}: it loops back to a parent directory`)
      return
    }
    enterDirectory(target, zipName, ancestors)
  }

  function enterDirectory(real: string, zipName: string, ancestors: Ancestors): void {
    const name = zipName + '/'
    entries.push({ kind: 'directory', name: Buffer.from(name) })
    walk(real, name, { real, parent: ancestors })
  }

  function addFile(source: string, zipName: string, stats: { size: number; mode: number }) {
    entries.push({
      kind: 'file',
      name: Buffer.from(zipName),
      source,
      size: stats.size,
      // Lambda runs code as another user: files must be world-readable (0600 breaks imports).
      // Only these two modes exist: setuid, setgid, sticky and group/world write never travel.
      mode: stats.mode & 0o111 ? 0o755 : 0o644
    })
  }

  walk(root, prefix, { real: root })
  // readdir order varies between file systems; sorting keeps the log as stable as the zip.
  for (const message of warnings.sort()) warn(message)
  return entries.sort((a, b) => Buffer.compare(a.name, b.name))
}

/** What a file that is neither regular, a directory nor a symlink is, for the warning. */
function specialKind(stats: fsSync.Stats): string {
  if (stats.isFIFO()) return 'a FIFO (named pipe)'
  if (stats.isSocket()) return 'a socket'
  if (stats.isCharacterDevice()) return 'a character device'
  if (stats.isBlockDevice()) return 'a block device'
  return 'an unknown file type'
}

interface Ancestors {
  real: string
  parent?: Ancestors
}

function hasAncestor(ancestors: Ancestors | undefined, real: string): boolean {
  for (let node = ancestors; node; node = node.parent) if (node.real === real) return true
  return false
}

/** "python/lib/" → ["python/", "python/lib/"] */
function prefixDirectories(prefix: string): string[] {
  const names: string[] = []
  let end = prefix.indexOf('/')
  while (end !== -1) {
    names.push(prefix.slice(0, end + 1))
    end = prefix.indexOf('/', end + 1)
  }
  return names
}

/**
 * The site directory's entries with the extra files added at their layer paths, with their
 * folders, sorted again. A file the packages already hold is refused: one of the two would
 * silently lose.
 */
export function withExtraFiles(entries: LayerEntry[], extraFiles: ExtraFile[]): LayerEntry[] {
  if (extraFiles.length === 0) return entries
  const names = new Set(entries.map(entry => entry.name.toString()))
  const added: LayerEntry[] = []
  for (const file of extraFiles) {
    if (names.has(file.layerPath))
      throw new Error(
        `files: ${file.layerPath} is also a file of the installed packages; choose another destination`
      )
    for (const folder of prefixDirectories(path.posix.dirname(file.layerPath) + '/')) {
      if (names.has(folder)) continue
      names.add(folder)
      added.push({ kind: 'directory', name: Buffer.from(folder) })
    }
    names.add(file.layerPath)
    const { size } = fsSync.statSync(file.source)
    added.push({
      kind: 'file',
      name: Buffer.from(file.layerPath),
      source: file.source,
      size,
      mode: file.mode
    })
  }
  return [...entries, ...added].sort((a, b) => Buffer.compare(a.name, b.name))
}
