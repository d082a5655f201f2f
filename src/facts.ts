// Facts about AWS Lambda's Python runtimes and API limits, kept in one table so they are
// easy to update when AWS moves on. Sources: AWS Lambda runtime and quota pages, the
// Lambda API model (see ../shared/LAMBDA.md in the project's notes).

export type Architecture = 'x86_64' | 'arm64'
export const ARCHITECTURES: readonly Architecture[] = ['x86_64', 'arm64']

/** The machine name used in wheel platform tags and ELF headers for each Lambda architecture. */
export const WHEEL_MACHINE: Record<Architecture, 'x86_64' | 'aarch64'> = {
  x86_64: 'x86_64',
  arm64: 'aarch64'
}

export interface RuntimeFacts {
  name: string
  /** "3.12" */
  pythonVersion: string
  os: 'Amazon Linux 2' | 'Amazon Linux 2023'
  /** Highest GLIBC_x.y symbol version the runtime's libc provides. */
  glibcCeiling: [number, number]
  /** ISO dates (UTC): AWS stops patching it; no new function on it; no function update on it. */
  deprecated: string
  blockCreate: string
  blockUpdate: string
}

// Newest first. Dates from AWS's "Lambda runtimes" page, "Supported runtimes" and "Runtime
// deprecation policy": https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
export const RUNTIMES: readonly RuntimeFacts[] = [
  rt('python3.14', 'Amazon Linux 2023', [2, 34], '2029-06-30', '2029-07-31', '2029-08-31'),
  rt('python3.13', 'Amazon Linux 2023', [2, 34], '2029-06-30', '2029-07-31', '2029-08-31'),
  rt('python3.12', 'Amazon Linux 2023', [2, 34], '2028-10-31', '2028-11-30', '2029-01-10'),
  rt('python3.11', 'Amazon Linux 2', [2, 26], '2027-06-30', '2027-07-31', '2027-08-31'),
  rt('python3.10', 'Amazon Linux 2', [2, 26], '2026-10-31', '2026-11-30', '2027-01-15'),
  rt('python3.9', 'Amazon Linux 2', [2, 26], '2025-12-15', '2026-02-03', '2026-03-09')
]

export const DEFAULT_RUNTIME = 'python3.13'

function rt(
  name: string,
  os: RuntimeFacts['os'],
  glibcCeiling: [number, number],
  deprecated: string,
  blockCreate: string,
  blockUpdate: string
): RuntimeFacts {
  return {
    name,
    pythonVersion: name.replace('python', ''),
    os,
    glibcCeiling,
    deprecated,
    blockCreate,
    blockUpdate
  }
}

/** What the build aims at: one Lambda runtime on one architecture. */
export interface Target {
  runtime: RuntimeFacts
  architecture: Architecture
}

export function findRuntime(name: string): RuntimeFacts | undefined {
  return RUNTIMES.find(r => r.name === name)
}

/**
 * Where a runtime stands in AWS's deprecation policy on a day: `createBlocked` still lets
 * existing functions be updated (code and layers), `updateBlocked` lets no function use it.
 */
export type RuntimePhase = 'supported' | 'deprecated' | 'createBlocked' | 'updateBlocked'

export function runtimePhase(runtime: RuntimeFacts, today: Date): RuntimePhase {
  if (reached(runtime.blockUpdate, today)) return 'updateBlocked'
  if (reached(runtime.blockCreate, today)) return 'createBlocked'
  if (reached(runtime.deprecated, today)) return 'deprecated'
  return 'supported'
}

/** Runtimes some function can still use a layer on (before block update), newest first. */
export function usableRuntimes(today: Date): RuntimeFacts[] {
  return RUNTIMES.filter(r => runtimePhase(r, today) !== 'updateBlocked')
}

/** The runtime to move to: the newest one AWS still patches. */
export function newestSupportedRuntime(today: Date): RuntimeFacts | undefined {
  return RUNTIMES.find(r => runtimePhase(r, today) === 'supported')
}

// A phase starts at 00:00 UTC on its date.
function reached(isoDate: string, today: Date): boolean {
  return today.getTime() >= Date.parse(`${isoDate}T00:00:00Z`)
}

/** "cp312" */
export function cpythonTag(runtime: RuntimeFacts): string {
  return 'cp' + runtime.pythonVersion.replace('.', '')
}

/**
 * Every manylinux platform tag a runtime can load, newest first. pip does not widen
 * `--platform manylinux_2_34_x86_64` to lower levels by itself, so each one is passed.
 */
export function platformTags(runtime: RuntimeFacts, architecture: Architecture): string[] {
  const machine = WHEEL_MACHINE[architecture]
  // manylinux on aarch64 starts at glibc 2.17 (manylinux2014); x86_64 goes back to 2.5.
  const lowest = machine === 'x86_64' ? 5 : 17
  const [major, ceiling] = runtime.glibcCeiling
  const tags: string[] = []
  for (let minor = ceiling; minor >= lowest; minor--) {
    tags.push(`manylinux_${major}_${minor}_${machine}`)
    if (minor === 17) tags.push(`manylinux2014_${machine}`)
    if (minor === 12 && machine === 'x86_64') tags.push(`manylinux2010_${machine}`)
    if (minor === 5 && machine === 'x86_64') tags.push(`manylinux1_${machine}`)
  }
  return tags
}

/**
 * The AWS SDK the Lambda Python runtime already ships. A layer copy shadows the runtime's,
 * and half a set (botocore without boto3) breaks imports, so these travel together.
 */
export const RUNTIME_SDK: readonly string[] = ['boto3', 'botocore', 's3transfer']

/**
 * The SDK's own dependencies, also on the runtime. Left out only when nothing else in the
 * layer needs them: `requests` pulling in urllib3 keeps its own copy.
 */
export const RUNTIME_SDK_DEPENDENCIES: readonly string[] = [
  'jmespath',
  'python-dateutil',
  'urllib3',
  'six'
]

/** Packages that must travel together: if a layer has one, it needs the others. */
export const SDK_SETS: readonly (readonly string[])[] = [['boto3', 'botocore', 's3transfer']]

export const LIMITS = {
  /** Zipped size for a direct (in-request) upload. */
  directUploadBytes: 50 * 1024 * 1024,
  /** The whole PublishLayerVersion request body (base64 zip inside JSON). */
  requestBytes: 69_905_067,
  /** Function plus all its layers, unzipped. */
  unzippedBytes: 262_144_000,
  layersPerFunction: 5,
  layerNameMax: 140,
  descriptionMax: 256,
  licenseInfoMax: 512,
  compatibleRuntimesMax: 15,
  compatibleArchitecturesMax: 2,
  /** A synchronous (RequestResponse) Invoke's request payload (Lambda quotas page, "Invocation payload"). */
  invokePayloadBytes: 6 * 1024 * 1024
} as const

/** Oldest pip with `--report` (the action reads what pip installed from it). */
export const MIN_PIP: [number, number] = [22, 2]

export const ACTION_NAME = 'python-lambda-layer-action'
