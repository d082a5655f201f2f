// Lambda's names, as the API takes them, in one place and without the SDK: layer names and
// ARNs, function names and ARNs, and the principals a layer version can be shared with.
// inputs.ts validates with these, and the AWS half parses with the same ones.
import { LIMITS } from './facts.js'

/** PublishLayerVersion's LayerName: a name, or a layer ARN (from the Lambda API model). */
const LAYER_NAME =
  /^(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+)$|^[a-zA-Z0-9-_]+$/

export function isLayerName(name: string): boolean {
  return name.length <= LIMITS.layerNameMax && LAYER_NAME.test(name)
}

/** The region a layer ARN names, or undefined for a plain name. */
export function layerArnRegion(layerName: string): string | undefined {
  return /^arn:[^:]+:lambda:([^:]+):\d{12}:layer:/.exec(layerName)?.[1]
}

/** `orders-deps` for both `orders-deps` and `arn:…:layer:orders-deps`. */
export function layerBaseName(layerName: string): string {
  return layerName.startsWith('arn:') ? layerName.slice(layerName.lastIndexOf(':') + 1) : layerName
}

const LAYER_VERSION = /:(\d+)$/

/** A layer version ARN without its version: `arn:…:layer:name`. */
export function layerArnOf(layerVersionArn: string): string {
  return layerVersionArn.replace(LAYER_VERSION, '')
}

/** The version a layer version ARN names (`…:layer:name:4` → 4); undefined without one. */
export function layerVersionOf(layerVersionArn: string): number | undefined {
  const version = LAYER_VERSION.exec(layerVersionArn)?.[1]
  return version === undefined ? undefined : Number(version)
}

/** The one name the zip and the workflow artifact share: `orders-deps-python3.12-arm64`. */
export function layerFileStem(
  layerName: string | undefined,
  runtime: string,
  architecture: string
): string {
  return `${layerName ? layerBaseName(layerName) : 'python-layer'}-${runtime}-${architecture}`
}

/** A layer ARN belongs to one region; publishing it elsewhere would fail late, so fail early. */
export function checkLayerRegion(layerName: string, region: string): void {
  const arnRegion = layerArnRegion(layerName)
  if (arnRegion && arnRegion !== region) {
    throw new Error(
      `layer-name ${layerName} is an ARN in ${arnRegion}, so it cannot be published to ${region}: ` +
        'use a plain layer name to publish to several regions.'
    )
  }
}

export interface FunctionRef {
  /** As given: a name, a partial ARN or an ARN, each optionally with `:alias`. */
  name: string
  /** The bare function name: a name and its ARN are one function. */
  functionName: string
  /** As given without the alias: what UpdateFunctionConfiguration and PublishVersion take. */
  unqualified: string
  /** The alias to move once the new layer proved itself (`orders-api:live` → `live`). */
  alias?: string
  /** The region an ARN names; undefined for a plain name (every published region). */
  region?: string
}

// Lambda's FunctionName: a name, a partial ARN (ACCOUNT:function:NAME) or an ARN, each
// optionally with a :qualifier. An alias qualifier names the alias to move; a version number
// or $LATEST is refused with this action's own message.
const FUNCTION_NAME = /^([a-zA-Z0-9-_]{1,64})(?::([a-zA-Z0-9$_-]+))?$/
const FUNCTION_ARN =
  /^arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):\d{12}:function:([a-zA-Z0-9-_]{1,64})(?::([a-zA-Z0-9$_-]+))?$/
const PARTIAL_FUNCTION_ARN = /^\d{12}:function:([a-zA-Z0-9-_]{1,64})(?::([a-zA-Z0-9$_-]+))?$/
// Lambda's alias Name: 1-128 characters, not all digits (that would read as a version).
const ALIAS = /^(?!\d+$)[a-zA-Z0-9-_]{1,128}$/

/** The `functions` entry that asks for discovery: every function already using this layer. */
export const EVERY_USER_OF_THE_LAYER = '*'

/**
 * A `functions` entry: a name, a partial ARN or an ARN, optionally with `:alias`. Throws a
 * message naming the input for anything else, and for a version number or $LATEST.
 */
export function parseFunctionRef(name: string): FunctionRef {
  const arn = FUNCTION_ARN.exec(name)
  const partial = arn ? undefined : PARTIAL_FUNCTION_ARN.exec(name)
  const plain = arn || partial ? undefined : FUNCTION_NAME.exec(name)
  const qualifier = arn?.[3] ?? partial?.[2] ?? plain?.[2]
  if (qualifier !== undefined && !ALIAS.test(qualifier)) {
    throw new Error(
      `functions: ${name} names version "${qualifier}"; published versions never change, so ` +
        'give the function without it, or with an alias (NAME:ALIAS) to move once the update works.'
    )
  }
  const unqualified = qualifier === undefined ? name : name.slice(0, -qualifier.length - 1)
  const alias = qualifier === undefined ? {} : { alias: qualifier }
  if (arn) return { name, functionName: arn[2], unqualified, ...alias, region: arn[1] }
  if (partial) return { name, functionName: partial[1], unqualified, ...alias }
  if (plain) return { name, functionName: plain[1], unqualified, ...alias }
  throw new Error(
    `functions: "${name}" is not a function name (1-64 letters, digits, - and _), a function ARN or ACCOUNT:function:NAME, each optionally with :ALIAS, nor ${EVERY_USER_OF_THE_LAYER} (every function using this layer); give one per line`
  )
}

/** Statement ids this action adds start with it; statements added otherwise are left alone. */
export const SHARE_STATEMENT_PREFIX = 'layer-share-'

