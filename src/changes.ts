// What a new layer changes against the version published before it: packages added, removed,
// upgraded or downgraded, size per package and in total, and packages whose native code moved
// (other wheel tags, other shared objects). Pure: the builder reads the manifests, the AWS half
// finds the previous version, the report shows the result.
import { comparePep440Versions, parseVersion } from './sources/markers.js'

export interface ManifestPackage {
  /** Canonical name. */
  name: string
  version: string
  /** Unzipped bytes of the entries the package owns (its folders, modules and dist-info). */
  bytes: number
  /** `Tag:` lines of its WHEEL file: Python, ABI and platform (the glibc floor) it was built for. */
  wheelTags: string[]
  /** Shared object path (relative to the site root) → CRC-32 from the central directory. */
  sharedObjects: Record<string, number>
}

export interface LayerManifest {
  packages: ManifestPackage[]
  /** Bytes of entries no package owns. */
  otherBytes: number
  unzippedSize: number
  zipSize: number
  fileCount: number
}

export type ChangeKind = 'added' | 'removed' | 'upgraded' | 'downgraded' | 'rebuilt' | 'unchanged'

export interface PackageChange {
  name: string
  kind: ChangeKind
  before?: { version: string; bytes: number }
  after?: { version: string; bytes: number }
  /** after − before, bytes unzipped. */
  bytesDelta: number
}

/** A package present before and after whose native side changed. */
export interface NativeChange {
  name: string
  /** Wheel tags before → after when they differ (glibc floor, CPython ABI). */
  tagsBefore: string[]
  tagsAfter: string[]
  sharedObjectsAdded: string[]
  sharedObjectsRemoved: string[]
  sharedObjectsChanged: string[]
}

export interface LayerChanges {
  /** Every package of either side, changed ones first, then by name. */
  packages: PackageChange[]
  native: NativeChange[]
  unzippedBefore: number
  unzippedAfter: number
  zipBefore: number
  zipAfter: number
  /** Nothing a function would notice changed. */
  identical: boolean
}

const KIND_ORDER: ChangeKind[] = [
  'added',
  'removed',
  'upgraded',
  'downgraded',
  'rebuilt',
  'unchanged'
]

export function compareLayers(before: LayerManifest, after: LayerManifest): LayerChanges {
  const old = new Map(before.packages.map(pkg => [pkg.name, pkg]))
  const now = new Map(after.packages.map(pkg => [pkg.name, pkg]))
  const names = [...new Set([...old.keys(), ...now.keys()])].sort()
  const packages: PackageChange[] = []
  const native: NativeChange[] = []
  for (const name of names) {
    const was = old.get(name)
    const is = now.get(name)
    packages.push({
      name,
      kind: changeKind(was, is),
      ...(was ? { before: { version: was.version, bytes: was.bytes } } : {}),
      ...(is ? { after: { version: is.version, bytes: is.bytes } } : {}),
      bytesDelta: (is?.bytes ?? 0) - (was?.bytes ?? 0)
    })
    if (was && is) {
      const change = nativeChange(was, is)
      if (change) native.push(change)
    }
  }
  packages.sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind))
  return {
    packages,
    native,
    unzippedBefore: before.unzippedSize,
    unzippedAfter: after.unzippedSize,
    zipBefore: before.zipSize,
    zipAfter: after.zipSize,
    identical:
      packages.every(p => p.kind === 'unchanged' && p.bytesDelta === 0) &&
      native.length === 0 &&
      before.unzippedSize === after.unzippedSize
  }
}

function changeKind(was?: ManifestPackage, is?: ManifestPackage): ChangeKind {
  if (!was) return 'added'
  if (!is) return 'removed'
  const order = compareVersionText(was.version, is.version)
  if (order < 0) return 'upgraded'
  if (order > 0) return 'downgraded'
  return sameSharedObjects(was, is) && was.bytes === is.bytes ? 'unchanged' : 'rebuilt'
}

