// Credentials that can ride inside inputs (index URLs, pip-args), found so they can be masked in
// the log and cut out of every message.

/**
 * The parts of a URL that must never reach a log: the whole URL and its password (or a token
 * given as the user name). A user name like `aws` or `__token__` is not secret, and masking it
 * would blank every "aws" in the log.
 */
export function urlSecrets(value: string): string[] {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return []
  }
  if (!url.password && !url.username) return []
  const secret = url.password || url.username
  return [value, decoded(secret)].filter(part => part.length > 0)
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** URLs with credentials inside pip-args (an --extra-index-url given there, say). */
export function pipArgSecrets(pipArgs: string[]): string[] {
  return pipArgs.flatMap(arg => {
    const url = /[a-z][a-z0-9+.-]*:\/\/[^\s]+/i.exec(arg)?.[0]
    return url ? urlSecrets(url) : []
  })
}

/** Text with the credentials of every URL in it replaced, for error messages. */
export function redact(value: string): string {
  return value.replace(/\/\/[^/@\s]*@/g, '//***@')
}
