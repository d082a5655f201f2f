// Grants other accounts, an organization, or everyone the right to use a layer version.
// Statement ids derive from the principal, so rerunning with the same share-with is harmless,
// and a reused version loses the grants of earlier runs that share-with no longer asks for.
import {
  AddLayerVersionPermissionCommand,
  GetLayerVersionPolicyCommand,
  RemoveLayerVersionPermissionCommand,
  type LambdaClient
} from '@aws-sdk/client-lambda'
import * as core from '@actions/core'
import { awsCall, awsErrorName } from './errors.js'
import { parseSharePrincipal, SHARE_STATEMENT_PREFIX, type ShareGrant } from '../names.js'

/** Parses share-with entries (validated by inputs.ts through the same rule), once each. */
export function parseShareWith(entries: readonly string[]): ShareGrant[] {
  const grants = new Map<string, ShareGrant>()
  for (const raw of entries) {
    const entry = raw.trim()
    if (entry) grants.set(entry, parseSharePrincipal(entry))
  }
  return [...grants.values()]
}

/** Adds each grant to one layer version; returns the statement ids now in place. */
export async function shareLayerVersion(
  client: LambdaClient,
  region: string,
  layerName: string,
  version: number,
  grants: readonly ShareGrant[]
): Promise<string[]> {
  const applied: string[] = []
  for (const grant of grants) {
    const context = {
      action: 'lambda:AddLayerVersionPermission',
      resource: `layer ${layerName} version ${version}`,
      region
    }
    await awsCall(context, async () => {
      try {
        await client.send(
          new AddLayerVersionPermissionCommand({
            LayerName: layerName,
            VersionNumber: version,
            StatementId: grant.statementId,
            Action: 'lambda:GetLayerVersion',
            Principal: grant.principal,
            OrganizationId: grant.organizationId
          })
        )
      } catch (error) {
        // The statement id already exists: a previous run granted this same principal.
        if (awsErrorName(error) !== 'ResourceConflictException') throw error
      }
    })
    applied.push(grant.statementId)
  }
  return applied
}

// Someone else changing the policy between our read and our removal is retried this often.
const MAX_POLICY_REREADS = 3

/**
 * Removes this action's statements that `grants` no longer holds from one layer version, so a
 * version once shared with everyone stops being public when share-with drops `public`.
 * Returns the statement ids removed.
 */
export async function revokeStaleGrants(
  client: LambdaClient,
  region: string,
  layerName: string,
  version: number,
  grants: readonly ShareGrant[]
): Promise<string[]> {
  const wanted = new Set(grants.map(grant => grant.statementId))
  const resource = `layer ${layerName} version ${version}`
  const removed: string[] = []
  let rereads = 0
  for (;;) {
    const policy = await readPolicy(client, region, layerName, version)
    const stale = policy?.statementIds.find(
      sid => sid.startsWith(SHARE_STATEMENT_PREFIX) && !wanted.has(sid)
    )
    if (!policy || !stale) return removed
    const outcome = await awsCall(
      { action: 'lambda:RemoveLayerVersionPermission', resource, region },
      async () => {
        try {
          await client.send(
            new RemoveLayerVersionPermissionCommand({
              LayerName: layerName,
              VersionNumber: version,
              StatementId: stale,
              RevisionId: policy.revisionId
            })
          )
          return 'removed'
        } catch (error) {
          // The policy changed since the read (412), or the statement is already gone (404).
          const name = awsErrorName(error)
          const changed =
            name === 'PreconditionFailedException' || name === 'ResourceNotFoundException'
          if (changed && ++rereads < MAX_POLICY_REREADS) return 'reread'
          throw error
        }
      }
    )
    if (outcome === 'removed') {
      core.info(`${region}: ${layerName} version ${version} no longer grants ${stale}`)
      removed.push(stale)
    }
  }
}

/** The version's policy statement ids and RevisionId; undefined when it has no policy. */
async function readPolicy(
  client: LambdaClient,
  region: string,
  layerName: string,
  version: number
): Promise<{ statementIds: string[]; revisionId?: string } | undefined> {
  const response = await awsCall(
    {
      action: 'lambda:GetLayerVersionPolicy',
      resource: `layer ${layerName} version ${version}`,
      region
    },
    async () => {
      try {
        return await client.send(
          new GetLayerVersionPolicyCommand({ LayerName: layerName, VersionNumber: version })
        )
      } catch (error) {
        // A version that was never shared has no policy at all.
        if (awsErrorName(error) === 'ResourceNotFoundException') return undefined
        throw error
      }
    }
  )
  if (!response?.Policy) return undefined
  const document = JSON.parse(response.Policy) as { Statement?: unknown }
  const statements = [document.Statement ?? []].flat() as Array<{ Sid?: unknown }>
  return {
    statementIds: statements.flatMap(statement =>
      typeof statement.Sid === 'string' ? [statement.Sid] : []
    ),
    revisionId: response.RevisionId
  }
}
