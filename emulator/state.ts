// What the emulator remembers, kept apart per region as AWS keeps it.
import type { Architecture } from '../src/facts.js'

export interface PolicyStatement {
  Sid: string
  Effect: 'Allow'
  Principal: '*' | { AWS: string }
  Action: string
  Resource: string
  Condition?: { StringEquals: { 'aws:PrincipalOrgID': string } }
}

export interface LayerVersionState {
  layerName: string
  region: string
  version: number
  layerArn: string
  layerVersionArn: string
  description: string
  licenseInfo?: string
  compatibleRuntimes: string[]
  compatibleArchitectures: string[]
  /** base64(SHA-256(zip)), as Lambda reports it. */
  codeSha256: string
  /** Zipped bytes. */
  codeSize: number
  /** Sum of the entries' uncompressed sizes from the central directory. */
  unzippedSize: number
  createdDate: string
  content: Buffer
  policy: { revisionId: string; statements: PolicyStatement[] }
}

export interface LayerRecord {
  /** Never reused, even after every version is deleted. */
  nextVersion: number
  versions: Map<number, LayerVersionState>
}

export type LastUpdateStatus = 'Successful' | 'InProgress' | 'Failed'

/** What PublishVersion freezes of $LATEST: a version never changes afterwards. */
export interface FunctionVersionState {
  /** '1', '2', … */
  version: string
  runtime: string
  architecture: Architecture
  layers: string[]
  handler: string
  description: string
  timeout: number
  memorySize: number
  codeSha256: string
  revisionId: string
  lastModified: string
}

export interface AliasState {
  name: string
  /** A published version, or $LATEST. */
  functionVersion: string
  description: string
  revisionId: string
}

export interface FunctionState {
  readonly name: string
  readonly region: string
  readonly arn: string
  runtime: string
  architecture: Architecture
  /** Layer version ARNs in merge order. */
  layers: string[]
  /** The function's own code; counted unzipped against the 250 MB limit. */
  codeSize: number
  revisionId: string
  lastModified: string
  role: string
  handler: string
  description: string
  timeout: number
  memorySize: number
  /** Epoch ms until which LastUpdateStatus reads InProgress. */
  updateInProgressUntil: number
  /** Epoch ms until which State reads Pending (the function is still being created). */
  pendingUntil: number
  readonly state: 'Pending' | 'Active'
  /** Why the last update failed; LastUpdateStatus reads Failed once it is no longer InProgress. */
  updateFailure?: string
  readonly lastUpdateStatus: LastUpdateStatus
  /** The function's own files (path → text), run by Invoke; an echo handler when not given. */
  code: Record<string, string>
  codeSha256: string
  /** Published versions by number; the next one is `versions.size + 1` (never deleted here). */
  versions: Map<number, FunctionVersionState>
  aliases: Map<string, AliasState>
}

export interface S3ObjectMeta {
  etag: string
  lastModified: Date
  contentType: string
}

export interface RegionState {
  layers: Map<string, LayerRecord>
  functions: Map<string, FunctionState>
  buckets: Set<string>
  /** "bucket/key" → bytes. */
  objects: Map<string, Buffer>
  objectMeta: Map<string, S3ObjectMeta>
}

export class EmulatorState {
  private readonly regions = new Map<string, RegionState>()
  /** Functions whose next UpdateFunctionConfiguration ends Failed (the update-failed fault). */
  readonly failingUpdates = new Set<FunctionState>()

  constructor(
    readonly accountId: string,
    readonly updateDurationMs: number
  ) {}

  region(name: string): RegionState {
    let state = this.regions.get(name)
    if (!state) {
      state = {
        layers: new Map(),
        functions: new Map(),
        buckets: new Set(),
        objects: new Map(),
        objectMeta: new Map()
      }
      this.regions.set(name, state)
    }
    return state
  }

  /** The region that holds a bucket, if any does (bucket names are global). */
  bucketRegion(bucket: string): string | undefined {
    for (const [name, state] of this.regions) if (state.buckets.has(bucket)) return name
    return undefined
  }

  layerArn(region: string, layerName: string): string {
    return `arn:${partition(region)}:lambda:${region}:${this.accountId}:layer:${layerName}`
  }

  functionArn(region: string, functionName: string): string {
    return `arn:${partition(region)}:lambda:${region}:${this.accountId}:function:${functionName}`
  }
}

export function partition(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn'
  if (region.startsWith('us-gov-')) return 'aws-us-gov'
  return 'aws'
}
