// keep-versions: deletes layer versions of this build's runtime and architecture older than the
// newest N. A version that the run just published (or reused) or that a named function still
// uses is kept, with the reason, because deleting it breaks the next deploy that references it.
import {
  DeleteLayerVersionCommand,
  paginateListLayerVersions,
  type Architecture,
  type LambdaClient,
  type Runtime
} from '@aws-sdk/client-lambda'
import * as core from '@actions/core'
import { awsCall } from './errors.js'

export interface CleanupResult {
  deleted: number[]
  kept: Array<{ version: number; reason: string }>
}

export interface CleanupPlanInput {
  versions: readonly number[]
  keep: number
  /** The version this run published or reused. */
  current: number
  /** Version → the named functions whose layer list holds it. */
  inUse: ReadonlyMap<number, readonly string[]>
  /** Set when some function's layers are unknown (its read failed): then nothing is deleted. */
  unknownUse?: string
}

/** Which versions to delete and which to keep (newest first), and why each is kept. */
export function planCleanup(input: CleanupPlanInput): CleanupResult {
  const newestFirst = [...new Set(input.versions)].sort((a, b) => b - a)
  const result: CleanupResult = { deleted: [], kept: [] }
  newestFirst.forEach((version, index) => {
    const users = input.inUse.get(version)
    if (version === input.current) {
      result.kept.push({ version, reason: 'the version this run published or reused' })
    } else if (index < input.keep) {
      result.kept.push({ version, reason: `among the newest ${input.keep}` })
    } else if (users?.length) {
      result.kept.push({ version, reason: `still used by ${users.join(', ')}` })
    } else if (input.unknownUse) {
      result.kept.push({ version, reason: input.unknownUse })
    } else {
      result.deleted.push(version)
    }
  })
  return result
}

/** ListLayerVersions filters: the versions of one build (runtime and architecture) only. */
export interface LayerLineage {
  CompatibleRuntime?: Runtime
  CompatibleArchitecture?: Architecture
}

/**
 * Every version number of the layer in the lineage, following ListLayerVersions' Marker
 * paging. Lambda lists a version under a filter only when it names that runtime or
 * architecture, so another build's versions are never counted or deleted.
 */
export async function listLayerVersionNumbers(
  client: LambdaClient,
  region: string,
  layerName: string,
  lineage: LayerLineage = {}
): Promise<number[]> {
  return awsCall(
    { action: 'lambda:ListLayerVersions', resource: `layer ${layerName}`, region },
    async () => {
      const versions: number[] = []
      for await (const page of paginateListLayerVersions(
        { client, pageSize: 50 },
        { LayerName: layerName, ...lineage }
      )) {
        for (const item of page.LayerVersions ?? []) {
          if (item.Version !== undefined) versions.push(item.Version)
        }
      }
      return versions
    }
  )
}

export async function cleanupLayerVersions(
  client: LambdaClient,
  region: string,
  layerName: string,
  { lineage, ...plan }: Omit<CleanupPlanInput, 'versions'> & { lineage?: LayerLineage }
): Promise<CleanupResult> {
  const versions = await listLayerVersionNumbers(client, region, layerName, lineage)
  const result = planCleanup({ ...plan, versions })
  for (const version of result.deleted) {
    await awsCall(
      {
        action: 'lambda:DeleteLayerVersion',
        resource: `layer ${layerName} version ${version}`,
        region
      },
      () =>
        client.send(new DeleteLayerVersionCommand({ LayerName: layerName, VersionNumber: version }))
    )
    core.info(`${region}: deleted ${layerName} version ${version}`)
  }
  return result
}
