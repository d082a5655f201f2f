// Layer versions and their permissions: PublishLayerVersion, ListLayerVersions, ListLayers,
// GetLayerVersion(ByArn), DeleteLayerVersion, Add/Get/RemoveLayerVersionPermission.
import { createHash, randomUUID } from 'node:crypto'
import { Runtime } from '@aws-sdk/client-lambda'
import { ARCHITECTURES, LIMITS } from '../src/facts.js'
import {
  invalidParameter,
  preconditionFailed,
  resourceConflict,
  resourceNotFound,
  validationError,
  violation,
  ApiError
} from './errors.js'
import { lambdaTimestamp, type Reply } from './http.js'
import {
  enumList,
  enumValue,
  integerRange,
  jsonBody,
  lengthAndPattern,
  maxLength,
  modelPattern,
  objectField,
  required,
  stringField,
  stringListField,
  type JsonObject,
  type LambdaRequest
} from './request.js'
import type { LayerRecord, LayerVersionState, PolicyStatement, RegionState } from './state.js'
import { unzippedSize } from './zip.js'

/** Every runtime id the Lambda API model knows, deprecated ones included. */
export const KNOWN_RUNTIMES: readonly string[] = Object.values(Runtime)

const LAYER_NAME = modelPattern(
  'arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+|[a-zA-Z0-9-_]+'
)
const LAYER_ARN = /^arn:[a-zA-Z0-9-]+:lambda:([a-zA-Z0-9-]+):(\d{12}):layer:([a-zA-Z0-9-_]+)$/
const LAYER_VERSION_ARN = modelPattern(
  'arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+'
)
const STATEMENT_ID = modelPattern('([a-zA-Z0-9-_]+)')
const LAYER_ACTION = modelPattern('lambda:GetLayerVersion')
const PRINCIPAL = modelPattern('\\d{12}|\\*|arn:(aws[a-zA-Z-]*):iam::\\d{12}:root')
const ORGANIZATION_ID = modelPattern('o-[a-z0-9]{10,32}')
const POLICY_MAX_BYTES = 20_480
const PAGE_MAX = 50

const NOT_FOUND = 'The resource you requested does not exist.'

export function publishLayerVersion(req: LambdaRequest): Reply {
  const input = jsonBody(req.body)
  const description = stringField(input, 'Description')
  const licenseInfo = stringField(input, 'LicenseInfo')
  const runtimes = stringListField(input, 'CompatibleRuntimes')
  const architectures = stringListField(input, 'CompatibleArchitectures')
  const content = objectField(input, 'Content')
  const violations = [
    ...layerNameViolations(req.params.LayerName),
    ...required(content, 'content'),
    ...maxLength(description, 'description', LIMITS.descriptionMax),
    ...maxLength(licenseInfo, 'licenseInfo', LIMITS.licenseInfoMax),
    ...enumList(runtimes, 'compatibleRuntimes', LIMITS.compatibleRuntimesMax, KNOWN_RUNTIMES),
    ...enumList(
      architectures,
      'compatibleArchitectures',
      LIMITS.compatibleArchitecturesMax,
      ARCHITECTURES
    )
  ]
  if (violations.length > 0 || !content) throw validationError(violations)
  const layerName = ownLayerName(req, req.params.LayerName)

  const zip = layerZip(req, content)
  const unzipped = unzippedSize(zip)
  if (unzipped === undefined) {
    throw invalidParameter(
      'Could not unzip uploaded file. Please check your file, then try to upload again.'
    )
  }
  if (unzipped > LIMITS.unzippedBytes) {
    throw invalidParameter(`Unzipped size must be smaller than ${LIMITS.unzippedBytes} bytes`)
  }

  const regionState = req.state.region(req.region)
  const record = layerRecord(regionState, layerName, true)
  const version = record.nextVersion++
  const layerArn = req.state.layerArn(req.region, layerName)
  const published: LayerVersionState = {
    layerName,
    region: req.region,
    version,
    layerArn,
    layerVersionArn: `${layerArn}:${version}`,
    description: description ?? '',
    licenseInfo,
    compatibleRuntimes: runtimes ?? [],
    compatibleArchitectures: architectures ?? [],
    codeSha256: createHash('sha256').update(zip).digest('base64'),
    codeSize: zip.length,
    unzippedSize: unzipped,
    createdDate: lambdaTimestamp(),
    content: zip,
    policy: { revisionId: randomUUID(), statements: [] }
  }
  record.versions.set(version, published)
  return { status: 201, json: layerVersionDetail(published, req.endpoint) }
}

