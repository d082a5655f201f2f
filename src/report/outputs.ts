// Every output of the action (action.yml `outputs:`), set from this one file and each once: the
// build's as soon as the zip exists, the artifact's after the upload, the deploy's at the end.
import * as core from '@actions/core'
import type { AttachResult } from '../aws/attach.js'
import type { DeployResult } from '../aws/deploy.js'
import type { BuildReport } from '../builder/index.js'
import { largestFirst } from '../builder/site.js'
import type { ArtifactUpload } from './artifact.js'

export function setBuildOutputs(report: BuildReport): void {
  setOutputs(buildOutputs(report))
}

export function setArtifactOutputs(upload: ArtifactUpload): void {
  setOutputs({
    ...(upload.id === undefined ? {} : { 'artifact-id': String(upload.id) }),
    ...(upload.url ? { 'artifact-url': upload.url } : {})
  })
}

export function setDeployOutputs(result: DeployResult): void {
  setOutputs(deployOutputs(result))
}

export function buildOutputs(report: BuildReport): Record<string, string> {
  return {
    'zip-path': report.zip.zipPath,
    'code-sha256': report.zip.codeSha256,
    'zip-size': String(report.zip.zipSize),
    'unzipped-size': String(report.zip.unzippedSize),
    packages: JSON.stringify(
      largestFirst(report.packages).map(p => ({ name: p.name, version: p.version, bytes: p.bytes }))
    )
  }
}

/**
 * The deploy's outputs. layer-arn, layer-version-arn and layer-version are the first region's
 * (the first of `regions` as given; results keep that order), empty when it failed: never
 * another region's ARN in its place. `regions` says what each region got.
 * `code-sha256` is the build's: Lambda stored the same bytes, or publishing failed.
 */
export function deployOutputs(result: DeployResult): Record<string, string> {
  const first = result.regions[0]?.layer
  const regions = Object.fromEntries(
    result.regions
      .filter(region => region.layer)
      .map(region => [
        region.region,
        { layerVersionArn: region.layer?.layerVersionArn, published: region.layer?.published }
      ])
  )
  const multiRegion = new Set(result.regions.map(region => region.region)).size > 1
  const functions = Object.fromEntries(
    result.regions.flatMap(region =>
      region.functions.map(fn => [
        // A plain name is attached in each region; the key tells the copies apart.
        multiRegion && !fn.function.startsWith('arn:')
          ? `${fn.region}:${fn.function}`
          : fn.function,
        {
          before: fn.before,
          after: fn.after,
          status: fn.status,
          ...(fn.error ? { error: fn.error } : {}),
          ...releaseFacts(fn)
        }
      ])
    )
  )
  return {
    'layer-arn': first?.layerArn ?? '',
    'layer-version-arn': first?.layerVersionArn ?? '',
    'layer-version': first ? String(first.version) : '',
    published: String(result.regions.some(region => region.layer?.published)),
    regions: JSON.stringify(regions),
    functions: JSON.stringify(functions)
  }
}

/**
 * What a function's entry adds to the four fields it always had (kept as they were, so
 * workflows reading them go on working): found through `functions: *`, why it was left alone,
 * and with an alias or a smoke-test payload the version published, the alias and the smoke test.
 */
function releaseFacts(fn: AttachResult): Record<string, unknown> {
  const release = fn.release
  const smoke = release?.smoke
  return {
    ...(fn.discovered ? { discovered: true } : {}),
    ...(fn.status === 'skipped' && fn.error ? { reason: fn.error } : {}),
    ...(release?.version ? { version: release.version } : {}),
    ...(release?.alias ? { alias: { ...release.alias } } : {}),
    ...(smoke
      ? {
          smoke: {
            passed: smoke.passed,
            qualifier: smoke.qualifier,
            durationMs: smoke.durationMs,
            ...(smoke.errorType ? { errorType: smoke.errorType } : {}),
            ...(smoke.errorMessage ? { errorMessage: smoke.errorMessage } : {})
          }
        }
      : {}),
    ...(release?.rolledBack ? { rolledBack: true } : {})
  }
}

function setOutputs(outputs: Record<string, string>): void {
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value)
}
