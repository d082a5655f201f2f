import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

interface ListingMetadata {
  name: string
  description: string
  branding?: { icon?: string; color?: string }
}

const action = parse(readFileSync('action.yml', 'utf8')) as ListingMetadata

// The Marketplace checks these only when a release is published, so a test checks them first.
describe('action.yml for the GitHub Marketplace', () => {
  it('keeps the description under the 125 characters the Marketplace accepts', () => {
    expect(action.description.length).toBeLessThan(125)
  })

  it('has a short name, not the already listed "Python Lambda Layer"', () => {
    // GitHub documents no length limit for the name; 40 keeps it whole in the listing and its URL
    expect(action.name.length).toBeLessThanOrEqual(40)
    expect(action.name.toLowerCase()).not.toBe('python lambda layer')
  })

  it('has the branding the listing needs: an icon and one of the colours GitHub offers', () => {
    expect(action.branding?.icon).toMatch(/^[a-z0-9-]+$/)
    expect([
      'white',
      'black',
      'yellow',
      'blue',
      'green',
      'orange',
      'red',
      'purple',
      'gray-dark'
    ]).toContain(action.branding?.color)
  })
})