/** The zip: ZipFile (base64 in the JSON body) or an object in this region's S3 store. */
function layerZip(req: LambdaRequest, content: JsonObject): Buffer {
  const zipFile = stringField(content, 'ZipFile')
  const bucket = stringField(content, 'S3Bucket')
  const key = stringField(content, 'S3Key')
  if (zipFile !== undefined && (bucket !== undefined || key !== undefined)) {
    throw invalidParameter('Please do not provide other Content fields if ZipFile is provided')
  }
  // A 50 MB zip is 69,905,068 base64 characters: the request cap already enforces the limit.
  if (zipFile !== undefined) return Buffer.from(zipFile, 'base64')
  if (bucket === undefined || key === undefined) {
    throw invalidParameter('Please provide a source for the layer: ZipFile, or S3Bucket and S3Key.')
  }
  if (req.isDenied('s3:GetObject')) {
    throw invalidParameter(
      'Your access has been denied by S3, please make sure your request credentials have ' +
        `permission to GetObject for ${bucket}/${key}. S3 Error Code: AccessDenied. ` +
        'S3 Error Message: Access Denied'
    )
  }
  const home = req.state.bucketRegion(bucket)
  if (home === undefined)
    throw s3GetObjectFailed('NoSuchBucket', 'The specified bucket does not exist')
  if (home !== req.region) {
    throw s3GetObjectFailed(
      'PermanentRedirect',
      `The bucket is in this region: ${home}. Please use this region to retry the request`
    )
  }
  const object = req.state.region(req.region).objects.get(`${bucket}/${key}`)
  if (!object) throw s3GetObjectFailed('NoSuchKey', 'The specified key does not exist.')
  return object
}

function s3GetObjectFailed(code: string, message: string): ApiError {
  return invalidParameter(
    `Error occurred while GetObject. S3 Error Code: ${code}. S3 Error Message: ${message}`
  )
}

export function listLayerVersions(req: LambdaRequest): Reply {
  const query = listFilters(req)
  const layerName = ownLayerName(req, req.params.LayerName)
  const record = layerRecord(req.state.region(req.region), layerName, false)
  const newestFirst = [...(record?.versions.values() ?? [])]
    .filter(version => matchesFilters(version, query))
    .sort((a, b) => b.version - a.version)
  const start =
    query.marker === undefined
      ? 0
      : newestFirst.findIndex(version => version.version <= query.marker!)
  const page = start < 0 ? [] : newestFirst.slice(start, start + query.maxItems)
  const next = start < 0 ? undefined : newestFirst[start + query.maxItems]
  return {
    status: 200,
    json: {
      LayerVersions: page.map(layerVersionSummary),
      ...(next ? { NextMarker: encodeMarker(next.version) } : {})
    }
  }
}

export function listLayers(req: LambdaRequest): Reply {
  const query = listFilters(req)
  const layers = [...req.state.region(req.region).layers.entries()]
    .map(([name, record]) => {
      const latest = [...record.versions.values()]
        .filter(version => matchesFilters(version, query))
        .sort((a, b) => b.version - a.version)[0]
      return { name, latest }
    })
    .filter(layer => layer.latest !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name))
  const start = query.marker === undefined ? 0 : query.marker
  const page = layers.slice(start, start + query.maxItems)
  const more = start + query.maxItems < layers.length
  return {
    status: 200,
    json: {
      Layers: page.map(layer => ({
        LayerName: layer.name,
        LayerArn: req.state.layerArn(req.region, layer.name),
        LatestMatchingVersion: layerVersionSummary(layer.latest!)
      })),
      ...(more ? { NextMarker: encodeMarker(start + query.maxItems) } : {})
    }
  }
}

interface ListFilters {
  runtime?: string
  architecture?: string
  maxItems: number
  marker?: number
}

function listFilters(req: LambdaRequest): ListFilters {
  const runtime = req.query.get('CompatibleRuntime') ?? undefined
  const architecture = req.query.get('CompatibleArchitecture') ?? undefined
  const maxItems = integerRange(req.query.get('MaxItems'), 'maxItems', 1, PAGE_MAX)
  const violations = [
    ...(req.params.LayerName === undefined ? [] : layerNameViolations(req.params.LayerName)),
    ...enumValue(runtime, 'compatibleRuntime', KNOWN_RUNTIMES),
    ...enumValue(architecture, 'compatibleArchitecture', ARCHITECTURES),
    ...maxItems.violations
  ]
  if (violations.length > 0) throw validationError(violations)
  const rawMarker = req.query.get('Marker')
  return {
    runtime,
    architecture,
    maxItems: maxItems.value ?? PAGE_MAX,
    marker: rawMarker === null ? undefined : decodeMarker(rawMarker)
  }
}

