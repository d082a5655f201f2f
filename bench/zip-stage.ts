// One zip writer on one installed tree, in a process of its own so that its peak RSS and CPU
// time are its own. Prints one JSON line: the seconds spent inside the writer, without Node's
// start-up and tsx's compile. The action no longer zips a tree (it copies the wheels' own
// compressed entries): `ours` is its writer compressing every file of the tree anew, the path
// it takes for the files it writes itself, against the same work by the other two.
//
//   tsx bench/zip-stage.ts ours|adm-zip SITE_DIR ZIP_PATH PREFIX

import AdmZip from 'adm-zip'
import fs from 'node:fs/promises'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { writeAssembledZip } from '../src/builder/assemble.js'
import type { LayerFile } from '../src/builder/layout.js'

export interface ZipStageResult {
  writer: string
  /** Seconds inside the writer. */
  seconds: number
}

async function main(): Promise<void> {
  const [writer, siteDir, zipPath, prefix] = process.argv.slice(2)
  if (!writer || !siteDir || !zipPath || prefix === undefined) {
    throw new Error('usage: tsx bench/zip-stage.ts ours|adm-zip SITE_DIR ZIP_PATH PREFIX')
  }
  const start = performance.now()
  if (writer === 'ours') {
    await writeAssembledZip(await treeFiles(siteDir), zipPath, { prefix })
  } else if (writer === 'adm-zip') {
    // adm-zip's documented way to zip a folder: everything is read and deflated in memory.
    const zip = new AdmZip()
    zip.addLocalFolder(siteDir, prefix.replace(/\/$/, ''))
    await zip.writeZipPromise(zipPath)
  } else {
    throw new Error(`unknown zip writer ${writer}: use ours or adm-zip`)
  }
  const seconds = (performance.now() - start) / 1000
  const result: ZipStageResult = { writer, seconds }
  console.log(JSON.stringify(result))
}

/** Every regular file under the tree, read from disk when the writer reaches it. */
async function treeFiles(siteDir: string): Promise<LayerFile[]> {
  const entries = await fs.readdir(siteDir, { recursive: true, withFileTypes: true })
  return Promise.all(
    entries
      .filter(entry => entry.isFile())
      .map(async entry => {
        const file = path.join(entry.parentPath, entry.name)
        const { size, mode } = await fs.stat(file)
        return {
          path: path.relative(siteDir, file),
          mode: mode & 0o111 ? 0o755 : 0o644,
          size,
          owner: 'tree',
          source: { kind: 'file', file }
        } satisfies LayerFile
      })
  )
}

await main()