export interface ShareGrant {
  /** Stable per principal: `layer-share-123456789012`, `layer-share-o-abc…`, `layer-share-public`. */
  statementId: string
  /** A 12-digit account id, or `*` (everyone, or everyone in `organizationId`). */
  principal: string
  organizationId?: string
}

const ACCOUNT = /^\d{12}$/
const ORGANIZATION = /^o-[a-z0-9]{10,32}$/

/** A `share-with` entry as the grant it asks for; anything else is an error naming the input. */
export function parseSharePrincipal(entry: string): ShareGrant {
  const statementId = `${SHARE_STATEMENT_PREFIX}${entry}`
  if (entry === 'public') return { statementId, principal: '*' }
  if (ACCOUNT.test(entry)) return { statementId, principal: entry }
  if (ORGANIZATION.test(entry)) return { statementId, principal: '*', organizationId: entry }
  throw new Error(
    `share-with: "${entry}" is not accepted; use a 12-digit account id, an organization id (o-...), or public`
  )
}

// SSM parameter names, from PutParameter's Name in the Systems Manager API reference: letters,
// digits, _ . - and / between hierarchy levels (a hierarchy starts with /), at most fifteen
// levels, never starting with "aws" or "ssm" (any case), and the parameter's ARN at most 1011
// characters (`arn:aws:ssm:us-east-2:111122223333:parameter/` counts toward them).
const SSM_NAME_CHARACTERS = /^[a-zA-Z0-9_.\-/]+$/
const SSM_RESERVED_PREFIX = /^(aws|ssm)/i
const SSM_HIERARCHY_MAX = 15
const SSM_ARN_MAX = 1011

/** What `{region}`, `{runtime}`, `{architecture}` and `{layer}` stand for in ssm-parameter. */
export interface SsmPlaceholders {
  region: string
  runtime: string
  architecture: string
  /** The layer's name, also when layer-name is an ARN. */
  layer: string
}

export const SSM_PLACEHOLDERS: readonly (keyof SsmPlaceholders)[] = [
  'region',
  'runtime',
  'architecture',
  'layer'
]

/** The ssm-parameter template with its placeholders filled in; an unknown one throws. */
export function ssmParameterName(template: string, values: SsmPlaceholders): string {
  return template.replace(/\{([^{}]*)\}/g, (placeholder, key: string) => {
    if (!(SSM_PLACEHOLDERS as readonly string[]).includes(key)) {
      throw new Error(
        `unknown placeholder ${placeholder} in "${template}"; use ${SSM_PLACEHOLDERS.map(p => `{${p}}`).join(', ')}`
      )
    }
    return values[key as keyof SsmPlaceholders]
  })
}

/** arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME, the ARN IAM policies name. */
export function ssmParameterArn(name: string, region: string, account: string): string {
  return `arn:${partitionOf(region)}:ssm:${region}:${account}:parameter${name.startsWith('/') ? '' : '/'}${name}`
}

/** Why SSM would refuse this parameter name in this region, or undefined when it would not. */
export function ssmNameProblem(name: string, region: string): string | undefined {
  const levels = name.startsWith('/') ? name.slice(1).split('/') : name.split('/')
  if (!SSM_NAME_CHARACTERS.test(name)) {
    return 'SSM parameter names hold only letters, digits, _ . - and /'
  }
  if (name.includes('/') && !name.startsWith('/')) {
    return 'a hierarchy must start with / (for example /layers/deps)'
  }
  if (levels.some(level => level === '')) return 'a hierarchy level is empty (// or a trailing /)'
  if (SSM_RESERVED_PREFIX.test(levels[0])) {
    return 'SSM reserves names starting with aws or ssm (any case)'
  }
  if (levels.length > SSM_HIERARCHY_MAX) {
    return `SSM allows at most ${SSM_HIERARCHY_MAX} hierarchy levels, this has ${levels.length}`
  }
  // Any account id has 12 digits: the length check needs no AWS call.
  const arnLength = ssmParameterArn(name, region, '000000000000').length
  if (arnLength > SSM_ARN_MAX) {
    return `its ARN in ${region} would be ${arnLength} characters; SSM allows ${SSM_ARN_MAX}`
  }
  return undefined
}

/**
 * The parameter name in each region, checked: throws naming the first name SSM would refuse,
 * so a bad name fails before any AWS call.
 */
export function ssmParameterNames(
  template: string,
  values: Omit<SsmPlaceholders, 'region'>,
  regions: readonly string[]
): Map<string, string> {
  const names = new Map<string, string>()
  for (const region of regions) {
    const name = ssmParameterName(template, { ...values, region })
    const problem = ssmNameProblem(name, region)
    if (problem) throw new Error(`"${name}" is not an SSM parameter name: ${problem}`)
    names.set(region, name)
  }
  return names
}

const PARTITIONS: ReadonlyArray<[prefix: string, partition: string]> = [
  ['cn-', 'aws-cn'],
  ['us-gov-', 'aws-us-gov'],
  ['us-isob-', 'aws-iso-b'],
  ['us-isof-', 'aws-iso-f'],
  ['us-iso-', 'aws-iso'],
  ['eu-isoe-', 'aws-iso-e'],
  ['eusc-', 'aws-eusc']
]

/** The AWS partition a region belongs to (aws, aws-cn, aws-us-gov, the isolated ones). */
export function partitionOf(region: string): string {
  return PARTITIONS.find(([prefix]) => region.startsWith(prefix))?.[1] ?? 'aws'
}
