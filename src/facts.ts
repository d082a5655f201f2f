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

/**
 * What a runtime's base image gives the loader, so shared objects in a layer can be checked
 * without the image or an interpreter: a library named here resolves; one in `absent` fails
 * the build; any other library not in the layer is only a warning, so this table can stay
 * short and still never block a layer that loads.
 */
export interface BaseImageFacts {
  /** Library file names (as DT_NEEDED names them) found on the image's loader path. */
  libraries: readonly string[]
  /** Libraries known to be missing from the image, each with the case that shows it. */
  absent: readonly string[]
  /** The gcc the image's libstdc++.so.6 and libgcc_s.so.1 come from, for messages. */
  gcc: string
  /**
   * The newest symbol version the image's libstdc++.so.6 (GLIBCXX_, CXXABI_) and
   * libgcc_s.so.1 (GCC_) define: a need above it is "version `…' not found" at import.
   */
  symbolCeilings: Readonly<Record<'GLIBCXX' | 'CXXABI' | 'GCC', readonly number[]>>
}

// glibc's own libraries, on every image (the loader and the libraries glibc's package installs
// under /lib64). glibc 2.34 folded libpthread, libdl, librt and libutil into libc but still
// installs them, empty, so objects linked against them load: glibc 2.34 NEWS,
// https://sourceware.org/pipermail/libc-alpha/2021-August/129718.html
const GLIBC_LIBRARIES = [
  'libc.so.6',
  'libm.so.6',
  'libdl.so.2',
  'libpthread.so.0',
  'librt.so.1',
  'libutil.so.1',
  'libresolv.so.2',
  'libanl.so.1',
  'ld-linux-x86-64.so.2',
  'ld-linux-aarch64.so.1'
]

// gcc's runtime libraries and zlib, on both generations: extensions on Lambda resolve
// libstdc++.so.6 and libgcc_s.so.1 from /usr/lib64 and /lib64 (ldd on the Lambda image in
// microsoft/onnxruntime#1113), and on Amazon Linux 2023 Lambda reports a too-new need as
// "GLIBCXX_3.4.30 not found", not as a missing file (amazonlinux/container-images#132).
// glibc's pthread_cancel itself loads libgcc_s.so.1, and rpm, in every image, needs libz.
const TOOLCHAIN_LIBRARIES = ['libstdc++.so.6', 'libgcc_s.so.1', 'libz.so.1']

// Desktop libraries the manylinux policy lets wheels assume (PEP 599) but Lambda's images do
// not have. libGL.so.1 with the X11 client libraries is what `import cv2` of opencv-python
// (the GUI build) fails on: lambci/docker-lambda#318 (python3.8, Amazon Linux 2: "far fewer
// native libraries"), aws/aws-lambda-python-runtime-interface-client#31,
// opencv/opencv-python#1019 (Lambda, 2024), 3mcloud/lambda-packager#36 (libSM, libXext).
// libpq.so.5 is what psycopg2 built from source fails on: psycopg/psycopg2#1010 and #1011,
// aws/aws-lambda-builders#45 ("AWS Lambda does not include necessary libpq.so").
const DESKTOP_AND_CLIENT_LIBRARIES = [
  'libGL.so.1',
  'libGLX.so.0',
  'libEGL.so.1',
  'libX11.so.6',
  'libXext.so.6',
  'libXrender.so.1',
  'libSM.so.6',
  'libICE.so.6',
  'libxcb.so.1',
  'libpq.so.5'
]

