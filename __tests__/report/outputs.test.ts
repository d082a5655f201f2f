import { describe, expect, it } from 'vitest'
import type { AttachResult } from '../../src/aws/attach.js'
import type { DeployResult } from '../../src/aws/deploy.js'
import { deployOutputs } from '../../src/report/outputs.js'

const LAYER = 'arn:aws:lambda:us-east-1:123456789012:layer:deps'

function deployed(functions: AttachResult[]): DeployResult {
  return {
    regions: [
      {
        region: 'us-east-1',
        layer: {
          region: 'us-east-1',
          layerArn: LAYER,
          layerVersionArn: `${LAYER}:2`,
          version: 2,
          published: true,
          codeSha256: 'abc='
        },
        shared: [],
        functions,
        errors: []
      }
    ],
    failures: []
  }
}

const functionsOf = (result: DeployResult) => JSON.parse(deployOutputs(result).functions)

describe('the functions output', () => {
  it('keeps the four fields a plain attach always had, and adds nothing to them', () => {
    const plain: AttachResult = {
      function: 'api',
      region: 'us-east-1',
      before: [`${LAYER}:1`],
      after: [`${LAYER}:2`],
      status: 'updated'
    }
    expect(functionsOf(deployed([plain]))).toEqual({
      api: { before: [`${LAYER}:1`], after: [`${LAYER}:2`], status: 'updated' }
    })
  })

  it('carries the version published, the alias moved and the smoke test of a release', () => {
    const released: AttachResult = {
      function: 'orders-api',
      region: 'us-east-1',
      before: [`${LAYER}:1`],
      after: [`${LAYER}:2`],
      status: 'updated',
      release: {
        version: '7',
        alias: { name: 'live', from: '6', to: '7', moved: true },
        smoke: { passed: true, qualifier: '7', durationMs: 412 }
      }
    }
    expect(functionsOf(deployed([released]))['orders-api']).toEqual({
      before: [`${LAYER}:1`],
      after: [`${LAYER}:2`],
      status: 'updated',
      version: '7',
      alias: { name: 'live', from: '6', to: '7', moved: true },
      smoke: { passed: true, qualifier: '7', durationMs: 412 }
    })
  })

  it('says a failed smoke test, its error, the alias left and the layers put back', () => {
    const failed: AttachResult = {
      function: 'orders-api',
      region: 'us-east-1',
      before: [`${LAYER}:1`],
      after: [`${LAYER}:1`],
      status: 'failed',
      error: 'smoke test failed: Runtime.ImportModuleError: No module named greeter',
      release: {
        version: '7',
        alias: { name: 'live', moved: false },
        smoke: {
          passed: false,
          qualifier: '7',
          durationMs: 98,
          errorType: 'Runtime.ImportModuleError',
          errorMessage: 'No module named greeter'
        },
        rolledBack: true
      }
    }
    const entry = functionsOf(deployed([failed]))['orders-api']
    expect(entry).toMatchObject({
      status: 'failed',
      error: 'smoke test failed: Runtime.ImportModuleError: No module named greeter',
      alias: { name: 'live', moved: false },
      smoke: {
        passed: false,
        errorType: 'Runtime.ImportModuleError',
        errorMessage: 'No module named greeter'
      },
      rolledBack: true
    })
  })

  it('lists a function found by functions: * and left alone, with the reason', () => {
    const unfit: AttachResult = {
      function: 'legacy',
      region: 'us-east-1',
      before: [`${LAYER}:1`],
      after: [`${LAYER}:1`],
      status: 'skipped',
      error: 'legacy runs python3.11 on x86_64; the layer is for python3.12 on x86_64.',
      discovered: true
    }
    expect(functionsOf(deployed([unfit])).legacy).toEqual({
      before: [`${LAYER}:1`],
      after: [`${LAYER}:1`],
      status: 'skipped',
      error: 'legacy runs python3.11 on x86_64; the layer is for python3.12 on x86_64.',
      discovered: true,
      reason: 'legacy runs python3.11 on x86_64; the layer is for python3.12 on x86_64.'
    })
  })
})
