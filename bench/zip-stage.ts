// One zip writer on one installed tree, in a process of its own so that its peak RSS and CPU
// time are its own. Prints one JSON line: the seconds spent inside the writer, without Node's
// start-up and tsx's compile.
//
//   tsx bench/zip-stage.ts ours|adm-zip SITE_DIR ZIP_PATH PREFIX

import AdmZip from 'adm-zip'
import { performance } from 'node:perf_hooks'
import { writeLayerZip } from '../src/builder/zip/index.js'

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
    await writeLayerZip(siteDir, zipPath, { prefix, onWarning: message => console.error(message) })
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

await main()