export const BASE_IMAGES: Readonly<Record<RuntimeFacts['os'], BaseImageFacts>> = {
  // Amazon Linux 2: glibc 2.26 and gcc 7.3 ("Improved toolchain" table,
  // https://docs.aws.amazon.com/linux/al2023/ug/glibc-gcc-and-binutils.html). libffi.so.6 is
  // the one the python3.11 runtime's ctypes loads: an image briefly published without it broke
  // `import ctypes` (aws/aws-lambda-base-images#127, #129).
  'Amazon Linux 2': {
    libraries: [
      ...GLIBC_LIBRARIES,
      'libcrypt.so.1',
      'libnsl.so.1',
      ...TOOLCHAIN_LIBRARIES,
      'libffi.so.6'
    ],
    // GLib is absent on the Amazon Linux 2 runtimes: opencv-python-headless layers failed on
    // libgthread-2.0.so.0 on python3.8 (keithrozario/Klayers#115, #160).
    absent: [...DESKTOP_AND_CLIENT_LIBRARIES, 'libglib-2.0.so.0', 'libgthread-2.0.so.0'],
    gcc: 'gcc 7',
    // libstdc++ manual, "ABI Policy and Guidelines", symbol versioning: GCC 7.1.0 gives
    // GLIBCXX_3.4.24 and CXXABI_1.3.11, libgcc_s GCC_7.0.0
    // (https://gcc.gnu.org/onlinedocs/libstdc++/manual/abi.html).
    symbolCeilings: { GLIBCXX: [3, 4, 24], CXXABI: [1, 3, 11], GCC: [7, 0, 0] }
  },
  // Amazon Linux 2023 minimal container image: glibc 2.34, gcc 11 ("Core toolchain packages",
  // https://docs.aws.amazon.com/linux/al2023/ug/core-glibc.html; "C, C++, and Fortran in
  // AL2023": GCC 11 is the system compiler for the life of AL2023). `rpm -qa` of the
  // python3.12 image lists glib2, krb5-libs, bzip2-libs and curl-minimal (so openssl-libs and
  // libffi, which they require): amazonlinux/amazon-linux-2023#585.
  'Amazon Linux 2023': {
    libraries: [
      ...GLIBC_LIBRARIES,
      ...TOOLCHAIN_LIBRARIES,
      'libbz2.so.1',
      'libffi.so.8',
      'libssl.so.3',
      'libcrypto.so.3',
      'libgssapi_krb5.so.2',
      'libkrb5.so.3',
      'libglib-2.0.so.0',
      'libgobject-2.0.so.0',
      'libgmodule-2.0.so.0',
      'libgthread-2.0.so.0',
      'libgio-2.0.so.0'
    ],
    absent: DESKTOP_AND_CLIENT_LIBRARIES,
    gcc: 'gcc 11',
    // GCC 11.1.0: GLIBCXX_3.4.29, CXXABI_1.3.13 (same abi.html). libgcc_s adds GCC_11.0 on
    // aarch64 only; x86_64 stays at GCC_7.0.0, so a GCC_12.0.0 need fails on both. The AL2023
    // build images moved their gcc runtimes to gcc 14 in 2025 and objects built there needing
    // GLIBCXX_3.4.30 failed on Lambda (amazonlinux/container-images#132): gcc 11's level holds.
    symbolCeilings: { GLIBCXX: [3, 4, 29], CXXABI: [1, 3, 13], GCC: [11, 0] }
  }
}

/** What to do instead, for the libraries users most often miss on Lambda. */
export const MISSING_LIBRARY_HINTS: Readonly<Record<string, string>> = {
  'libGL.so.1': "OpenCV's GUI build needs it: use opencv-python-headless instead of opencv-python",
  'libGLX.so.0': "OpenCV's GUI build needs it: use opencv-python-headless instead of opencv-python",
  'libX11.so.6': 'a desktop library: for OpenCV, use opencv-python-headless',
  'libXext.so.6': 'a desktop library: for OpenCV, use opencv-python-headless',
  'libSM.so.6': 'a desktop library: for OpenCV, use opencv-python-headless',
  'libICE.so.6': 'a desktop library: for OpenCV, use opencv-python-headless',
  'libXrender.so.1': 'a desktop library: for OpenCV, use opencv-python-headless',
  'libpq.so.5':
    "PostgreSQL's client library: use psycopg2-binary or psycopg[binary], whose wheels bundle it"
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
