import type { Architecture, RuntimeFacts } from './facts.js'

/** What the build aims at: one Lambda runtime on one architecture. */
export interface Target {
  runtime: RuntimeFacts
  architecture: Architecture
}

/** One distribution installed into the layer, as pip's report and its RECORD describe it. */
export interface LayerPackage {
  /** Canonical (PEP 503 normalised) name: lower case, runs of -_. become "-". */
  name: string
  version: string
  /** Named in the requirements file (true) or pulled in transitively (false). */
  requested: boolean
  /** Paths relative to the site directory (the folder that becomes `python/`), "/"-separated. */
  files: string[]
  /** Sum of the sizes of `files` on disk. */
  bytes: number
}

/** A problem found by verification, tied to the package and file that carries it. */
export interface Finding {
  package: string
  version: string
  /** Relative to the site directory. */
  file: string
  kind: 'architecture' | 'glibc' | 'python-abi' | 'not-elf'
  message: string
}
