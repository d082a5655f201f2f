// keep-versions: deletes versions of this build's lineage (lineage.ts) older than the newest N.
// A version that the run just published (or reused), that a named function still uses, or that
// another build published is kept, with the reason, because deleting it breaks the next deploy
// that references it. The named functions are read again right before each delete: another
// deploy may have moved one onto an old version since the list was made.
import { DeleteLayerVersionCommand, type LambdaClient } from '@aws-sdk/client-lambda'
import * as core from '@actions/core'
import { awsCall } from './errors.js'
import { errorMessage } from '../errors.js'
import { listLineage, otherLineageReason, type Lineage, type ListedVersion } from './lineage.js'

export interface CleanupResult {
  deleted: number[]
  /** Newest first. */
  kept: Array<{ version: number; reason: string }>
  /** Why a delete failed; the versions after it were not tried. */
  error?: string
}

/** Which versions of the layer the named functions hold. */
export interface VersionUse {
  /** Version → the named functions whose layer list holds it. */
  inUse: ReadonlyMap<number, readonly string[]>
  /** Set when some function's layers are unknown (its read failed): then nothing is deleted. */
  unknownUse?: string
}

export interface CleanupPlanInput extends VersionUse {
  versions: readonly ListedVersion[]
  keep: number
  /** The version this run published or reused. */
  current: number
}

/** Which versions to delete and which to keep (newest first), and why each is kept. */
export function planCleanup(input: CleanupPlanInput): CleanupResult {
  const newestFirst = [...new Map(input.versions.map(v => [v.version, v])).values()].sort(
    (a, b) => b.version - a.version
  )
  const result: CleanupResult = { deleted: [], kept: [] }
  let ours = 0
  for (const listed of newestFirst) {
    const { version } = listed
    const users = input.inUse.get(version)
    // Only this lineage's versions count towards the newest N.
    const rank = listed.ours ? ours++ : -1
    if (version === input.current) {
      result.kept.push({ version, reason: 'the version this run published or reused' })
    } else if (!listed.ours) {
      result.kept.push({ version, reason: otherLineageReason(listed) })
    } else if (rank < input.keep) {
      result.kept.push({ version, reason: `among the newest ${input.keep}` })
    } else if (users?.length) {
      result.kept.push({ version, reason: `still used by ${users.join(', ')}` })
    } else if (input.unknownUse) {
      result.kept.push({ version, reason: input.unknownUse })
    } else {
      result.deleted.push(version)
    }
  }
  return result
}

export interface CleanupInput extends VersionUse {
  keep: number
  current: number
  lineage: Lineage
  /** The named functions' use read again, right before a delete. */
  useNow: () => Promise<VersionUse>
}

export async function cleanupLayerVersions(
  client: LambdaClient,
  region: string,
  layerName: string,
  { lineage, useNow, ...plan }: CleanupInput
): Promise<CleanupResult> {
  const versions = await awsCall(
    { action: 'lambda:ListLayerVersions', resource: `layer ${layerName}`, region },
    () => listLineage(client, layerName, lineage)
  )
  const planned = planCleanup({ ...plan, versions })
  const result: CleanupResult = { deleted: [], kept: [...planned.kept] }
  const pending = [...planned.deleted]
  for (let version = pending.shift(); version !== undefined; version = pending.shift()) {
    const now = await useNow()
    const users = now.inUse.get(version)
    if (users?.length || now.unknownUse) {
      const reason = users?.length
        ? `now used by ${users.join(', ')} (read again before deleting)`
        : (now.unknownUse as string)
      result.kept.push({ version, reason })
      core.info(`${region}: kept ${layerName} version ${version}: ${reason}`)
      continue
    }
    try {
      await awsCall(
        {
          action: 'lambda:DeleteLayerVersion',
          resource: `layer ${layerName} version ${version}`,
          region
        },
        () =>
          client.send(
            new DeleteLayerVersionCommand({ LayerName: layerName, VersionNumber: version })
          )
      )
    } catch (error) {
      // What was deleted so far still shows in the summary; the rest is kept, saying why.
      result.error = errorMessage(error)
      result.kept.push({ version, reason: 'the delete failed' })
      for (const rest of pending) {
        result.kept.push({
          version: rest,
          reason: `not tried after the delete of ${version} failed`
        })
      }
      break
    }
    result.deleted.push(version)
    core.info(`${region}: deleted ${layerName} version ${version}`)
  }
  result.kept.sort((a, b) => b.version - a.version)
  return result
}
