// Grants other accounts, an organization, or everyone the right to use a layer version.
// Statement ids derive from the principal, so rerunning with the same share-with is harmless.
import { AddLayerVersionPermissionCommand, type LambdaClient } from '@aws-sdk/client-lambda'
import { awsCall, awsErrorName } from './errors.js'

export interface ShareGrant {
  /** Stable per principal: `layer-share-123456789012`, `layer-share-o-abc…`, `layer-share-public`. */
  statementId: string
  /** A 12-digit account id, or `*` (everyone, or everyone in `organizationId`). */
  principal: string
  organizationId?: string
}

const ACCOUNT = /^\d{12}$/
const ORGANIZATION = /^o-[a-z0-9]{10,32}$/

/** Parses share-with entries; any other value is an error naming it and what is accepted. */
export function parseShareWith(entries: readonly string[]): ShareGrant[] {
  const grants = new Map<string, ShareGrant>()
  for (const raw of entries) {
    const entry = raw.trim()
    if (!entry) continue
    grants.set(entry, shareGrant(entry))
  }
  return [...grants.values()]
}

function shareGrant(entry: string): ShareGrant {
  if (entry === 'public') return { statementId: 'layer-share-public', principal: '*' }
  if (ACCOUNT.test(entry)) return { statementId: `layer-share-${entry}`, principal: entry }
  if (ORGANIZATION.test(entry)) {
    return { statementId: `layer-share-${entry}`, principal: '*', organizationId: entry }
  }
  throw new Error(
    `share-with: "${entry}" is not a 12-digit account id, an organization id (o-…), or "public"`
  )
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
