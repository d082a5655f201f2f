// The import check as a pipeline step: find a matching interpreter up front, put the runtime's
// SDK beside the layer when the layer left it out, import every module, and report.
import * as core from '@actions/core'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import {
  checkImports,
  describeImportFailure,
  findInterpreter,
  type Interpreter
} from './importcheck.js'
import type { ActionInputs } from './inputs.js'
import { installRequirements } from './pip.js'
import type { Exclusion } from './prune.js'
import type { BuildReport } from './report.js'

export type ImportCheckPython = { interpreter?: Interpreter; reason?: string } | undefined

/** Looked for before any work, so that import-check: true without one fails first. */
export async function importCheckPython(inputs: ActionInputs): Promise<ImportCheckPython> {
  if (inputs.importCheck === 'false') return undefined
  const found = await findInterpreter(inputs.target, inputs.python)
  if (!found.interpreter && inputs.importCheck === 'true') {
    throw new Error(
      `import-check: true, but there is ${found.reason}; install Python ${inputs.target.runtime.pythonVersion} (actions/setup-python) or set import-check: auto`
    )
  }
  return found
}

export async function runImportCheck(
  inputs: ActionInputs,
  python: ImportCheckPython,
  siteDir: string,
  packages: BuildReport['packages'],
  excluded: Exclusion[],
  workDir: string
): Promise<BuildReport['importCheck']> {
  if (!python) return { summary: 'off', failures: [] }
  const { interpreter, reason } = python
  if (!interpreter) {
    core.info(`import check skipped: ${reason}`)
    return { summary: `skipped: ${reason}`, failures: [] }
  }
  const sdkDir = await installExcludedSdk(inputs, excluded, workDir)
  const result = await core.group('import check', () =>
    checkImports({
      interpreter,
      siteDir,
      extraPaths: sdkDir ? [sdkDir] : [],
      packages,
      skip: inputs.importCheckSkip
    })
  )
  const failures = result.failures.map(describeImportFailure)
  for (const failure of failures) {
    if (inputs.verify === 'error') core.error(`import check: ${failure}`)
    else if (inputs.verify === 'warn') core.warning(`import check: ${failure}`)
  }
  const modules = `${result.checked.length} module${result.checked.length === 1 ? '' : 's'}`
  const skipped =
    result.skipped.length > 0
      ? `; not imported (import-check-skip): ${result.skipped.join(', ')}`
      : ''
  const summary =
    failures.length === 0
      ? `passed: ${modules} imported with ${interpreter.path} (${interpreter.version} ${interpreter.machine})${skipped}`
      : `${failures.length} of ${modules} failed to import${skipped}`
  return { summary, failures }
}

/**
 * The runtime's SDK was left out of the layer because Lambda provides it; the import check
 * needs it beside the layer, as Lambda will have it.
 */
async function installExcludedSdk(
  inputs: ActionInputs,
  excluded: Exclusion[],
  workDir: string
): Promise<string | undefined> {
  const sdk = excluded.filter(e => e.providedByRuntime)
  if (sdk.length === 0) return undefined
  const requirementsFile = path.join(workDir, 'runtime-sdk.txt')
  await writeFile(requirementsFile, sdk.map(e => `${e.name}==${e.version}\n`).join(''))
  const siteDir = path.join(workDir, 'runtime-sdk')
  await installRequirements({
    python: inputs.python,
    target: inputs.target,
    requirementsFile,
    siteDir,
    workDir: path.join(workDir, 'runtime-sdk-work'),
    indexUrl: inputs.indexUrl,
    extraIndexUrls: inputs.extraIndexUrls,
    pipArgs: [...inputs.pipArgs, '--no-deps']
  })
  return siteDir
}
