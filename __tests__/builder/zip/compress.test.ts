// What the action deflates itself: the same bytes however the input arrives (whole, in a
// stream's chunks, in a worker or not), so a layer's CodeSha256 depends only on the content.
import { randomBytes } from 'node:crypto'
import { inflateRawSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { deflatePieces, deflateRaw } from '../../../src/builder/zip/compress.js'

/** Text that deflates well, several MiB of it. */
function text(bytes: number): Buffer {
  const lines: string[] = []
  let length = 0
  for (let i = 0; length < bytes; i++) {
    const line = `value_${i} = ${(i * 7919) % 100_003}  # row ${i % 97}\n`
    lines.push(line)
    length += line.length
  }
  return Buffer.from(lines.join('')).subarray(0, bytes)
}

async function streamed(content: Buffer, chunk: number): Promise<Buffer> {
  const chunks = function* () {
    for (let at = 0; at < content.length; at += chunk) yield content.subarray(at, at + chunk)
  }
  const out: Buffer[] = []
  for await (const piece of deflatePieces(chunks(), 6)) out.push(piece)
  return Buffer.concat(out)
}

describe('deflate that depends only on the content', () => {
  it('gives the same bytes whole and streamed in any chunk size, and they inflate back', async () => {
    const content = text(5 * 1024 * 1024 + 12_345)
    const whole = (await deflateRaw(content, 6))!
    expect(whole.length).toBeLessThan(content.length / 3)
    expect(inflateRawSync(whole).equals(content)).toBe(true)
    for (const chunk of [16 * 1024, 1024 * 1024, 3 * 1024 * 1024 + 7]) {
      expect((await streamed(content, chunk)).equals(whole)).toBe(true)
    }
  })

  it('gives small content the same way, and nothing for noise', async () => {
    const small = text(200_000)
    const deflated = (await deflateRaw(small, 6))!
    expect(inflateRawSync(deflated).equals(small)).toBe(true)
    expect((await streamed(small, 777)).equals(deflated)).toBe(true)
    // random bytes do not shrink: stored, not deflated
    expect(await deflateRaw(randomBytes(64 * 1024), 6)).toBeUndefined()
  })

  it('leaves the caller its buffer as it was', async () => {
    const content = text(3 * 1024 * 1024)
    const before = Buffer.from(content)
    await deflateRaw(content, 6)
    expect(content.buffer.byteLength).toBeGreaterThan(0)
    expect(content.equals(before)).toBe(true)
  })
})
