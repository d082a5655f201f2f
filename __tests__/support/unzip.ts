// Reads zips the way the tools users rely on do: Python's zipfile (what Lambda's own tooling
// and most users' scripts use) and Info-ZIP unzip. Never our own reader, so a test cannot
// agree with a bug in the writer.

import { execFileSync } from 'node:child_process'

export interface ZipListing {
  name: string
  /** external_attr >> 16: the Unix st_mode, type bits included. */
  mode: number
  externalAttr: number
  method: number
  size: number
  compressedSize: number
  dateTime: number[]
  flagBits: number
  createSystem: number
  /** Hex of the central directory extra field. */
  extra: string
}

const LIST_SCRIPT = `
import json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    print(json.dumps([{
        'name': i.filename, 'mode': i.external_attr >> 16, 'externalAttr': i.external_attr,
        'method': i.compress_type, 'size': i.file_size, 'compressedSize': i.compress_size,
        'dateTime': list(i.date_time), 'flagBits': i.flag_bits,
        'createSystem': i.create_system, 'extra': i.extra.hex()} for i in z.infolist()]))
`

const EXTRACT_SCRIPT = `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    z.extractall(sys.argv[2])
`

export function listZip(zipPath: string): ZipListing[] {
  return JSON.parse(python(['-c', LIST_SCRIPT, zipPath])) as ZipListing[]
}

/** Throws unless both `python3 -m zipfile -t` and `unzip -t` accept the archive. */
export function testZip(zipPath: string): void {
  // zipfile -t reports a bad CRC on stdout and still exits 0.
  const report = python(['-m', 'zipfile', '-t', zipPath])
  if (report.includes('corrupted')) throw new Error(`python3 -m zipfile -t: ${report.trim()}`)
  execFileSync('unzip', ['-tqq', zipPath], { encoding: 'utf8', stdio: 'pipe' })
}

export function extractZip(zipPath: string, destination: string): void {
  python(['-c', EXTRACT_SCRIPT, zipPath, destination])
}

function python(args: string[]): string {
  return execFileSync('python3', args, {
    encoding: 'utf8',
    stdio: 'pipe',
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, PYTHONIOENCODING: 'utf-8' }
  })
}
