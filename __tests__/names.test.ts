import { describe, expect, it } from 'vitest'
import {
  layerArnOf,
  layerFileStem,
  layerVersionOf,
  ssmNameProblem,
  ssmParameterArn,
  ssmParameterName,
  ssmParameterNames
} from '../src/names.js'

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

describe('SSM parameter names (ssm-parameter)', () => {
  const values = { runtime: 'python3.12', architecture: 'arm64', layer: 'orders-deps' }

  it('fills every placeholder, per region', () => {
    const names = ssmParameterNames('/layers/{layer}/{runtime}/{architecture}/{region}', values, [
      'us-east-1',
      'eu-west-1'
    ])
    expect([...names]).toEqual([
      ['us-east-1', '/layers/orders-deps/python3.12/arm64/us-east-1'],
      ['eu-west-1', '/layers/orders-deps/python3.12/arm64/eu-west-1']
    ])
  })

  it('names an unknown placeholder and the ones it accepts', () => {
    expect(() => ssmParameterName('/layers/{stage}', { ...values, region: 'us-east-1' })).toThrow(
      'unknown placeholder {stage} in "/layers/{stage}"; use {region}, {runtime}, {architecture}, {layer}'
    )
  })

  it.each([
    ['/layers/orders deps', 'only letters, digits, _ . - and /'],
    ['/layers/{}x', 'unknown placeholder {}'],
    ['layers/orders', 'a hierarchy must start with /'],
    ['/layers//orders', 'empty'],
    ['/layers/', 'empty'],
    ['AWS-layer', 'starting with aws or ssm'],
    ['/ssm/layer', 'starting with aws or ssm'],
    [`/${Array(16).fill('l').join('/')}`, 'at most 15 hierarchy levels, this has 16']
  ])('refuses %s', (template, reason) => {
    expect(() => ssmParameterNames(template, values, ['us-east-1'])).toThrow(reason)
  })

  it('accepts 15 levels and a plain name, and names like /awsome-team/x that only look reserved further in', () => {
    const fifteen = `/${Array(15).fill('l').join('/')}`
    expect(ssmNameProblem(fifteen, 'us-east-1')).toBeUndefined()
    expect(ssmNameProblem('orders-deps.arn_1', 'us-east-1')).toBeUndefined()
    expect(ssmNameProblem('/teams/aws/deps', 'us-east-1')).toBeUndefined()
  })

  it('counts the ARN before the name toward the 1011 characters, so the region matters', () => {
    // arn:aws:ssm:us-east-2:111122223333:parameter/ is 45 characters, as the API reference says
    const fits = `/${'x'.repeat(1011 - 45)}`
    expect(ssmParameterArn(fits, 'us-east-2', '111122223333')).toHaveLength(1011)
    expect(ssmNameProblem(fits, 'us-east-2')).toBeUndefined()
    expect(ssmNameProblem(fits, 'ap-southeast-2')).toMatch(/ARN in ap-southeast-2 would be 1016/)
    expect(ssmParameterArn('/a', 'cn-north-1', '123456789012')).toBe(
      'arn:aws-cn:ssm:cn-north-1:123456789012:parameter/a'
    )
    expect(ssmParameterArn('a', 'us-gov-west-1', '123456789012')).toBe(
      'arn:aws-us-gov:ssm:us-gov-west-1:123456789012:parameter/a'
    )
  })
})
