// Credentials that can ride inside inputs (index URLs, pip-args), found so they can be masked in
// the log and cut out of every message; and the credentials of the runner and the action, kept
// from the code that packages bring.

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i
const VCS_SCHEME = /^(git|hg|svn|bzr)\+/i
/** A URL inside free text (pip's output, an error): from its scheme to the next white space. */
const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/\S+/gi

/**
 * The user name and password of a URL: everything between `scheme://` and the LAST `@`. `new URL`
 * ends them at the first `/`, `?` or `#`, so a password holding one of those
 * (`https://user:p@ss/w#rd@host/`) would be half missed; taking the last `@` masks too much of a
 * URL with a `@` in its path rather than too little.
 */
export function userInfo(url: string): string | undefined {
  const scheme = SCHEME.exec(url)?.[0] ?? ''
  const rest = url.slice(scheme.length)
  // file:///path has no host, so nothing before its path can be credentials
  if (rest.startsWith('/')) return undefined
  // a VCS URL's path names its revision after a `@` (`repo@v1.2`); pip reads its credentials the
  // standard way, ending at the first `/`, `?` or `#`, so that is all there is to mask
  const authority = VCS_SCHEME.test(scheme) ? rest.split(/[/?#]/)[0] : rest
  const at = authority.lastIndexOf('@')
  return at > 0 ? authority.slice(0, at) : undefined
}

/**
 * The parts of a URL that must never reach a log: the whole URL and its password (or a token
 * given as the user name), as written and percent-decoded. A user name like `aws` or `__token__`
 * is not secret, and masking it would blank every "aws" in the log.
 */
export function urlSecrets(url: string): string[] {
  const credentials = userInfo(url)
  if (credentials === undefined) return []
  const colon = credentials.indexOf(':')
  const user = colon < 0 ? credentials : credentials.slice(0, colon)
  const password = colon < 0 ? '' : credentials.slice(colon + 1)
  const secret = password || user
  return [...new Set([url, secret, decoded(secret)])].filter(part => part.length > 0)
}

/** A `${VAR}` value shorter than this (a version, a region) is not masked: it would blot out log lines. */
const SPLICED_SECRET_MIN = 8

/**
 * The values of `${VAR}`s spliced into a URL outside its user info (a token in the path, as some
 * private indexes take it): pip prints such URLs whole, so they are masked like credentials.
 */
export function splicedSecrets(url: string, values: Iterable<string>): string[] {
  return [...values].filter(value => value.length >= SPLICED_SECRET_MIN && url.includes(value))
}

/**
 * True when the user name or password holds a raw `/`, `?`, `#` or `\`: pip, like `new URL`, ends
 * the host name at the first of them, so it would look up part of the password as a host and send
 * the rest of the credentials there. A space, too: it splits the URL in every log line.
 */
export function credentialsNeedEncoding(url: string): boolean {
  return /[/?#\\\s]/.test(userInfo(url) ?? '')
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
    // one word is one URL to its end, spaces included (a quoted password with a space)
    const start = arg.search(/[a-z][a-z0-9+.-]*:\/\//i)
    return start < 0 ? [] : urlSecrets(arg.slice(start))
  })
}

/** One URL with its user name and password replaced: `https://***@host/simple/`. */
export function redactUrl(url: string): string {
  const credentials = userInfo(url)
  if (credentials === undefined) return url
  const scheme = SCHEME.exec(url)?.[0] ?? ''
  return scheme + '***' + url.slice(scheme.length + credentials.length)
}

/** Text (an error, a line of pip's output) with the credentials of every URL in it replaced. */
export function redact(text: string): string {
  return text.replace(URL_IN_TEXT, redactUrl)
}

/**
 * Environment variables that hold what the runner gives this action (the results and OIDC
 * tokens, the inputs, the file commands that change later steps) or a token for GitHub or AWS.
 * Code from packages (an sdist's build backend, a module imported by the check) never sees them.
 * A deny-list, not an allow-list: pip's own settings come from anywhere in the environment
 * (PIP_*, proxies, certificates, NETRC, keyring backends, pyenv), and a variable the user set
 * for pip, such as a token that requirements.txt names as ${TOKEN}, must keep working.
 */
const WITHHELD_FROM_PACKAGES =
  /^(AWS_|ACTIONS_|INPUT_)|^(GITHUB_TOKEN|GH_TOKEN|GITHUB_ENV|GITHUB_PATH|GITHUB_OUTPUT|GITHUB_STATE|GITHUB_STEP_SUMMARY)$/i

/** The environment for a process that runs package code: this one's, without credentials. */
export function withoutCredentials(env: NodeJS.ProcessEnv): Record<string, string> {
  const kept: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !WITHHELD_FROM_PACKAGES.test(name)) kept[name] = value
  }
  return kept
}

/** Text with each known secret replaced by `***`: for what the runner does not mask (the job summary). */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  return secrets.filter(Boolean).reduce((result, secret) => result.split(secret).join('***'), text)
}
