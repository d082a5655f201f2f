// Local projects (`./libs/common`, a uv workspace member, a lock's path dependency): each is
// built with pip into a wheel on the runner, the way a pure sdist is, and accepted only when
// pure. pip install then gets the wheels by file URL, beside the user's requirements.
import * as core from '@actions/core'
import { createHash } from 'node:crypto'
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { WHEEL_MACHINE, cpythonTag, type Target } from '../facts.js'
import { workspacePath, type LocalProject } from '../sources/common.js'
import { canonicalName } from '../sources/pep508.js'
import { annotate } from './annotations.js'
import {
  describeTarget,
  pipError,
  pipWheelArgs,
  runPip,
  unresolvableRequirement,
  type PipInstall
} from './pip.js'

/** A local project built into a pure wheel. */
export interface LocalWheel {
  /** Canonical name and version, from the wheel's own metadata (its file name). */
  name: string
  version: string
  wheel: string
  sha256: string
  project: LocalProject
}

export interface LocalBuilds {
  wheels: LocalWheel[]
  /** A requirements file naming each wheel by file URL (with its hash in hash-checking mode). */
  requirementsFile?: string
}

type LocalBuildInput = Pick<
  PipInstall,
  'python' | 'target' | 'workDir' | 'indexUrl' | 'extraIndexUrls' | 'pipArgs'
>

/** Builds every local project, one after the other, and writes the requirements that add them. */
export async function buildLocalProjects(
  install: LocalBuildInput,
  projects: LocalProject[],
  hashed: boolean
): Promise<LocalBuilds> {
  if (projects.length === 0) return { wheels: [] }
  const wheels: LocalWheel[] = []
  for (const [index, project] of projects.entries()) {
    wheels.push(
      await buildLocalProject(install, project, path.join(install.workDir, `local-${index}`))
    )
  }
  const lines = wheels.map(built => {
    const extras = built.project.extras.length ? `[${built.project.extras.join(',')}]` : ''
    const hash = hashed ? ` --hash=sha256:${built.sha256}` : ''
    // a file URL: no path of the runner's (a space, ` #`) has to survive pip's line parsing
    return `${built.name}${extras} @ ${pathToFileURL(built.wheel).href}${hash}`
  })
  const requirementsFile = path.join(install.workDir, 'requirements.local.txt')
  await writeFile(requirementsFile, lines.join('\n') + '\n')
  return { wheels, requirementsFile }
}

async function buildLocalProject(
  install: LocalBuildInput,
  project: LocalProject,
  wheelDir: string
): Promise<LocalWheel> {
  const where = `requirements: ${workspacePath(project.origin.file)} line ${project.origin.line}: ${project.written}`
  const refuse = (message: string): Error => {
    annotate('error', message, project.origin)
    return new Error(message)
  }
  await mkdir(wheelDir, { recursive: true })
  // build isolation installs the backend (setuptools, hatchling) from the same indexes
  const output = await core.group(`pip wheel ${workspacePath(project.path)} (local project)`, () =>
    runPip(install.python, pipWheelArgs(install, wheelDir, [project.path]))
  )
  if (output.exitCode !== 0) {
    const missing = unresolvableRequirement(output.stderr)
    if (missing)
      throw refuse(
        `${where}: its build backend needs ${missing.requirement}, which no index has (index-url, extra-index-url or pip's configuration); publish it there, or add an index that has it`
      )
    throw refuse(`${where}: building it failed: ${pipError(output.stderr)}`)
  }
  const file = (await readdir(wheelDir)).find(name => name.endsWith('.whl'))
  if (!file) throw refuse(`${where}: pip built no wheel from it`)
  const [distribution, version] = file.split('-')
  const name = canonicalName(distribution)
  if (!/-none-any\.whl$/.test(file))
    throw refuse(nativeProjectMessage(where, name, version, file, install.target))
  if (project.name && project.name !== name)
    throw refuse(
      `${where}: the lock names it ${project.name}, but it builds ${name}; regenerate the lock`
    )
  if (project.editable)
    core.notice(
      `${project.written}: built ${name} ${version} as a normal wheel; a layer holds installed files, not a link to the workspace`
    )
  const wheel = path.join(wheelDir, file)
  const sha256 = createHash('sha256')
    .update(await readFile(wheel))
    .digest('hex')
  return { name, version, wheel, sha256, project }
}

/** The native sdist's refusal (builder/pip.ts), worded for a project of the workspace. */
function nativeProjectMessage(
  where: string,
  name: string,
  version: string,
  wheel: string,
  target: Target
): string {
  return `${where}: ${name} ${version} has native code (pip built ${wheel}), which cannot be built for Lambda on this runner; build it in an Amazon Linux container, or publish manylinux wheels for ${cpythonTag(target.runtime)} ${WHEEL_MACHINE[target.architecture]} to an index and require it by name (${describeTarget(target)})`
}
