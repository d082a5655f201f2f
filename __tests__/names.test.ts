import { describe, expect, it } from 'vitest'
import { layerArnOf, layerFileStem, layerVersionOf } from '../src/names.js'

describe('layerFileStem: the zip and the artifact share one name', () => {
  it('names the artifact after the layer, runtime and architecture', () => {
    expect(layerFileStem('numpy-layer', 'python3.12', 'arm64')).toBe('numpy-layer-python3.12-arm64')
  })

  it('falls back to python-layer when no layer name is given', () => {
    expect(layerFileStem(undefined, 'python3.13', 'x86_64')).toBe('python-layer-python3.13-x86_64')
  })

  it('takes the base name of a layer ARN', () => {
    expect(
      layerFileStem('arn:aws:lambda:eu-west-1:123456789012:layer:orders', 'python3.12', 'x86_64')
    ).toBe('orders-python3.12-x86_64')
  })
})

describe('layer version ARNs', () => {
  it('split into the layer and its version by one rule; no version is no version', () => {
    const arn = 'arn:aws:lambda:us-east-1:123456789012:layer:deps'
    expect(layerArnOf(`${arn}:4`)).toBe(arn)
    expect(layerVersionOf(`${arn}:4`)).toBe(4)
    expect(layerVersionOf(arn)).toBeUndefined()
    expect(layerArnOf(arn)).toBe(arn)
  })
})
