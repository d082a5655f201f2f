import path from 'node:path'
import { RUNTIME_SDK, RUNTIME_SDK_DEPENDENCIES, SDK_SETS } from '../facts.js'
import { canonicalName, parseRequirement } from '../sources/pep508.js'
import { modulesInFiles } from './import-check.js'
import { requiredNames, type LayerPackage } from './site.js'
import { layerFileContent, type DistributionLayout } from './assemble.js'
import type { LayerFile } from './layout.js'
import type { InstalledDistribution } from './pip.js'

export interface Exclusion {
  name: string
  version: string
  reason: string
  /** Left out because the Lambda runtime provides it (not because `exclude` named it). */
  providedByRuntime: boolean
  /** The top-level modules it had, so a failed import can name what it missed. */
  modules?: string[]
}

/**
 * Which packages leave the layer. The runtime's SDK goes when only pulled in transitively
 * (a copy in the layer would shadow the runtime's), unless a requested SDK package needs it
 * (boto3 named directly keeps its botocore); the SDK's dependencies go only when nothing kept
 * needs them; names in `exclude` always go.
 */
export function packagesToExclude(
  installed: InstalledDistribution[],
  exclude: string[]
): Map<string, string> {
  // a pinned SDK stays whole: the layer's copy is the one the pinning package was resolved with
  const sdkStays = sdkPins(installed, exclude).length > 0
  const isSdk = (name: string) =>
    (!sdkStays && RUNTIME_SDK.includes(name)) || RUNTIME_SDK_DEPENDENCIES.includes(name)
  const kept = new Set(
    installed
      .filter(dist => !exclude.includes(dist.name) && (dist.requested || !isSdk(dist.name)))
      .map(dist => dist.name)
  )
  // over-keeping an SDK dependency is harmless; an extra's requirements would keep too much
  const requirements = new Map(
    installed.map(dist => [dist.name, requiredNames(dist, { withExtras: false })])
  )
  for (let changed = true; changed;) {
    changed = false
    for (const dist of installed) {
      if (kept.has(dist.name) || exclude.includes(dist.name)) continue
      // the SDK proper stays only for a kept SDK package; its dependencies for anything kept
      const keepers = RUNTIME_SDK.includes(dist.name)
        ? [...kept].filter(name => RUNTIME_SDK.includes(name))
        : [...kept]
      if (keepers.some(keeper => requirements.get(keeper)?.includes(dist.name))) {
        kept.add(dist.name)
        changed = true
      }
    }
  }
  const excluded = new Map<string, string>()
  for (const dist of installed) {
    if (exclude.includes(dist.name)) excluded.set(dist.name, 'listed in exclude')
    else if (!kept.has(dist.name)) {
      excluded.set(
        dist.name,
        RUNTIME_SDK.includes(dist.name)
          ? 'the runtime ships it; pulled in transitively only'
          : 'the runtime ships it; needed only by the runtime SDK'
      )
    }
  }
  return excluded
}

export interface SdkPin {
  /** The kept package that pins the SDK, as `name version`. */
  by: string
  /** Its requirement, e.g. `botocore<1.35.37,>=1.35.16`. */
  requirement: string
}

/**
 * Requirements of packages that stay in the layer on the runtime's SDK with an exact pin or an
 * upper bound (aiobotocore, which s3fs pulls in, pins botocore to a narrow range): the runtime's
 * own copy need not satisfy them, so the SDK stays in the layer.
 */
export function sdkPins(installed: InstalledDistribution[], exclude: string[]): SdkPin[] {
  const present = new Set(installed.map(dist => dist.name))
  return installed
    .filter(dist => !exclude.includes(dist.name) && !RUNTIME_SDK.includes(dist.name))
    .filter(dist => dist.requested || !RUNTIME_SDK_DEPENDENCIES.includes(dist.name))
    .flatMap(dist =>
      dist.requiresDist
        .filter(requirement => bindsSdk(requirement, present))
        .map(requirement => ({ by: `${dist.name} ${dist.version}`, requirement }))
    )
}

