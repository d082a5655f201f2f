import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkEntry, entryContent, inflatedChunks, readWheel } from '../../src/builder/wheels.js'
import { writeZip } from '../support/wheels.js'

let scratch: string
let counter = 0

beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'wheels-test-'))
})

afterAll(() => {
  fs.rmSync(scratch, { recursive: true, force: true })
})

const WHEEL = 'hostile-1.0-py3-none-any.whl'

function wheelFile(bytes: Buffer): string {
  const file = path.join(scratch, `${++counter}`, WHEEL)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, bytes)
  return file
}

function zipWith(name: string, data = 'x = 1\n', mode = 0o644): Buffer {
  return writeZip([
    { path: 'hostile/__init__.py', data: Buffer.from('ok = 1\n'), mode: 0o644 },
    { path: name, data: Buffer.from(data), mode }
  ])
}

/** Replaces every occurrence of one name in the archive's bytes (local and central). */
function renamed(bytes: Buffer, from: string, to: Buffer): Buffer {
  const needle = Buffer.from(from)
  expect(to.length).toBe(needle.length)
  const copy = Buffer.from(bytes)
  for (let at = copy.indexOf(needle); at !== -1; at = copy.indexOf(needle, at + 1)) {
    to.copy(copy, at)
  }
  return copy
}

/** Reads a stream of chunks to its end, returning how many bytes it gave. */
async function drain(chunks: AsyncIterable<Buffer>): Promise<number> {
  let size = 0
  for await (const chunk of chunks) size += chunk.length
  return size
}

describe('readWheel refuses hostile wheels, naming the wheel and the entry', () => {
  it.each([
    ['an absolute path', '/etc/evil.py', 'is an absolute path'],
    ['a path with ..', 'hostile/../../evil.py', 'climbs out with ".."'],
    ['a backslash', 'hostile\\evil.py', 'holds a backslash']
  ])('%s', (_, name, problem) => {
    const file = wheelFile(zipWith(name))
    expect(() => readWheel(file)).toThrow(`${WHEEL}: ${JSON.stringify(name)} ${problem}`)
  })

  it('a NUL byte in a name', () => {
    const bytes = renamed(
      zipWith('hostile/evilX.py'),
      'hostile/evilX.py',
      Buffer.from('hostile/evil\0.py')
    )
    expect(() => readWheel(wheelFile(bytes))).toThrow(
      `${WHEEL}: "hostile/evil\\u0000.py" holds a NUL byte`
    )
  })

  it('a name that is not UTF-8', () => {
    const bytes = renamed(
      zipWith('hostile/evilX.py'),
      'hostile/evilX.py',
      Buffer.from('hostile/evil\xff.py', 'latin1')
    )
    expect(() => readWheel(wheelFile(bytes))).toThrow(`${WHEEL}: an entry name is not UTF-8`)
  })

  it('a symlink entry', () => {
    const file = wheelFile(zipWith('hostile/link.py', '/etc/passwd', 0o120777))
    expect(() => readWheel(file)).toThrow(
      `${WHEEL}: hostile/link.py is a symlink; a wheel holds regular files only`
    )
  })

  it('a local header that disagrees with the central directory', () => {
    const bytes = zipWith('hostile/evil.py')
    // the second local header's name: change it there only, not in the central directory
    const local = bytes.indexOf(Buffer.from('hostile/evil.py'))
    const copy = Buffer.from(bytes)
    Buffer.from('hostile/evil.pz').copy(copy, local)
    expect(() => readWheel(wheelFile(copy))).toThrow(
      `${WHEEL}: hostile/evil.py: its local header disagrees with the central directory (name)`
    )
  })

  it('content that does not match its CRC when inflated', async () => {
    // 'x = 1\n' is stored (too short to deflate): flip one byte of the data
    const bytes = zipWith('hostile/evil.py')
    const at = bytes.indexOf(Buffer.from('x = 1\n'))
    const copy = Buffer.from(bytes)
    copy[at] = 'y'.charCodeAt(0)
    const wheel = readWheel(wheelFile(copy))
    const entry = wheel.entries.find(e => e.name === 'hostile/evil.py')!
    await expect(entryContent(wheel, entry)).rejects.toThrow(
      `${WHEEL}: hostile/evil.py does not match its CRC or size when inflated`
    )
    await expect(checkEntry(wheel, entry)).rejects.toThrow('does not match its CRC')
    await expect(drain(inflatedChunks(wheel, entry))).rejects.toThrow(
      `${WHEEL}: hostile/evil.py does not match its CRC or size when inflated`
    )
  })

  it('a deflate bomb: content far larger than its listed size stops at that size', async () => {
    const bytes = zipWith('hostile/bomb.py', '\0'.repeat(4 * 1024 * 1024))
    // claim 10 bytes in both headers, as a bomb would
    const name = Buffer.from('hostile/bomb.py')
    const copy = Buffer.from(bytes)
    for (let at = copy.indexOf(name); at !== -1; at = copy.indexOf(name, at + 1)) {
      if (at >= 30 && copy.readUInt32LE(at - 30) === 0x04034b50)
        copy.writeUInt32LE(10, at - 30 + 22)
      if (at >= 46 && copy.readUInt32LE(at - 46) === 0x02014b50)
        copy.writeUInt32LE(10, at - 46 + 24)
    }
    const wheel = readWheel(wheelFile(copy))
    const entry = wheel.entries.find(e => e.name === 'hostile/bomb.py')!
    expect(entry.size).toBe(10)
    await expect(checkEntry(wheel, entry)).rejects.toThrow(
      `${WHEEL}: hostile/bomb.py does not inflate`
    )
    await expect(entryContent(wheel, entry)).rejects.toThrow('hostile/bomb.py')
    // streamed, as a big entry is: stopped at the listed size, not inflated to the end
    await expect(drain(inflatedChunks(wheel, entry))).rejects.toThrow(
      `${WHEEL}: hostile/bomb.py does not inflate (more than the 10 bytes listed)`
    )
  })

  it('a file that is not a zip', () => {
    expect(() => readWheel(wheelFile(Buffer.from('not a zip at all')))).toThrow(
      `${WHEEL} is not a zip file`
    )
  })

  it('reads a well-formed wheel: names, sizes, modes', async () => {
    const wheel = readWheel(wheelFile(zipWith('hostile/tool.sh', '#!/bin/sh\n', 0o755)))
    expect(wheel.entries.map(e => [e.name, e.size, e.mode])).toEqual([
      ['hostile/__init__.py', 7, 0o644],
      ['hostile/tool.sh', 10, 0o755]
    ])
    expect((await entryContent(wheel, wheel.entries[1])).toString()).toBe('#!/bin/sh\n')
  })

  it('streams an entry whole, deflated or stored, with the bytes it holds', async () => {
    const text = 'print("hello")\n'.repeat(100000)
    const wheel = readWheel(wheelFile(zipWith('hostile/big.py', text)))
    const [small, big] = wheel.entries
    expect(big.method).toBe(8)
    const chunks: Buffer[] = []
    for await (const chunk of inflatedChunks(wheel, big)) chunks.push(chunk)
    expect(Buffer.concat(chunks).toString()).toBe(text)
    expect(await drain(inflatedChunks(wheel, small))).toBe(7)
  })
})
