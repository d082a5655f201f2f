import { redact } from './inputs.js'

/**
 * Fails fast, naming the input, when an index URL given to the action cannot be reached:
 * pip would otherwise retry for minutes and then blame the first requirement.
 */
export async function checkIndexes(
  inputs: { indexUrl?: string; extraIndexUrls: string[] },
  timeoutMs = 15_000
): Promise<void> {
  const urls: Array<[string, string]> = [
    ...(inputs.indexUrl ? [['index-url', inputs.indexUrl] as [string, string]] : []),
    ...inputs.extraIndexUrls.map(url => ['extra-index-url', url] as [string, string])
  ]
  await Promise.all(urls.map(([input, url]) => reach(input, url, timeoutMs)))
}

async function reach(input: string, url: string, timeoutMs: number): Promise<void> {
  const parsed = new URL(url)
  if (parsed.protocol === 'file:') return
  // behind a proxy only pip knows how to get out; leave the judgement to it
  if (
    process.env.HTTPS_PROXY ||
    process.env.https_proxy ||
    process.env.HTTP_PROXY ||
    process.env.http_proxy
  )
    return
  // fetch refuses credentials inside the URL; send them as pip would, in a header
  const headers: Record<string, string> = {}
  if (parsed.username || parsed.password) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')}`
    parsed.username = ''
    parsed.password = ''
  }
  try {
    const response = await fetch(parsed, {
      headers,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual'
    })
    await response.body?.cancel()
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause
    const why = cause?.code ?? cause?.message ?? (error as Error).message
    throw new Error(
      `${input}: cannot reach ${redact(url)} (${why}); check the URL and the runner's network`
    )
  }
}
