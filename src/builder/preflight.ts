// What fails in seconds before pip runs: an index that cannot be reached, a python without a
// usable pip, import-check: true without an interpreter to run it.
import * as core from '@actions/core'
import type { ActionInputs } from '../inputs.js'
import { redact } from '../secrets.js'
import type { ImportCheckInterpreter } from './import-check.js'
import { findInterpreter } from './interpreter.js'
import { checkPip, overriddenPipVariables } from './pip.js'

/** What the preflight found on the runner, for the build. */
export interface BuildPreflight {
  /** The python that runs pip, by its own path (a shim resolved once, not at every start). */
  python: string
  checkInterpreter: ImportCheckInterpreter
}

/** The build's early checks, in the order a user would fix them. */
export async function preflightBuild(inputs: ActionInputs): Promise<BuildPreflight> {
  // the three wait on a network reply and two Python start-ups: run together, told in order
  const [indexes, pip, interpreter] = await Promise.allSettled([
    checkIndexes(inputs),
    checkPip(inputs.python),
    findImportCheckInterpreter(inputs)
  ])
  if (indexes.status === 'rejected') throw indexes.reason
  if (pip.status === 'rejected') throw pip.reason
  for (const name of overriddenPipVariables()) {
    core.warning(
      `${name} is set on the runner; the action sets that pip option itself (from the inputs), so pip does not get it`
    )
  }
  if (interpreter.status === 'rejected') throw interpreter.reason
  return { python: pip.value.executable, checkInterpreter: interpreter.value }
}

/** Looked for before any work, so that import-check: true without one fails first. */
export async function findImportCheckInterpreter(
  inputs: Pick<ActionInputs, 'importCheck' | 'target' | 'python'>
): Promise<ImportCheckInterpreter> {
  if (inputs.importCheck === 'false') return undefined
  const found = await findInterpreter(inputs.target, inputs.python)
  if (!found.interpreter && inputs.importCheck === 'true') {
    throw new Error(
      `import-check: true, but there is ${found.reason}; install Python ${inputs.target.runtime.pythonVersion} (actions/setup-python) or set import-check: auto`
    )
  }
  return found
}

/**
 * Fails fast, naming the input, when an index URL given to the action cannot be reached or
 * refuses the credentials inside it: pip would otherwise retry for minutes, or skip the index
 * in silence, and then blame the first requirement. Anything pip might still get past is left
 * to pip, whose failure the build explains.
 */
export async function checkIndexes(
  inputs: { indexUrl?: string; extraIndexUrls: string[] },
  timeoutMs = 15_000
): Promise<void> {
  const urls: Array<[string, string]> = [
    ...(inputs.indexUrl ? [['index-url', inputs.indexUrl] as [string, string]] : []),
    ...inputs.extraIndexUrls.map(url => ['extra-index-url', url] as [string, string])
  ]
  await Promise.all(urls.map(([input, url]) => reach(input, url, timeoutMs)))
}

async function reach(input: string, url: string, timeoutMs: number): Promise<void> {
  const parsed = new URL(url)
  if (parsed.protocol === 'file:') return
  // behind a proxy only pip knows how to get out; leave the judgement to it
  if (
    process.env.HTTPS_PROXY ||
    process.env.https_proxy ||
    process.env.HTTP_PROXY ||
    process.env.http_proxy
  )
    return
  // fetch refuses credentials inside the URL; send them as pip would, in a header
  const headers: Record<string, string> = {}
  const withCredentials = parsed.username !== '' || parsed.password !== ''
  if (withCredentials) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')}`
    parsed.username = ''
    parsed.password = ''
  }
  let status: number
  try {
    const response = await fetch(parsed, {
      headers,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual'
    })
    status = response.status
    await response.body?.cancel()
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause
    // fetch refuses ports browsers block (6666, 10080, ...), which pip uses: let pip judge
    if (cause?.message === 'bad port') return
    const why = cause?.code ?? cause?.message ?? (error as Error).message
    throw new Error(
      `${input}: cannot reach ${redact(url)} (${why}); check the URL and the runner's network`
    )
  }
  // pip sends these same credentials; without any, its netrc or keyring may still get in, and a
  // 403 or 404 at the root can hide project pages pip can read, so those go on to pip
  if (status === 401 && withCredentials) {
    throw new Error(
      `${input}: ${redact(url)} answered 401 Unauthorized to the credentials in the URL; check them (a token may have expired)`
    )
  }
}
