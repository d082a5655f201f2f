// The one way the action turns anything thrown into the text a user reads.

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
