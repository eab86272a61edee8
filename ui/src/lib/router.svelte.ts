// Every view is a URL: the page, its filters, time range and selection live in the path and
// query string, so a reload or a shared link reopens the same view.

export interface Route {
  /** The page's name, from the route table. */
  page: string
  /** Path parameters (`/traces/:traceId` → traceId). */
  params: Record<string, string>
}

const ROUTES: [page: string, pattern: string][] = [
  ['traces', '/'],
  ['traces', '/traces'],
  ['compare', '/traces/compare'],
  ['trace', '/traces/:traceId'],
  ['flows', '/flows'],
  ['flow', '/flows/:flowId'],
  ['services', '/services'],
  ['service', '/services/:service'],
  ['breakers', '/breakers'],
  ['health', '/health'],
  ['logs', '/logs'],
  ['switches', '/switches'],
  ['reconciliation', '/reconciliation'],
  ['run', '/reconciliation/runs/:runId'],
  ['finding', '/reconciliation/findings/:findingId'],
  ['alerts', '/alerts'],
  ['signin', '/signin'],
]

/** The page a path shows, or `notfound`. */
export function match(path: string): Route {
  const parts = path.split('/').filter(Boolean)
  for (const [page, pattern] of ROUTES) {
    const want = pattern.split('/').filter(Boolean)
    if (want.length !== parts.length) continue
    const params: Record<string, string> = {}
    let ok = true
    for (const [i, w] of want.entries()) {
      const got = parts[i] ?? ''
      if (w.startsWith(':')) params[w.slice(1)] = decodeURIComponent(got)
      else if (w !== got) ok = false
    }
    if (ok) return { page, params }
  }
  return { page: 'notfound', params: {} }
}

class Location {
  path = $state(window.location.pathname)
  search = $state(window.location.search)
  route = $derived(match(this.path))
  query = $derived(Object.fromEntries(new URLSearchParams(this.search)) as Record<string, string>)

  sync = () => {
    this.path = window.location.pathname
    this.search = window.location.search
  }
}

export const location = new Location()

/** A URL from a path and query values; empty and undefined values are left out. */
export function href(path: string, query: Record<string, string | number | undefined> = {}) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v))
  const s = q.toString()
  return s ? `${path}?${s}` : path
}

export function navigate(url: string, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', url)
  else history.pushState(null, '', url)
  location.sync()
  if (!replace) window.scrollTo(0, 0)
}

/**
 * Changes some query values of the current view. Filters typed into a form replace the
 * history entry (the back button goes to the previous view, not the previous keystroke).
 */
export function setQuery(
  patch: Record<string, string | number | undefined>,
  { replace = true } = {},
) {
  navigate(href(location.path, { ...location.query, ...patch }), { replace })
}

/** Links inside the app change the view without reloading the page. */
export function startRouter() {
  window.addEventListener('popstate', location.sync)
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)
      return
    const a = (e.target as Element | null)?.closest?.('a')
    if (!a || a.target || a.hasAttribute('download')) return
    const url = new URL(a.href, window.location.href)
    if (url.origin !== window.location.origin || url.pathname.startsWith('/api/')) return
    e.preventDefault()
    navigate(url.pathname + url.search + url.hash)
  })
}