/** `botocore==1.35.36`, `botocore<1.36`, `boto3~=1.35.0`, not behind an extra. */
function bindsSdk(requirement: string, present: ReadonlySet<string>): boolean {
  if (/extra\s*==/.test(requirement)) return false
  let parsed: ReturnType<typeof parseRequirement>
  try {
    parsed = parseRequirement(requirement)
  } catch {
    return false
  }
  const name = canonicalName(parsed.name)
  if (!RUNTIME_SDK.includes(name) || !present.has(name)) return false
  return parsed.specifier.split(',').some(clause => /^\s*(===|==|~=|<=|<)/.test(clause))
}

/** Packages that must travel together but do not: botocore without boto3 breaks imports. */
export function halfSetWarnings(packages: LayerPackage[]): string[] {
  const present = new Map(packages.map(p => [p.name, p.version]))
  const warnings: string[] = []
  for (const set of SDK_SETS) {
    const inLayer = set.filter(name => present.has(name))
    const missing = set.filter(name => !present.has(name))
    if (inLayer.length > 0 && missing.length > 0) {
      const have = inLayer.map(name => `${name} ${present.get(name)}`).join(', ')
      warnings.push(
        `the layer has ${have} but not ${missing.join(', ')}: at run time the runtime's ${missing.join(', ')} will import the layer's ${inLayer.join(', ')} and may fail (boto/boto3#4058); add ${missing.join(', ')} to the requirements, or exclude ${inLayer.join(', ')}`
      )
    }
  }
  return warnings
}

/**
 * Files that never load at run time. `*.dist-info` always stays: importlib.metadata needs it.
 * Console scripts go: their shebang names the runner's interpreter, not Lambda's.
 */
export function isSlimmable(file: string): boolean {
  const parts = file.split('/')
  if (parts[0].endsWith('.dist-info')) return false
  if (parts[0] === 'bin') return true
  if (parts.includes('__pycache__')) return true
  // `tests` folders inside a package, never a top-level package that happens to be named so;
  // never `test` (django.test is public API)
  if (isInTests(file)) return true
  return /\.(pyc|pyo|pyi|c|h|cc|cpp|cxx|hpp|pyx|pxd|pxi)$/i.test(file)
}

function isInTests(file: string): boolean {
  return file.split('/').slice(1, -1).includes('tests')
}

/**
 * The files of `tests` folders that the package's own code imports when it loads: astropy's
 * `__init__` imports `.tests.runner`, numpy 2.2's `numpy.testing` imports
 * `numpy._core.tests._natype`. Only those modules stay (with the `__init__.py` files on their
 * way), not the 6 MB of tests around them; an import inside a function, or in a `conftest.py`
 * (pytest's, never loaded at run time), keeps nothing.
 */
export async function testsImported(
  packageFiles: readonly string[],
  readText: (file: string) => Promise<string>
): Promise<Set<string>> {
  const kept = new Set<string>()
  if (!packageFiles.some(isInTests)) return kept
  const files = new Set(packageFiles)
  const queue = packageFiles.filter(
    file => file.endsWith('.py') && !isInTests(file) && path.posix.basename(file) !== 'conftest.py'
  )
  const scanned = new Set<string>()
  while (queue.length > 0) {
    const file = queue.pop()!
    if (scanned.has(file)) continue
    scanned.add(file)
    const text = await readText(file).catch(() => '')
    for (const target of moduleLevelImports(file, text)) {
      if (!target.includes('tests')) continue
      for (const found of testsModuleFiles(target, files)) {
        if (kept.has(found)) continue
        kept.add(found)
        if (found.endsWith('.py')) queue.push(found)
      }
    }
  }
  return kept
}

