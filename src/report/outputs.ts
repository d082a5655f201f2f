// Every output of the action (action.yml `outputs:`), set from this one file and each once: the
// build's as soon as the zip exists, the artifact's after the upload, the deploy's at the end.
import * as core from '@actions/core'
import type { AttachResult } from '../aws/attach.js'
import type { DeployResult } from '../aws/deploy.js'
import type { BuildReport } from '../builder/index.js'
import type { ChangesReport } from '../changes.js'
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

export function setChangesOutputs(report: ChangesReport, markdown: string): void {
  setOutputs(changesOutputs(report, markdown))
}

/**
 * `changes`: what the new layer changes against the published version, per region, as JSON a
 * later step can read (`fromJSON(steps.x.outputs.changes).markdown` is a ready PR comment).
 */
export function changesOutputs(report: ChangesReport, markdown: string): Record<string, string> {
  const versioned = (p: { name: string; version: string; bytes: number }) => ({
    name: p.name,
    version: p.version,
    bytes: p.bytes
  })
  const regions = report.regions.map(region => {
    const changes = region.changes
    const of = (kind: string) => changes?.packages.filter(p => p.kind === kind) ?? []
    const moved = (kind: string) =>
      of(kind).map(p => ({
        name: p.name,
        from: p.before?.version,
        to: p.after?.version,
        bytesDelta: p.bytesDelta
      }))
    return {
      region: region.region,
      previous: region.previous ?? null,
      ...(changes
        ? {
            added: of('added').map(p => ({
              name: p.name,
              version: p.after?.version,
              bytes: p.after?.bytes
            })),
            removed: of('removed').map(p => ({
              name: p.name,
              version: p.before?.version,
              bytes: p.before?.bytes
            })),
            upgraded: moved('upgraded'),
            downgraded: moved('downgraded'),
            rebuilt: moved('rebuilt'),
            native: changes.native,
            unzippedBefore: changes.unzippedBefore,
            unzippedAfter: changes.unzippedAfter,
            zipBefore: changes.zipBefore,
            zipAfter: changes.zipAfter,
            identical: changes.identical
          }
        : {}),
      functions: region.functions,
      bytesRead: region.bytesRead,
      ...(region.error ? { error: region.error } : {})
    }
  })
  return {
    changes: JSON.stringify({
      mode: report.mode,
      layerName: report.layerName,
      ...(report.unavailable ? { unavailable: report.unavailable } : {}),
      after: {
        zipSize: report.after.zipSize,
        unzippedSize: report.after.unzippedSize,
        packages: report.after.packages.map(versioned)
      },
      regions,
      markdown
    })
  }
}
