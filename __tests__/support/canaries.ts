// Files a hostile wheel aims at: canaries outside the layer folder, which nothing the build
// does may remove, strip, read into the zip or name in a published RECORD.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'

const SOURCE = 'int answer(void) { return 42; }\n'

/** A shared object with debug info, so `strip` would visibly change it. */
export function debugSharedObject(dir: string, name: string): string {
  const source = path.join(dir, `${name}.c`)
  const output = path.join(dir, `${name}.so`)
  writeFileSync(source, SOURCE)
  execFileSync('gcc', ['-g', '-shared', '-fPIC', '-o', output, source])
  return output
}

export interface Canaries {
  dir: string
  /** What a RECORD line could make the build do to each: hash it, slim it away, strip it. */
  files: { knownHosts: string; source: string; sharedObject: string }
  /** Every canary file and its bytes when planted. */
  planted: Map<string, Buffer>
}

/** Plants the canaries in `dir` (created), outside any layer folder. */
export function plantCanaries(dir: string): Canaries {
  mkdirSync(dir, { recursive: true })
  const knownHosts = path.join(dir, 'known_hosts')
  writeFileSync(knownHosts, 'github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA\n')
  const build = path.join(dir, 'build')
  mkdirSync(build)
  const sharedObject = debugSharedObject(build, 'canary')
  const source = path.join(build, 'canary.c')
  const files = { knownHosts, source, sharedObject }
  const planted = new Map(Object.values(files).map(file => [file, readFileSync(file)]))
  return { dir, files, planted }
}

/** Canaries that are gone or changed (each named with what happened). */
export function harmedCanaries(canaries: Canaries): string[] {
  const harmed: string[] = []
  for (const [file, bytes] of canaries.planted) {
    let now: Buffer
    try {
      now = readFileSync(file)
    } catch {
      harmed.push(`${file} was removed`)
      continue
    }
    if (!now.equals(bytes)) harmed.push(`${file} was changed`)
  }
  return harmed
}