/** `import a.b` and `from x import y` at the top level of a module (not indented), as dotted names. */
const MODULE_LEVEL_IMPORT =
  /^(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)|import[ \t]+([^\n#;]+))/gm

/**
 * The modules `file` imports at its top level, resolved to dotted names; for
 * `from x import y`, both `x` and `x.y` (y may be a module).
 */
function moduleLevelImports(file: string, text: string): string[] {
  const own = file.replace(/\.py$/, '').split('/')
  // the package a relative import starts from: the folder, for a module and an __init__ alike
  const pkgParts = own.slice(0, -1)
  const targets: string[] = []
  for (const match of text.matchAll(MODULE_LEVEL_IMPORT)) {
    const [, from, names, plain] = match
    if (plain !== undefined) {
      targets.push(...plain.split(',').map(part => part.trim().split(/\s+/)[0]))
      continue
    }
    const dots = /^\.*/.exec(from)![0].length
    const rest = from.slice(dots)
    const base =
      dots === 0
        ? rest.split('.')
        : [...pkgParts.slice(0, pkgParts.length - (dots - 1)), ...(rest ? rest.split('.') : [])]
    targets.push(base.join('.'))
    for (const name of names.replace(/[()]/g, '').split(',')) {
      const imported = name.trim().split(/\s+/)[0]
      if (/^\w+$/.test(imported)) targets.push([...base, imported].join('.'))
    }
  }
  return targets.filter(Boolean)
}

/** The files of the package that importing `target` loads below its `tests` folder. */
function testsModuleFiles(target: string, files: ReadonlySet<string>): string[] {
  const parts = target.split('.')
  const testsAt = parts.indexOf('tests')
  if (testsAt < 1) return []
  const found: string[] = []
  for (let end = testsAt + 1; end <= parts.length; end++) {
    const folder = parts.slice(0, end).join('/')
    if (files.has(`${folder}/__init__.py`)) found.push(`${folder}/__init__.py`)
  }
  const module = `${parts.join('/')}.py`
  if (files.has(module)) found.push(module)
  return found
}

/** What leaves a layer assembled from wheels: whole distributions, then slimmed files. */
export interface LayoutPruneResult {
  layouts: DistributionLayout[]
  excluded: Exclusion[]
  slimmed: { files: number; bytes: number }
  notices: string[]
}

/**
 * Exclude and slim as filters over wheel entries: a left-out distribution's files are never
 * laid out (so a path a kept package also holds stays, with the kept package's bytes), and
 * slim drops files by isSlimmable, reading a package's .py files in memory to see if it
 * imports its tests.
 */
export async function pruneLayouts(
  layouts: DistributionLayout[],
  installed: InstalledDistribution[],
  options: { exclude: string[]; slim: boolean }
): Promise<LayoutPruneResult> {
  const exclusions = packagesToExclude(installed, options.exclude)
  const excluded: Exclusion[] = []
  const kept: DistributionLayout[] = []
  for (const layout of layouts) {
    const reason = exclusions.get(layout.dist.name)
    if (!reason) {
      kept.push(layout)
      continue
    }
    excluded.push({
      name: layout.dist.name,
      version: layout.dist.version,
      reason,
      providedByRuntime: !options.exclude.includes(layout.dist.name),
      modules: modulesInFiles(layout.files.map(file => file.path))
    })
  }
  excluded.sort((a, b) => a.name.localeCompare(b.name))
  const slimmed = { files: 0, bytes: 0 }
  const result = options.slim
    ? await Promise.all(
        kept.map(async layout => {
          const imported = await testsImportedInMemory(layout.files)
          const drops = (file: LayerFile) => isSlimmable(file.path) && !imported.has(file.path)
          const stays = layout.files.filter(file => !drops(file))
          for (const file of layout.files) {
            if (!drops(file)) continue
            slimmed.files++
            slimmed.bytes += file.size
          }
          return { ...layout, files: stays }
        })
      )
    : kept
  const pins = sdkPins(installed, options.exclude)
  const stayed = result
    .map(layout => layout.dist.name)
    .filter(name => RUNTIME_SDK.includes(name))
    .sort()
  const notices =
    pins.length > 0 && stayed.length > 0
      ? [
          `${stayed.join(', ')} ${stayed.length === 1 ? 'stays in the layer although the runtime ships it' : 'stay in the layer although the runtime ships them'}: ${pins.map(pin => `${pin.by} requires ${pin.requirement}`).join('; ')}, which the runtime's own copy need not satisfy`
        ]
      : []
  return { layouts: result, excluded, slimmed, notices }
}

/** testsImported over a wheel's entries, each .py inflated in memory. */
async function testsImportedInMemory(files: LayerFile[]): Promise<Set<string>> {
  const byPath = new Map(files.map(file => [file.path, file]))
  return testsImported([...byPath.keys()], async file => {
    const entry = byPath.get(file)
    return entry ? (await layerFileContent(entry)).toString('utf8') : ''
  })
}
