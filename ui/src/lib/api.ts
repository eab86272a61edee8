// The one way the UI talks to the query API: JSON in and out, the session's CSRF token on
// changes, and errors that say what went wrong in words a user can act on.

/** The API answered with an error; `message` is its own explanation. */
export class ApiError extends Error {
  override name = 'ApiError'
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message)
  }
}

/** The API could not be reached at all (the server is down or the network is). */
export class ApiUnreachable extends Error {
  override name = 'ApiUnreachable'
}

let csrfToken = ''
let onUnauthorized: () => void = () => {}

export function setCsrfToken(token: string) {
  csrfToken = token
}

/** What to do when the API says the caller is not signed in (go to the sign-in page). */
export function setUnauthorizedHandler(fn: () => void) {
  onUnauthorized = fn
}

export type Query = Record<string, string | number | boolean | undefined>

export function apiUrl(path: string, query: Query = {}) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v))
  const s = q.toString()
  return s ? `${path}?${s}` : path
}

async function request<T>(method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken
  let res: Response
  try {
    res = await fetch(url, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? null : JSON.stringify(body),
    })
  } catch {
    throw new ApiUnreachable('The Reckon API cannot be reached. Is the server running?')
  }
  if (res.status === 401 && !url.startsWith('/api/session')) onUnauthorized()
  const text = await res.text()
  let data: unknown = undefined
  try {
    data = text ? JSON.parse(text) : undefined
  } catch {
    data = undefined
  }
  if (!res.ok) {
    const message =
      (data as { message?: string } | undefined)?.message ?? `${res.status} ${res.statusText}`
    const retry = Number(res.headers.get('retry-after'))
    throw new ApiError(res.status, message, Number.isFinite(retry) && retry > 0 ? retry : undefined)
  }
  return data as T
}

export const api = {
  get: <T>(path: string, query?: Query) => request<T>('GET', apiUrl(path, query)),
  post: <T>(path: string, body: unknown = {}) => request<T>('POST', path, body),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
  delete: <T>(path: string) => request<T>('DELETE', path),
}

/** A sentence for any error a call can end in. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError || err instanceof ApiUnreachable) return err.message
  return err instanceof Error ? err.message : String(err)
}
