import { findRuntime, type Architecture, type Target } from '../../src/facts.js'

/** The build target of a runtime and architecture, as inputs.ts makes it. */
export function targetOf(runtime = 'python3.12', architecture: Architecture = 'x86_64'): Target {
  const facts = findRuntime(runtime)
  if (!facts) throw new Error(`no runtime ${runtime} in facts.ts`)
  return { runtime: facts, architecture }
}
