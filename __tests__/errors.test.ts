import { describe, expect, it } from 'vitest'
import { errorMessage } from '../src/errors.js'

describe('errorMessage', () => {
  it('reads errors and anything thrown', () => {
    expect(errorMessage(new Error('boom'))).toBe('boom')
    expect(errorMessage('plain')).toBe('plain')
  })
})
