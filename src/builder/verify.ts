// Checks every file of the installed layer against what the Lambda runtime can load, so a
// wrong-architecture wheel or a too-new glibc fails the build instead of the first
// invocation (`invalid ELF header`, `GLIBC_2.28 not found`).
import { mapLimit } from '../concurrency.js'
import { open, readdir } from 'node:fs/promises'
import { join, posix } from 'node:path'
import { ARCHITECTURES, WHEEL_MACHINE, type Target } from '../facts.js'
import { maxGlibc, compareGlibcVersions, parseElf, readElfFile, type ElfInfo } from './elf.js'
import type { LayerPackage } from './site.js'

/** Files inspected at once: enough to keep the disk busy, well under the open-file limit. */
/** A problem found by verification, tied to the package and file that carries it. */
export interface Finding {
  package: string
  version: string
  /** Relative to the site directory. */
  file: string
  kind: 'architecture' | 'glibc' | 'python-abi' | 'not-elf' | 'unreadable'
  message: string
  /** The newest glibc the file needs, for a `glibc` finding: the worst of a group is shown. */
  glibcNeeded?: [number, number]
}

/** The findings of one package and kind, with the file that needs the most as the example. */
export interface FindingGroup {
  package: string
  kind: Finding['kind']
  example: Finding
  files: number
}

const OPEN_FILES = 16

const UNKNOWN_PACKAGE: Pick<LayerPackage, 'name' | 'version'> = { name: '(unknown)', version: '' }

/** libfoo.so, libfoo.so.1.2 */
const SHARED_OBJECT_NAME = /\.so(\.\d+)*$/
/** _ext.cpython-312-x86_64-linux-gnu.so → 3, 12, '', 'x86_64-linux-gnu' */
const CPYTHON_EXTENSION_NAME = /\.cpython-(\d)(\d+)([a-z]*)-([^./]+)\.so$/

export async function verifyLayer(
  siteDir: string,
  packages: LayerPackage[],
  target: Target
): Promise<Finding[]> {
  const owners = new Map<string, LayerPackage>()
  for (const pkg of packages) for (const file of pkg.files) owners.set(posix.normalize(file), pkg)

  const files = await listFiles(siteDir)
  const perFile = await mapLimit(files, OPEN_FILES, async file => {
    const owner = owners.get(file) ?? UNKNOWN_PACKAGE
    const finding = (
      kind: Finding['kind'],
      problem: string,
      glibcNeeded?: [number, number]
    ): Finding => ({
      package: owner.name,
      version: owner.version,
      file,
      kind,
      message: `${label(owner)}: ${file} ${problem}`,
      ...(glibcNeeded && { glibcNeeded })
    })
    const path = join(siteDir, file)
    return checkFile(file, () => sniffFormat(path), await readElfFile(path), target, finding)
  })
  return perFile.flat().sort(byPackageThenFile)
}

/** A file of the layer whose bytes are read in memory (inflated from its wheel). */
export interface LayerFileBytes {
  /** Relative to the site directory. */
  path: string
  content: () => Promise<Buffer>
}

/** Bytes of files verified at once: each is inflated whole, so few at a time. */
const INFLATED_AT_ONCE = 2

/**
 * verifyLayer over files held in memory, for a layer assembled from wheels: each file is
 * inflated (its CRC checked) and its ELF headers parsed from the bytes; nothing on disk.
 */
export async function verifyLayerFiles(
  files: LayerFileBytes[],
  packages: LayerPackage[],
  target: Target
): Promise<Finding[]> {
  const owners = new Map<string, LayerPackage>()
  for (const pkg of packages) for (const file of pkg.files) owners.set(posix.normalize(file), pkg)
  const perFile = await mapLimit(files, INFLATED_AT_ONCE, async ({ path: file, content }) => {
    const owner = owners.get(file) ?? UNKNOWN_PACKAGE
    const finding = (
      kind: Finding['kind'],
      problem: string,
      glibcNeeded?: [number, number]
    ): Finding => ({
      package: owner.name,
      version: owner.version,
      file,
      kind,
      message: `${label(owner)}: ${file} ${problem}`,
      ...(glibcNeeded && { glibcNeeded })
    })
    const bytes = await content()
    return checkFile(file, async () => sniffBytes(bytes), await parseElf(bytes), target, finding)
  })
  return perFile.flat().sort(byPackageThenFile)
}

/** Findings of one package and kind together, in the order verifyLayer gives them. */
export function groupFindings(findings: Finding[]): FindingGroup[] {
  const groups = new Map<string, FindingGroup>()
  for (const f of findings) {
    const key = `${f.package}\0${f.version}\0${f.kind}`
    const group = groups.get(key)
    if (!group) groups.set(key, { package: f.package, kind: f.kind, example: f, files: 1 })
    else {
      group.files++
      if (needsMore(f, group.example)) group.example = f
    }
  }
  return [...groups.values()]
}

/**
 * One line per package and kind of problem, so a layer with hundreds of wrong-architecture
 * files still reads as a short list.
 */
export function summarizeFindings(findings: Finding[]): string[] {
  return groupFindings(findings).map(describeFindingGroup)
}

