import { describe, expect, it } from 'vitest'
import {
  compareLayers,
  glibcFloor,
  type LayerManifest,
  type ManifestPackage
} from '../src/changes.js'

function pkg(name: string, version: string, bytes: number, extra: Partial<ManifestPackage> = {}) {
  return { name, version, bytes, wheelTags: [], sharedObjects: {}, ...extra }
}

function manifest(packages: ManifestPackage[]): LayerManifest {
  const unzippedSize = packages.reduce((sum, p) => sum + p.bytes, 0)
  return { packages, otherBytes: 0, unzippedSize, zipSize: unzippedSize / 2, fileCount: 1 }
}

describe('compareLayers', () => {
  it('orders versions as PEP 440 does, not as text', () => {
    const changes = compareLayers(
      manifest([pkg('a', '1.9', 10), pkg('b', '2.0', 10), pkg('c', '1.0.post1', 10)]),
      manifest([pkg('a', '1.10', 12), pkg('b', '2.0rc1', 10), pkg('c', '1.0', 10)])
    )
    const kinds = Object.fromEntries(changes.packages.map(p => [p.name, p.kind]))
    expect(kinds).toEqual({ a: 'upgraded', b: 'downgraded', c: 'downgraded' })
    expect(changes.packages.find(p => p.name === 'a')?.bytesDelta).toBe(2)
  })

  it('lists added and removed packages with their versions and sizes, changed ones first', () => {
    const changes = compareLayers(
      manifest([pkg('same', '1', 5), pkg('gone', '3.1', 100)]),
      manifest([pkg('same', '1', 5), pkg('new', '0.2', 40)])
    )
    expect(changes.packages.map(p => [p.name, p.kind, p.bytesDelta])).toEqual([
      ['new', 'added', 40],
      ['gone', 'removed', -100],
      ['same', 'unchanged', 0]
    ])
    expect(changes.identical).toBe(false)
  })

  it('says a package was rebuilt when its version stayed but its shared objects changed, with the glibc floor', () => {
    const before = pkg('fast', '2.0', 50, {
      wheelTags: ['cp312-cp312-manylinux_2_17_x86_64', 'cp312-cp312-manylinux2014_x86_64'],
      sharedObjects: { 'fast/_x.so': 1 }
    })
    const after = pkg('fast', '2.0', 50, {
      wheelTags: ['cp312-cp312-manylinux_2_28_x86_64'],
      sharedObjects: { 'fast/_x.so': 2, 'fast/_y.so': 3 }
    })
    const changes = compareLayers(manifest([before]), manifest([after]))
    expect(changes.packages[0].kind).toBe('rebuilt')
    expect(changes.native).toEqual([
      {
        name: 'fast',
        tagsBefore: before.wheelTags,
        tagsAfter: after.wheelTags,
        sharedObjectsAdded: ['fast/_y.so'],
        sharedObjectsRemoved: [],
        sharedObjectsChanged: ['fast/_x.so']
      }
    ])
    expect(glibcFloor(before.wheelTags)).toBe('2.17')
    expect(glibcFloor(after.wheelTags)).toBe('2.28')
    expect(glibcFloor(['py3-none-any'])).toBeUndefined()
  })

  it('finds nothing to say when the same layer is built again', () => {
    const layer = manifest([pkg('a', '1', 5, { sharedObjects: { 'a/x.so': 9 } })])
    expect(compareLayers(layer, layer).identical).toBe(true)
    expect(compareLayers(layer, layer).native).toEqual([])
  })
})
