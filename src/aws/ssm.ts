// The newest layer version ARN where other stacks (CDK, Terraform, SAM in other repositories)
// can read it: an SSM parameter in each region, rewritten after every publish or reuse.
import { errorMessage } from '../errors.js'
import { ACTION_NAME } from '../facts.js'
import { layerBaseName, ssmParameterName } from '../names.js'
import type { AwsClients } from './clients.js'
import { awsCall } from './errors.js'
import type { LayerRequest, PublishResult } from './publish.js'

/** What the ssm-parameter input did in one region. */
export interface ParameterWrite {
  /** The parameter name, placeholders filled in. */
  name: string
  /** The parameter's version after the write; undefined when it failed. */
  version?: number
  /** Why the write failed, worded for the user. */
  error?: string
}

/**
 * PutParameter, Type String, Overwrite: the parameter holds the ARN this run left the layer at.
 * A failure is returned, not thrown: the layer is published and functions still move onto it.
 */
export async function writeLayerParameter(
  clients: AwsClients,
  region: string,
  /** The ssm-parameter input, with its placeholders. */
  template: string,
  plan: Pick<LayerRequest, 'layerName' | 'target'>,
  layer: PublishResult
): Promise<ParameterWrite> {
  const { runtime, architecture } = plan.target
  const layerName = layerBaseName(plan.layerName)
  let name = template
  try {
    name = ssmParameterName(template, {
      region,
      runtime: runtime.name,
      architecture,
      layer: layerName
    })
    const client = await clients.ssm(region)
    const { PutParameterCommand } = await import('@aws-sdk/client-ssm')
    const written = await awsCall(
      { action: 'ssm:PutParameter', resource: `parameter ${name}`, region },
      () =>
        client.send(
          new PutParameterCommand({
            Name: name,
            Value: layer.layerVersionArn,
            Type: 'String',
            Overwrite: true,
            Description: `Newest version of Lambda layer ${layerName} (${runtime.name} ${architecture}), written by ${ACTION_NAME}`
          })
        )
    )
    return { name, version: written.Version }
  } catch (error) {
    return { name, error: errorMessage(error) }
  }
}