/** "numpy 2.0.0: numpy/_core.so needs GLIBC_2.28; … (and 29 more files)" */
export function describeFindingGroup(group: FindingGroup): string {
  const rest = group.files - 1
  return rest === 0
    ? group.example.message
    : `${group.example.message} (and ${rest} more ${rest === 1 ? 'file' : 'files'})`
}

function needsMore(candidate: Finding, example: Finding): boolean {
  return compareGlibcVersions(candidate.glibcNeeded ?? [], example.glibcNeeded ?? []) > 0
}

async function checkFile(
  file: string,
  sniff: () => Promise<string>,
  elf: ElfInfo | undefined,
  target: Target,
  finding: (kind: Finding['kind'], problem: string, glibcNeeded?: [number, number]) => Finding
): Promise<Finding[]> {
  const { runtime, architecture } = target
  const wanted = WHEEL_MACHINE[architecture]
  const findings: Finding[] = []
  const targets = `the layer targets ${architecture} (${machineHint()})`

  if (elf?.unreadable) {
    // what was read is incomplete, so no other byte-level check can pass it
    findings.push(finding('unreadable', `cannot be read whole: ${elf.unreadable}`))
  } else if (elf) {
    // Both Lambda machines are 64-bit; an x86_64 ELF32 file (the x32 ABI) cannot load either.
    if (elf.machine !== wanted || elf.bits !== 64) {
      const found = elf.machine === wanted ? `${elf.machine} (32-bit)` : elf.machine
      findings.push(finding('architecture', `is built for ${found}; ${targets}`))
    }
    const needed = maxGlibc(elf.glibcNeeds)
    if (needed && compareGlibcVersions(needed, runtime.glibcCeiling) > 0) {
      const [major, minor] = runtime.glibcCeiling
      findings.push(
        finding(
          'glibc',
          `needs GLIBC_${needed.join('.')}; ${runtime.name} (${runtime.os}) has ${major}.${minor}`,
          needed
        )
      )
    }
  } else if (SHARED_OBJECT_NAME.test(file)) {
    // Lambda's loader says "invalid ELF header"; say what the file is instead.
    findings.push(
      finding('not-elf', `is not an ELF shared object (${await sniff()}); Lambda runs Linux`)
    )
  }

  const extension = CPYTHON_EXTENSION_NAME.exec(file)
  if (extension) {
    const [, major, minor, flags, platform] = extension
    const built = `${major}.${minor}${flags}`
    if (built !== runtime.pythonVersion) {
      findings.push(
        finding(
          'python-abi',
          `is built for CPython ${built}; ${runtime.name} runs CPython ${runtime.pythonVersion}`
        )
      )
    }
    // CPython imports only its own suffix (….cpython-312-x86_64-linux-gnu.so), so a name for
    // another platform (a musllinux build, say) is "No module named …" even if the ELF is fine.
    if (
      elf &&
      !elf.unreadable &&
      platform !== `${wanted}-linux-gnu` &&
      findings.every(f => f.kind !== 'architecture')
    ) {
      findings.push(
        finding('architecture', `is built for ${platform.replace(/-linux-gnu$/, '')}; ${targets}`)
      )
    }
  }
  return findings
}

/** "Lambda arm64 needs aarch64, x86_64 needs x86_64": the naming trap behind most mismatches. */
function machineHint(): string {
  const pairs = [...ARCHITECTURES].sort().map(a => `${a} needs ${WHEEL_MACHINE[a]}`)
  return `Lambda ${pairs.join(', ')}`
}

function label(pkg: Pick<LayerPackage, 'name' | 'version'>): string {
  return pkg.version ? `${pkg.name} ${pkg.version}` : pkg.name
}

/** What a non-ELF "shared object" most likely is, from its first bytes. */
async function sniffFormat(path: string): Promise<string> {
  const file = await open(path, 'r')
  try {
    const head = Buffer.alloc(4)
    const { bytesRead } = await file.read(head, 0, 4, 0)
    return sniffBytes(head.subarray(0, bytesRead))
  } finally {
    await file.close()
  }
}

function sniffBytes(head: Buffer): string {
  if (head.length < 4) return 'too short to be a binary'
  const magic = head.readUInt32BE(0)
  if ([0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(magic)) {
    return 'a macOS Mach-O binary'
  }
  if (head.toString('latin1', 0, 2) === 'MZ') return 'a Windows PE binary'
  return 'unrecognised format'
}

/** Regular files under dir, relative and "/"-separated like RECORD paths. Symlinks are skipped. */
async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(join(dir, prefix), { withFileTypes: true })
  const files: string[] = []
  for (const entry of entries) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name
    if (entry.isDirectory()) files.push(...(await listFiles(dir, relative)))
    else if (entry.isFile()) files.push(relative)
  }
  return files
}

function byPackageThenFile(a: Finding, b: Finding): number {
  return (
    compareStrings(a.package, b.package) ||
    compareStrings(a.file, b.file) ||
    compareStrings(a.kind, b.kind)
  )
}

/** Code-unit order, not locale order, so the output is the same on every machine. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
