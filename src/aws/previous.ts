// The version a new build would replace, read without downloading it: GetLayerVersion's
// Content.Location is a presigned S3 URL, and S3 answers HTTP range requests, so the zip's
// central directory and its dist-info METADATA/WHEEL entries are all that crosses the wire.
// Read-only: lambda:ListLayerVersions, lambda:GetLayerVersion, lambda:GetFunctionConfiguration.
import { GetLayerVersionCommand, type LambdaClient } from '@aws-sdk/client-lambda'
import { readLayerManifest } from '../builder/manifest.js'
import type { ZipSource } from '../builder/zip/read.js'
import {
  compareLayers,
  type FunctionUse,
  type LayerManifest,
  type RegionChanges
} from '../changes.js'
import { mapLimit } from '../concurrency.js'
import { errorMessage } from '../errors.js'
import { layerArnOf, layerBaseName } from '../names.js'
import { readLayerArns } from './attach.js'
import { awsCall } from './errors.js'
import { listLineage, type Lineage } from './lineage.js'

export interface CompareRequest {
  layerName: string
  lineage: Lineage
  /** The new layer's manifest. */
  after: LayerManifest
  /** Top-level name → package, from the new build, applied to the old zip too. */
  owners: ReadonlyMap<string, string>
  /** Function names or ARNs placed in this region. */
  functions: readonly string[]
}

/** The comparison in one region; failures are recorded in `error`, never thrown. */
export async function compareRegion(
  lambda: LambdaClient,
  region: string,
  request: CompareRequest
): Promise<RegionChanges> {
  const result: RegionChanges = { region, functions: [], bytesRead: 0 }
  const [previous, functions] = await Promise.all([
    readPrevious(lambda, region, request).catch((error: unknown) => {
      result.error = errorMessage(error)
      return undefined
    }),
    readFunctionUse(lambda, region, request.layerName, request.functions)
  ])
  result.functions = functions
  if (previous) {
    result.previous = previous.version
    result.bytesRead = previous.bytesRead
    if (previous.manifest) result.changes = compareLayers(previous.manifest, request.after)
    if (previous.error) result.error = previous.error
  }
  return result
}

interface Previous {
  version: { version: number; layerVersionArn: string }
  manifest?: LayerManifest
  bytesRead: number
  error?: string
}

async function readPrevious(
  lambda: LambdaClient,
  region: string,
  { layerName, lineage, owners }: CompareRequest
): Promise<Previous | undefined> {
  const listed = await awsCall(
    { action: 'lambda:ListLayerVersions', resource: `layer ${layerName}`, region },
    () => listLineage(lambda, layerName, lineage, version => version.ours)
  )
  const newest = listed.find(version => version.ours)
  if (!newest) return undefined
  const detail = await awsCall(
    {
      action: 'lambda:GetLayerVersion',
      resource: `layer ${layerName} version ${newest.version}`,
      region
    },
    () =>
      lambda.send(
        new GetLayerVersionCommand({ LayerName: layerName, VersionNumber: newest.version })
      )
  )
  const version = {
    version: newest.version,
    layerVersionArn: detail.LayerVersionArn ?? `${layerName}:${newest.version}`
  }
  const location = detail.Content?.Location
  const size = detail.Content?.CodeSize
  if (!location || !size) {
    return { version, bytesRead: 0, error: 'GetLayerVersion gave no download location' }
  }
  const source = rangeSource(location, size)
  try {
    return { version, manifest: await readLayerManifest(source, owners), bytesRead: source.bytes() }
  } catch (error) {
    return {
      version,
      bytesRead: source.bytes(),
      error: `could not read version ${newest.version}'s zip: ${errorMessage(error)}`
    }
  }
}

/**
 * The presigned URL as a ZipSource that asks only for the bytes it needs; a server that ignores
 * Range (answers 200) is refused, so a plan never downloads a whole layer by accident.
 */
export function rangeSource(url: string, size: number): ZipSource & { bytes(): number } {
  let bytes = 0
  return {
    size,
    bytes: () => bytes,
    read: async (offset, length) => {
      const last = Math.min(size, offset + length) - 1
      if (last < offset) return Buffer.alloc(0)
      const response = await fetch(url, { headers: { Range: `bytes=${offset}-${last}` } })
      if (response.status !== 206) {
        await response.body?.cancel()
        // the URL is presigned: its query string is a credential and stays out of the message
        throw new Error(
          `the layer's download URL answered HTTP ${response.status} to a range request (${new URL(url).host})`
        )
      }
      const body = Buffer.from(await response.arrayBuffer())
      bytes += body.length
      return body
    }
  }
}

/** Which version of this layer each named function holds, from GetFunctionConfiguration. */
async function readFunctionUse(
  lambda: LambdaClient,
  region: string,
  layerName: string,
  functions: readonly string[]
): Promise<FunctionUse[]> {
  return mapLimit(functions, 4, async name => {
    try {
      const arns = await readLayerArns(lambda, name, region)
      const ours = arns.find(arn => layerBaseName(layerArnOf(arn)) === layerBaseName(layerName))
      return { function: name, region, ...(ours ? { layerVersionArn: ours } : {}) }
    } catch (error) {
      return { function: name, region, error: errorMessage(error) }
    }
  })
}
