// `functions: *`: every function of a region that uses any version of this layer now, found
// with ListFunctions (paginated). Those the layer cannot serve are listed and left alone.
import { paginateListFunctions, type FunctionConfiguration } from '@aws-sdk/client-lambda'
import type { LambdaClient } from '@aws-sdk/client-lambda'
import { layerArnOf } from '../names.js'
import { checkFit, layerArns, type AttachResult, type LayerFit } from './attach.js'
import { AwsCallError, describeAwsError } from './errors.js'

export interface Discovered {
  /** Function names to update by the same rules as named ones. */
  fit: string[]
  /** Users of the layer that run another runtime or architecture: reported, not touched. */
  unfit: AttachResult[]
}

/** The functions holding a version of `layerArn`, apart from those already named. */
export async function discoverLayerUsers(
  client: LambdaClient,
  region: string,
  layerArn: string,
  fit: LayerFit,
  named: ReadonlySet<string>
): Promise<Discovered> {
  const users: FunctionConfiguration[] = []
  try {
    for await (const page of paginateListFunctions({ client, pageSize: 50 }, {})) {
      for (const config of page.Functions ?? []) {
        const layers = layerArns(config)
        if (layers.some(arn => layerArnOf(arn) === layerArn)) users.push(config)
      }
    }
  } catch (error) {
    throw new AwsCallError(
      describeAwsError(error, { action: 'lambda:ListFunctions', region }),
      error
    )
  }
  const found: Discovered = { fit: [], unfit: [] }
  for (const config of users) {
    const name = config.FunctionName ?? ''
    if (!name || named.has(name)) continue
    try {
      checkFit(name, config, fit)
      found.fit.push(name)
    } catch (error) {
      const layers = layerArns(config)
      found.unfit.push({
        function: name,
        region,
        before: layers,
        after: layers,
        status: 'skipped',
        error: (error as Error).message.replace(/ Build a layer .*$/, ''),
        discovered: true
      })
    }
  }
  return found
}
