import { LIMITS } from '../facts.js'
import { largestFirst, type LayerPackage } from './site.js'
import type { LayerZip } from './zip/index.js'

/**
 * Size limits, checked before anything leaves the runner: over 250 MB unzipped no function
 * can use the layer; over 50 MB zipped it can only be published through S3.
 */
export function checkSize(
  zip: Pick<LayerZip, 'zipSize' | 'unzippedSize'>,
  packages: LayerPackage[],
  options: { publish: boolean; s3Bucket?: string }
): { errors: string[]; notices: string[] } {
  const errors: string[] = []
  const notices: string[] = []
  if (zip.unzippedSize > LIMITS.unzippedBytes) {
    errors.push(
      `the layer is ${formatBytes(zip.unzippedSize)} unzipped, above Lambda's ${formatBytes(LIMITS.unzippedBytes)} for a function and all its layers; largest packages: ${biggest(packages)}`
    )
  }
  if (zip.zipSize > LIMITS.directUploadBytes) {
    const over = `the layer zip is ${formatBytes(zip.zipSize)}, above the ${formatBytes(LIMITS.directUploadBytes)} direct-upload limit`
    if (options.publish && !options.s3Bucket) {
      errors.push(
        `${over}: set s3-bucket (a bucket in each target region) so it can be published through S3; largest packages: ${biggest(packages)}`
      )
    } else {
      notices.push(
        `${over}; publishing goes through S3${options.s3Bucket ? '' : ' (set s3-bucket)'}`
      )
    }
  }
  return { errors, notices }
}

function biggest(packages: LayerPackage[]): string {
  return largestFirst(packages)
    .slice(0, 5)
    .map(p => `${p.name} ${p.version} (${formatBytes(p.bytes)})`)
    .join(', ')
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}