function matchesFilters(version: LayerVersionState, filters: ListFilters): boolean {
  return (
    (filters.runtime === undefined || version.compatibleRuntimes.includes(filters.runtime)) &&
    (filters.architecture === undefined ||
      version.compatibleArchitectures.includes(filters.architecture))
  )
}

// Markers are opaque to clients; this one carries the position to resume from.
function encodeMarker(position: number): string {
  return Buffer.from(`emulator:${position}`).toString('base64url')
}

function decodeMarker(marker: string): number {
  const match = /^emulator:(\d+)$/.exec(Buffer.from(marker, 'base64url').toString('utf8'))
  if (!match) throw invalidParameter(`Invalid Marker: ${marker}`)
  return Number(match[1])
}

export function getLayerVersion(req: LambdaRequest): Reply {
  return { status: 200, json: layerVersionDetail(existingVersion(req), req.endpoint) }
}

export function getLayerVersionByArn(req: LambdaRequest): Reply {
  const arn = req.query.get('Arn') ?? undefined
  const violations = [
    ...required(arn, 'arn'),
    ...lengthAndPattern(arn, 'arn', 1, 140, LAYER_VERSION_ARN)
  ]
  if (violations.length > 0 || arn === undefined) throw validationError(violations)
  const separator = arn.lastIndexOf(':')
  const version = findVersion(req, arn.slice(0, separator), Number(arn.slice(separator + 1)))
  if (!version) throw resourceNotFound(NOT_FOUND)
  return { status: 200, json: layerVersionDetail(version, req.endpoint) }
}

/** Deleting is idempotent, and the number is never handed out again. */
export function deleteLayerVersion(req: LambdaRequest): Reply {
  const layerName = ownLayerName(req, req.params.LayerName)
  const version = versionNumber(req)
  layerRecord(req.state.region(req.region), layerName, false)?.versions.delete(version)
  return { status: 204 }
}

export function addLayerVersionPermission(req: LambdaRequest): Reply {
  const input = jsonBody(req.body)
  const statementId = stringField(input, 'StatementId')
  const action = stringField(input, 'Action')
  const principal = stringField(input, 'Principal')
  const organizationId = stringField(input, 'OrganizationId')
  const violations = [
    ...required(statementId, 'statementId'),
    ...required(action, 'action'),
    ...required(principal, 'principal'),
    ...lengthAndPattern(statementId, 'statementId', 1, 100, STATEMENT_ID),
    ...lengthAndPattern(action, 'action', 0, 22, LAYER_ACTION),
    ...lengthAndPattern(principal, 'principal', 0, Infinity, PRINCIPAL),
    ...lengthAndPattern(organizationId, 'organizationId', 0, 34, ORGANIZATION_ID)
  ]
  if (violations.length > 0 || !statementId || !action || !principal) {
    throw validationError(violations)
  }
  const layer = existingVersion(req)
  checkPolicyRevision(req, layer)
  if (organizationId !== undefined && principal !== '*') {
    throw invalidParameter('OrganizationId can only be given when Principal is "*".')
  }
  if (layer.policy.statements.some(statement => statement.Sid === statementId)) {
    throw resourceConflict(
      `The statement id (${statementId}) provided already exists. ` +
        'Please provide a new statement id, or remove the existing statement.'
    )
  }
  const statement: PolicyStatement = {
    Sid: statementId,
    Effect: 'Allow',
    Principal: principal === '*' ? '*' : { AWS: principalArn(principal) },
    Action: action,
    Resource: layer.layerVersionArn,
    ...(organizationId
      ? { Condition: { StringEquals: { 'aws:PrincipalOrgID': organizationId } } }
      : {})
  }
  const statements = [...layer.policy.statements, statement]
  if (policyDocument(statements).length > POLICY_MAX_BYTES) {
    throw new ApiError(
      400,
      'PolicyLengthExceededException',
      'The final policy size is bigger than the limit.',
      {},
      { Type: 'User' }
    )
  }
  layer.policy = { revisionId: randomUUID(), statements }
  return {
    status: 201,
    json: { Statement: JSON.stringify(statement), RevisionId: layer.policy.revisionId }
  }
}

export function getLayerVersionPolicy(req: LambdaRequest): Reply {
  const layer = existingVersion(req)
  if (layer.policy.statements.length === 0) {
    throw resourceNotFound('No policy is associated with the given resource.')
  }
  return {
    status: 200,
    json: { Policy: policyDocument(layer.policy.statements), RevisionId: layer.policy.revisionId }
  }
}

