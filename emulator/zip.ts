// Lambda measures a layer by its unzipped size; the central directory records it for every
// entry, so nothing has to be inflated. ZIP64 records are read for archives past 65,535
// entries or 4 GiB.

const EOCD = 0x06054b50
const ZIP64_LOCATOR = 0x07064b50
const ZIP64_EOCD = 0x06064b50
const CENTRAL_ENTRY = 0x02014b50
const ZIP64_EXTRA = 0x0001

/** Sum of the uncompressed sizes of every entry, or undefined when `zip` is not a zip archive. */
export function unzippedSize(zip: Buffer): number | undefined {
  try {
    const directory = centralDirectory(zip)
    if (!directory) return undefined
    let total = 0
    let at = directory.offset
    for (let i = 0; i < directory.entries; i++) {
      if (zip.readUInt32LE(at) !== CENTRAL_ENTRY) return undefined
      const nameLength = zip.readUInt16LE(at + 28)
      const extraLength = zip.readUInt16LE(at + 30)
      const commentLength = zip.readUInt16LE(at + 32)
      let size = zip.readUInt32LE(at + 24)
      if (size === 0xffffffff) {
        const extra = zip.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength)
        const zip64Size = zip64UncompressedSize(extra)
        if (zip64Size === undefined) return undefined
        size = zip64Size
      }
      total += size
      at += 46 + nameLength + extraLength + commentLength
    }
    return total
  } catch {
    // A read past the end: truncated or not a zip at all.
    return undefined
  }
}

interface Directory {
  entries: number
  offset: number
}

function centralDirectory(zip: Buffer): Directory | undefined {
  const lowest = Math.max(0, zip.length - 22 - 0xffff)
  for (let at = zip.length - 22; at >= lowest; at--) {
    if (zip.readUInt32LE(at) !== EOCD) continue
    const entries = zip.readUInt16LE(at + 10)
    const offset = zip.readUInt32LE(at + 16)
    if (entries !== 0xffff && offset !== 0xffffffff) return { entries, offset }
    return zip64Directory(zip, at)
  }
  return undefined
}

function zip64Directory(zip: Buffer, eocd: number): Directory | undefined {
  const locator = eocd - 20
  if (locator < 0 || zip.readUInt32LE(locator) !== ZIP64_LOCATOR) return undefined
  const record = Number(zip.readBigUInt64LE(locator + 8))
  if (zip.readUInt32LE(record) !== ZIP64_EOCD) return undefined
  return {
    entries: Number(zip.readBigUInt64LE(record + 32)),
    offset: Number(zip.readBigUInt64LE(record + 48))
  }
}

/** The ZIP64 extra field lists the uncompressed size first when the header's is 0xFFFFFFFF. */
function zip64UncompressedSize(extra: Buffer): number | undefined {
  let at = 0
  while (at + 4 <= extra.length) {
    const id = extra.readUInt16LE(at)
    const length = extra.readUInt16LE(at + 2)
    if (id === ZIP64_EXTRA && length >= 8) return Number(extra.readBigUInt64LE(at + 4))
    at += 4 + length
  }
  return undefined
}
