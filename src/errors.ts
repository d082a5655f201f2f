// The one way the action turns anything thrown into the text a user reads.

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * A failure that belongs at a line of the user's file (a requirement pip could not install):
 * the step fails with one error annotation there, not one there and the same one again without.
 */
export class FailureAt extends Error {
  override name = 'FailureAt'
  constructor(
    message: string,
    /** Workspace-relative, as annotations want it. */
    readonly file: string,
    readonly line: number
  ) {
    super(message)
  }
}
