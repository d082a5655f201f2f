// Layer names as the Lambda API takes them: a plain name, or a layer ARN that fixes the region.

/** The region a layer ARN names, or undefined for a plain name. */
export function layerArnRegion(layerName: string): string | undefined {
  return /^arn:[^:]+:lambda:([^:]+):\d{12}:layer:/.exec(layerName)?.[1]
}

export function layerBaseName(layerName: string): string {
  return layerName.startsWith('arn:') ? layerName.slice(layerName.lastIndexOf(':') + 1) : layerName
}