export function removeLayerVersionPermission(req: LambdaRequest): Reply {
  const statementId = req.params.StatementId
  const violations = lengthAndPattern(statementId, 'statementId', 1, 100, STATEMENT_ID)
  if (violations.length > 0) throw validationError(violations)
  const layer = existingVersion(req)
  checkPolicyRevision(req, layer)
  const remaining = layer.policy.statements.filter(statement => statement.Sid !== statementId)
  if (remaining.length === layer.policy.statements.length) {
    throw resourceNotFound(`Statement ${statementId} is not found in resource policy.`)
  }
  layer.policy = { revisionId: randomUUID(), statements: remaining }
  return { status: 204 }
}

function checkPolicyRevision(req: LambdaRequest, layer: LayerVersionState): void {
  const expected = req.query.get('RevisionId')
  if (expected !== null && expected !== layer.policy.revisionId) throw preconditionFailed()
}

function policyDocument(statements: PolicyStatement[]): string {
  return JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: statements })
}

function principalArn(principal: string): string {
  return /^\d{12}$/.test(principal) ? `arn:aws:iam::${principal}:root` : principal
}

/** The version the request's LayerName and VersionNumber name; 404 when it is gone. */
function existingVersion(req: LambdaRequest): LayerVersionState {
  const layerName = ownLayerName(req, req.params.LayerName)
  const version = layerRecord(req.state.region(req.region), layerName, false)?.versions.get(
    versionNumber(req)
  )
  if (!version) throw resourceNotFound(NOT_FOUND)
  return version
}

/** A layer version by ARN, in the request's region and the emulator's account only. */
export function findVersion(
  req: Pick<LambdaRequest, 'state' | 'region'>,
  layerArn: string,
  version: number
): LayerVersionState | undefined {
  const match = LAYER_ARN.exec(layerArn)
  if (!match || match[1] !== req.region || match[2] !== req.state.accountId) return undefined
  return req.state.region(req.region).layers.get(match[3]!)?.versions.get(version)
}

function versionNumber(req: LambdaRequest): number {
  const raw = req.params.VersionNumber ?? ''
  if (!/^\d+$/.test(raw)) {
    throw validationError([violation(raw, 'versionNumber', 'Member must be a number')])
  }
  return Number(raw)
}

function layerNameViolations(layerName: string | undefined): string[] {
  return lengthAndPattern(layerName, 'layerName', 1, LIMITS.layerNameMax, LAYER_NAME)
}

/** The bare layer name from a name or an ARN; ARNs of other accounts or regions are not here. */
function ownLayerName(req: LambdaRequest, layerName: string | undefined): string {
  const violations = layerNameViolations(layerName)
  if (violations.length > 0 || layerName === undefined) throw validationError(violations)
  const arn = LAYER_ARN.exec(layerName)
  if (!arn) return layerName
  if (arn[1] !== req.region || arn[2] !== req.state.accountId) throw resourceNotFound(NOT_FOUND)
  return arn[3]!
}

function layerRecord(state: RegionState, name: string, create: true): LayerRecord
function layerRecord(state: RegionState, name: string, create: false): LayerRecord | undefined
function layerRecord(state: RegionState, name: string, create: boolean): LayerRecord | undefined {
  let record = state.layers.get(name)
  if (!record && create) {
    record = { nextVersion: 1, versions: new Map() }
    state.layers.set(name, record)
  }
  return record
}

/** The download URL GetLayerVersion hands out; the emulator serves it (see lambda-api.ts). */
export function layerContentPath(version: LayerVersionState): string {
  return `/_layer-content/${version.region}/${version.layerName}/${version.version}`
}

function layerVersionDetail(version: LayerVersionState, endpoint: string): JsonObject {
  return {
    Content: {
      Location: endpoint + layerContentPath(version),
      CodeSha256: version.codeSha256,
      CodeSize: version.codeSize
    },
    LayerArn: version.layerArn,
    ...layerVersionSummary(version)
  }
}

/** What ListLayerVersions shows of a version: no content, no CodeSha256. */
function layerVersionSummary(version: LayerVersionState): JsonObject {
  return {
    LayerVersionArn: version.layerVersionArn,
    Version: version.version,
    Description: version.description,
    CreatedDate: version.createdDate,
    ...(version.compatibleRuntimes.length > 0
      ? { CompatibleRuntimes: version.compatibleRuntimes }
      : {}),
    ...(version.compatibleArchitectures.length > 0
      ? { CompatibleArchitectures: version.compatibleArchitectures }
      : {}),
    ...(version.licenseInfo !== undefined ? { LicenseInfo: version.licenseInfo } : {})
  }
}
