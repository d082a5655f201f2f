// One layer name may carry several builds: python3.12 and python3.13 jobs, x86_64 and arm64
// jobs, one job that widened compatible-runtimes. A build's lineage is the versions it would
// have published itself: listed under its own target runtime and architecture, and recording
// exactly the runtimes and architectures it records. skip-unchanged reuses, and keep-versions
// deletes, only versions of the lineage; any other version belongs to another build.
import {
  paginateListLayerVersions,
  type Architecture,
  type LambdaClient,
  type LayerVersionsListItem,
  type Runtime
} from '@aws-sdk/client-lambda'
import type { Target } from '../facts.js'
import { awsErrorName } from './errors.js'

export interface Lineage {
  /** The build's target: what ListLayerVersions is filtered by. */
  target: Target
  /** What the build records on each version it publishes. */
  compatibleRuntimes: readonly string[]
  compatibleArchitectures: readonly string[]
}

/** A listed version of the layer; `ours` when it is of this build's lineage. */
export interface ListedVersion {
  version: number
  ours: boolean
  compatibleRuntimes: string[]
  compatibleArchitectures: string[]
}

/**
 * ListLayerVersions filters: the target's runtime and architecture. Lambda lists a version
 * under a filter when it records that runtime or architecture among others, so the filter
 * only narrows the list; `isOfLineage` decides. A build that leaves its own runtime out of
 * compatible-runtimes is filtered by the first one it records.
 */
export function lineageFilter(lineage: Lineage): {
  CompatibleRuntime?: Runtime
  CompatibleArchitecture?: Architecture
} {
  const { runtime, architecture } = lineage.target
  const filterRuntime = lineage.compatibleRuntimes.includes(runtime.name)
    ? runtime.name
    : lineage.compatibleRuntimes[0]
  const filterArchitecture = lineage.compatibleArchitectures.includes(architecture)
    ? architecture
    : lineage.compatibleArchitectures[0]
  return {
    ...(filterRuntime ? { CompatibleRuntime: filterRuntime as Runtime } : {}),
    ...(filterArchitecture ? { CompatibleArchitecture: filterArchitecture as Architecture } : {})
  }
}

/**
 * Of this lineage: the version records the same set of runtimes and of architectures as this
 * build does. A version another job widened (python3.12, python3.13) is never this python3.13
 * job's, even though python3.13 functions may use it.
 */
export function isOfLineage(
  item: Pick<LayerVersionsListItem, 'CompatibleRuntimes' | 'CompatibleArchitectures'>,
  lineage: Lineage
): boolean {
  return (
    sameSet(item.CompatibleRuntimes ?? [], lineage.compatibleRuntimes) &&
    sameSet(item.CompatibleArchitectures ?? [], lineage.compatibleArchitectures)
  )
}

/** Why a listed version is not this build's to reuse or delete. */
export function otherLineageReason(
  version: Pick<ListedVersion, 'compatibleRuntimes' | 'compatibleArchitectures'>
): string {
  const runtimes = version.compatibleRuntimes.join(', ') || 'no runtime'
  const architectures = version.compatibleArchitectures.join(', ') || 'no architecture'
  return `published for ${runtimes} on ${architectures} (another build's lineage)`
}

/**
 * Versions listed under the lineage's filter, newest first, following ListLayerVersions'
 * Marker paging; a layer never published lists nothing. `until` stops the paging early.
 */
export async function listLineage(
  client: LambdaClient,
  layerName: string,
  lineage: Lineage,
  until: (version: ListedVersion) => boolean = () => false
): Promise<ListedVersion[]> {
  const listed: ListedVersion[] = []
  try {
    for await (const page of paginateListLayerVersions(
      { client, pageSize: 50 },
      { LayerName: layerName, ...lineageFilter(lineage) }
    )) {
      for (const item of page.LayerVersions ?? []) {
        if (item.Version === undefined) continue
        const version: ListedVersion = {
          version: item.Version,
          ours: isOfLineage(item, lineage),
          compatibleRuntimes: item.CompatibleRuntimes ?? [],
          compatibleArchitectures: item.CompatibleArchitectures ?? []
        }
        listed.push(version)
        if (until(version)) return listed
      }
    }
  } catch (error) {
    if (awsErrorName(error) !== 'ResourceNotFoundException') throw error
  }
  return listed
}

export function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a)
  const right = new Set(b)
  return left.size === right.size && [...left].every(item => right.has(item))
}
