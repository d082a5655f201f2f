import { describe, expect, it } from 'vitest'
import { mapLimit, settleAll } from '../src/concurrency.js'

const later = <T>(ms: number, value: T, fail = false) =>
  new Promise<T>((resolve, reject) =>
    setTimeout(() => (fail ? reject(new Error(String(value))) : resolve(value)), ms)
  )

describe('settleAll', () => {
  it('gives every value in order', async () => {
    expect(await settleAll([later(20, 'a'), later(1, 2)])).toEqual(['a', 2])
  })

  it('throws the first failure in argument order, once everything has settled', async () => {
    let slowDone = false
    const slow = later(40, 'slow').then(value => {
      slowDone = true
      return value
    })
    // the second fails first in time, the first fails later: the first is the one told
    await expect(
      settleAll([later(20, 'verification', true), later(1, 'zip', true), slow])
    ).rejects.toThrow('verification')
    expect(slowDone).toBe(true)
  })
})

describe('mapLimit', () => {
  it('keeps item order with at most `limit` calls in flight', async () => {
    let inFlight = 0
    let most = 0
    const out = await mapLimit([30, 10, 20, 5], 2, async ms => {
      most = Math.max(most, ++inFlight)
      await later(ms, undefined)
      inFlight--
      return ms * 2
    })
    expect(out).toEqual([60, 20, 40, 10])
    expect(most).toBe(2)
  })
})
