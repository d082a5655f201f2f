// A parsed Lambda API request, and the model checks every operation shares.
import { invalidRequestContent, violation } from './errors.js'
import type { EmulatorState } from './state.js'

export interface LambdaRequest {
  state: EmulatorState
  region: string
  /** Decoded path labels, e.g. { LayerName, VersionNumber }. */
  params: Record<string, string>
  query: URLSearchParams
  body: Buffer
  /** Lower-cased request headers (Invoke reads X-Amz-Invocation-Type and X-Amz-Log-Type). */
  headers?: Record<string, string | string[] | undefined>
  /** http://127.0.0.1:PORT, for URLs the emulator serves itself. */
  endpoint: string
  isDenied(action: string): boolean
}

export type JsonObject = Record<string, unknown>

export function jsonBody(body: Buffer): JsonObject {
  if (body.length === 0) return {}
  let value: unknown
  try {
    value = JSON.parse(body.toString('utf8'))
  } catch (error) {
    throw invalidRequestContent(`Could not parse request body into json: ${String(error)}`)
  }
  if (!isObject(value)) throw invalidRequestContent('The request body must be a JSON object')
  return value
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function stringField(input: JsonObject, key: string): string | undefined {
  const value = input[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw wrongType(key, 'a string')
  return value
}

export function integerField(input: JsonObject, key: string): number | undefined {
  const value = input[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value)) throw wrongType(key, 'an integer')
  return value
}

export function stringListField(input: JsonObject, key: string): string[] | undefined {
  const value = input[key]
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value) || value.some(item => typeof item !== 'string')) {
    throw wrongType(key, 'a list of strings')
  }
  return value as string[]
}

export function objectField(input: JsonObject, key: string): JsonObject | undefined {
  const value = input[key]
  if (value === undefined || value === null) return undefined
  if (!isObject(value)) throw wrongType(key, 'an object')
  return value
}

function wrongType(key: string, expected: string) {
  return invalidRequestContent(`Could not parse request body into json: ${key} must be ${expected}`)
}

/** A pattern from the Lambda API model: the anchored regex, and the text errors quote. */
export interface ModelPattern {
  regex: RegExp
  text: string
}

export function modelPattern(text: string): ModelPattern {
  return { regex: new RegExp(`^(?:${text})$`), text }
}

// Model constraints, each returning the violations it finds (none when `value` is absent).

export function maxLength(value: string | undefined, member: string, max: number): string[] {
  return value !== undefined && value.length > max
    ? [violation(value, member, `Member must have length less than or equal to ${max}`)]
    : []
}

export function lengthAndPattern(
  value: string | undefined,
  member: string,
  min: number,
  max: number,
  pattern: ModelPattern
): string[] {
  if (value === undefined) return []
  const found: string[] = []
  if (value.length < min) {
    found.push(violation(value, member, `Member must have length greater than or equal to ${min}`))
  }
  if (value.length > max) {
    found.push(violation(value, member, `Member must have length less than or equal to ${max}`))
  }
  if (!pattern.regex.test(value)) {
    found.push(
      violation(value, member, `Member must satisfy regular expression pattern: ${pattern.text}`)
    )
  }
  return found
}

export function required(value: unknown, member: string): string[] {
  return value === undefined ? [violation(undefined, member, 'Member must not be null')] : []
}

export function enumValue(
  value: string | undefined,
  member: string,
  allowed: readonly string[]
): string[] {
  return value !== undefined && !allowed.includes(value)
    ? [violation(value, member, `Member must satisfy enum value set: [${allowed.join(', ')}]`)]
    : []
}

export function enumList(
  values: string[] | undefined,
  member: string,
  max: number,
  allowed: readonly string[]
): string[] {
  if (values === undefined) return []
  const found: string[] = []
  if (values.length > max) {
    found.push(violation(values, member, `Member must have length less than or equal to ${max}`))
  }
  if (values.some(value => !allowed.includes(value))) {
    found.push(
      violation(
        values,
        member,
        `Member must satisfy constraint: [Member must satisfy enum value set: [${allowed.join(', ')}]]`
      )
    )
  }
  return found
}

export function integerRange(
  raw: string | null,
  member: string,
  min: number,
  max: number
): { value?: number; violations: string[] } {
  if (raw === null) return { violations: [] }
  const value = Number(raw)
  if (!/^-?\d+$/.test(raw)) {
    return { violations: [violation(raw, member, 'Member must be an integer')] }
  }
  if (value < min) {
    return {
      violations: [violation(raw, member, `Member must have value greater than or equal to ${min}`)]
    }
  }
  if (value > max) {
    return {
      violations: [violation(raw, member, `Member must have value less than or equal to ${max}`)]
    }
  }
  return { value, violations: [] }
}