/** PEP 440 order; versions it cannot parse compare as text. */
export function compareVersionText(a: string, b: string): number {
  const left = parseVersion(a)
  const right = parseVersion(b)
  if (left && right) return comparePep440Versions(left, right)
  return a === b ? 0 : a < b ? -1 : 1
}

function sameSharedObjects(a: ManifestPackage, b: ManifestPackage): boolean {
  const keys = Object.keys(a.sharedObjects)
  return (
    keys.length === Object.keys(b.sharedObjects).length &&
    keys.every(key => a.sharedObjects[key] === b.sharedObjects[key])
  )
}

function nativeChange(was: ManifestPackage, is: ManifestPackage): NativeChange | undefined {
  const tagsDiffer = [...was.wheelTags].sort().join() !== [...is.wheelTags].sort().join()
  const before = was.sharedObjects
  const after = is.sharedObjects
  const added = Object.keys(after).filter(file => !(file in before))
  const removed = Object.keys(before).filter(file => !(file in after))
  const changed = Object.keys(after).filter(file => file in before && before[file] !== after[file])
  // a pure package's tag moving (py3 → py2.py3) says nothing about native code
  const hasNative = Object.keys(before).length + Object.keys(after).length > 0
  if (!hasNative || (!tagsDiffer && !added.length && !removed.length && !changed.length)) {
    return undefined
  }
  return {
    name: is.name,
    tagsBefore: tagsDiffer ? was.wheelTags : [],
    tagsAfter: tagsDiffer ? is.wheelTags : [],
    sharedObjectsAdded: added.sort(),
    sharedObjectsRemoved: removed.sort(),
    sharedObjectsChanged: changed.sort()
  }
}

/**
 * The glibc a wheel asks for, from its tags (`manylinux_2_28_x86_64` → 2.28): the lowest level
 * it lists, since it runs wherever any of its tags does.
 */
export function glibcFloor(tags: readonly string[]): string | undefined {
  let best: [number, number] | undefined
  for (const tag of tags) {
    for (const platform of tag.split('-').at(-1)?.split('.') ?? []) {
      const level = manylinuxLevel(platform)
      if (level && (!best || level[0] < best[0] || (level[0] === best[0] && level[1] < best[1]))) {
        best = level
      }
    }
  }
  return best ? `${best[0]}.${best[1]}` : undefined
}

const LEGACY_MANYLINUX: Record<string, [number, number]> = {
  manylinux1: [2, 5],
  manylinux2010: [2, 12],
  manylinux2014: [2, 17]
}

function manylinuxLevel(platform: string): [number, number] | undefined {
  const modern = /^manylinux_(\d+)_(\d+)_/.exec(platform)
  if (modern) return [Number(modern[1]), Number(modern[2])]
  const legacy = /^(manylinux\d+)_/.exec(platform)
  return legacy ? LEGACY_MANYLINUX[legacy[1]!] : undefined
}

/** Which version of the layer a named function holds now, read with GetFunctionConfiguration. */
export interface FunctionUse {
  function: string
  region: string
  /** The layer version ARN of this layer on the function, if any. */
  layerVersionArn?: string
  /** Why its layers could not be read. */
  error?: string
}

/** The comparison in one region. */
export interface RegionChanges {
  region: string
  /** The newest version of the lineage, if there is one. */
  previous?: { version: number; layerVersionArn: string }
  /** Undefined when there is nothing to compare with, or it could not be read (see error). */
  changes?: LayerChanges
  functions: FunctionUse[]
  /** Bytes of the previous zip read over HTTP range requests. */
  bytesRead: number
  error?: string
}

/** What a plan (or the publish after it) changes, per region. */
export interface ChangesReport {
  mode: 'plan' | 'publish'
  layerName: string
  after: LayerManifest
  regions: RegionChanges[]
  /** Why no region could be compared at all (no credentials on a fork's pull request, say). */
  unavailable?: string
}
