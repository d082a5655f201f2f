import { describe, expect, it } from 'vitest'
import { type Architecture, findRuntime } from '../../src/facts.js'
import {
  type MarkerEnvironment,
  comparePep440Versions,
  lambdaMarkerEnvironment,
  markerMatches,
  parseVersion,
  satisfiesClause,
  satisfiesSpecifiers
} from '../../src/sources/markers.js'

function lambda(runtime: string, architecture: Architecture): MarkerEnvironment {
  const facts = findRuntime(runtime)
  if (!facts) throw new Error(`no runtime ${runtime}`)
  return lambdaMarkerEnvironment({ runtime: facts, architecture })
}

describe('lambdaMarkerEnvironment', () => {
  it('names the arm64 machine aarch64, as Linux reports it', () => {
    expect(lambda('python3.12', 'arm64').platform_machine).toBe('aarch64')
    expect(lambda('python3.12', 'x86_64').platform_machine).toBe('x86_64')
  })

  it('describes CPython on Linux at the runtime Python version', () => {
    expect(lambda('python3.13', 'x86_64')).toMatchObject({
      python_version: '3.13',
      python_full_version: '3.13.0',
      sys_platform: 'linux',
      platform_system: 'Linux',
      os_name: 'posix',
      implementation_name: 'cpython',
      platform_python_implementation: 'CPython'
    })
  })
})

describe('markerMatches for Lambda python3.12 on arm64', () => {
  const env = lambda('python3.12', 'arm64')
  it.each([
    ['sys_platform == "linux"', true],
    ['sys_platform == "win32"', false],
    ["platform_system == 'Windows'", false],
    ['platform_machine == "aarch64"', true],
    // macOS spells its ARM machine "arm64"; Lambda's Linux says aarch64
    ['platform_machine == "arm64"', false],
    ['python_version < "3.11"', false],
    ['python_version >= "3.9" and python_version < "3.13"', true],
    // 3.12 is newer than 3.9 although "3.12" < "3.9" as strings
    ['python_version > "3.9"', true],
    ['python_full_version >= "3.12.0"', true],
    ['python_full_version < "3.12.4"', true],
    ['python_version == "3.12.*"', true],
    ['python_version != "3.12.*"', false],
    ['python_version ~= "3.10"', true],
    ['"3.11" < python_version', true],
    ['python_version in "3.11 3.12"', true],
    ['python_version not in "3.10, 3.11"', true],
    ['python_version in "3.1 3.2"', false],
    ['implementation_name == "cpython" and platform_python_implementation != "PyPy"', true],
    ['os_name == "nt" or sys_platform == "darwin"', false],
    // `and` binds tighter than `or`
    ['sys_platform == "win32" or python_version >= "3.12" and platform_machine == "aarch64"', true],
    [
      '(sys_platform == "win32" or python_version >= "3.12") and platform_machine == "x86_64"',
      false
    ],
    ["os.name == 'posix'", true],
    ['extra == "fast"', false],
    ['extra != "fast"', true]
  ])('%s → %s', (marker, expected) => {
    expect(markerMatches(marker, env)).toBe(expected)
  })

  it('treats extra names as equal when they normalise to the same name', () => {
    expect(markerMatches('extra == "Fast_JSON"', env, new Set(['fast-json']))).toBe(true)
  })

  it('refuses malformed markers with the marker in the message', () => {
    expect(() => markerMatches('python_version >< "3"', env)).toThrow(
      'invalid environment marker "python_version >< "3""'
    )
    expect(() => markerMatches('machine == "x86_64"', env)).toThrow('unknown variable "machine"')
    expect(() => markerMatches('(python_version > "3"', env)).toThrow('missing ")"')
    expect(() => markerMatches('"a" == "b"', env)).toThrow('one variable and one quoted string')
  })
})

describe('PEP 440 ordering', () => {
  it('orders dev, pre, final and post releases', () => {
    const ordered = ['1.0.dev1', '1.0a1', '1.0b2', '1.0rc1', '1.0', '1.0.post1', '1.1', '1.10']
    const parsed = ordered.map(v => parseVersion(v)!)
    for (let i = 1; i < parsed.length; i++)
      expect(
        comparePep440Versions(parsed[i - 1], parsed[i]),
        `${ordered[i - 1]} < ${ordered[i]}`
      ).toBeLessThan(0)
    expect(comparePep440Versions(parseVersion('1.0')!, parseVersion('1.0.0')!)).toBe(0)
  })

  it('keeps pre-releases of a bound out of an exclusive comparison', () => {
    expect(satisfiesClause('3.13.0rc1', '<3.13')).toBe(false)
    expect(satisfiesClause('3.12.9', '<3.13')).toBe(true)
    expect(satisfiesClause('3.12.post1', '>3.12')).toBe(false)
  })

  it('reads specifier sets such as requires-python', () => {
    expect(satisfiesSpecifiers('3.12.0', '>=3.9,<4')).toBe(true)
    expect(satisfiesSpecifiers('3.12.0', '>=3.13')).toBe(false)
    expect(satisfiesSpecifiers('2.32.3', '~=2.31')).toBe(true)
    expect(satisfiesSpecifiers('3.0.0', '~=2.31')).toBe(false)
  })
})
