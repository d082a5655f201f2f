// Uploads the layer zip as a workflow artifact, so a run's layer can be downloaded and inspected
// (or deployed by hand) without publishing it. The zip goes up as-is: @actions/artifact would
// otherwise wrap it in a second zip, and users would download a zip inside a zip.

import { copyFile, link, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { errorMessage } from '../errors.js'

export interface ArtifactUpload {
  id?: number
  url?: string
  /** The artifact's name as the run shows it: the uploaded file's name, ending in `.zip`. */
  name: string
  /** Set when nothing was uploaded because the action is not running in GitHub Actions. */
  warning?: string
}

/** Characters GitHub refuses in an artifact name (NTFS-unsafe ones and path separators). */
const FORBIDDEN_NAME_CHARACTERS = ['"', ':', '<', '>', '|', '*', '?', '\r', '\n', '\\', '/']

/** The name the artifact gets: the requested one with `.zip` added once. */
export function artifactFileName(name: string): string {
  return name.endsWith('.zip') ? name : `${name}.zip`
}

/** Throws when GitHub would refuse `name` as an artifact name; call it while reading inputs. */
export function checkArtifactName(name: string): void {
  const bad = FORBIDDEN_NAME_CHARACTERS.filter(c => name.includes(c))
  if (name.trim() === '' || name.trim() === '.zip') {
    throw new Error('artifact-name: must not be empty')
  }
  if (bad.length > 0) {
    throw new Error(
      `artifact-name: "${name}" contains ${bad.map(c => JSON.stringify(c)).join(', ')}; ` +
        `GitHub artifact names cannot contain any of ${FORBIDDEN_NAME_CHARACTERS.map(c => JSON.stringify(c)).join(' ')}`
    )
  }
}

/**
 * Uploads the layer zip as-is with `skipArchive`. With skipArchive the artifact takes the
 * file's name, so the zip is linked (or copied) to `<tmp>/<name>.zip` and that is uploaded.
 * Outside GitHub Actions it returns a warning instead of failing; other failures throw.
 */
export async function uploadLayerArtifact(
  zipPath: string,
  name: string,
  retentionDays?: number
): Promise<ArtifactUpload> {
  checkArtifactName(name)
  const fileName = artifactFileName(name)
  if (!process.env.ACTIONS_RUNTIME_TOKEN || !process.env.ACTIONS_RESULTS_URL) {
    return {
      name: fileName,
      warning:
        'upload-artifact: not running in GitHub Actions (no ACTIONS_RUNTIME_TOKEN), so the layer ' +
        `zip was not uploaded; it is at ${zipPath}`
    }
  }

  const staging = await mkdtemp(
    path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'layer-artifact-')
  )
  try {
    const file = path.join(staging, fileName)
    await linkOrCopy(zipPath, file)
    // loaded only when asked for: it is most of the bundle's start-up memory
    const { DefaultArtifactClient } = await import('@actions/artifact')
    const { id } = await new DefaultArtifactClient().uploadArtifact(fileName, [file], staging, {
      skipArchive: true,
      ...(retentionDays === undefined ? {} : { retentionDays })
    })
    return { id, url: artifactUrl(id), name: fileName }
  } catch (error) {
    throw new Error(
      `upload-artifact: could not upload the layer zip as artifact "${fileName}": ${errorMessage(error)}`,
      { cause: error }
    )
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}

/** The artifact's page in the run, when the runner's GITHUB_* variables say where that is. */
function artifactUrl(id: number | undefined): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: run } = process.env
  if (id === undefined || !server || !repo || !run) return undefined
  return `${server.replace(/\/+$/, '')}/${repo}/actions/runs/${run}/artifacts/${id}`
}

// A hard link costs nothing for a zip of hundreds of MB; RUNNER_TEMP may sit on another
// file system than the zip, and then only a copy works.
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to)
  } catch {
    await copyFile(from, to)
  }
}
