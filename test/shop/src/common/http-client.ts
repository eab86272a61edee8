/** A non-2xx answer, with what retry and breaker predicates read: status and headers. */
export class HttpError extends Error {
  override name = 'HttpError'
  constructor(
    readonly status: number,
    readonly headers: Headers,
    readonly body: string,
  ) {
    super(`HTTP ${status}: ${body.slice(0, 200)}`)
  }
}

/** POSTs JSON with fetch (traced by the SDK's undici instrumentation) and parses the answer. */
export async function postJson<T>(
  url: string,
  body: unknown,
  options: { signal?: AbortSignal | undefined; idempotencyKey?: string } = {},
): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey
  const res = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
    signal: options.signal ?? null,
  })
  const text = await res.text()
  if (!res.ok) throw new HttpError(res.status, res.headers, text)
  return JSON.parse(text) as T
}

/** Business refusals (4xx) are answers, not outages: breakers ignore them. */
export const isBusinessError = (err: unknown): boolean =>
  err instanceof HttpError &&
  err.status >= 400 &&
  err.status < 500 &&
  err.status !== 408 &&
  err.status !== 429
