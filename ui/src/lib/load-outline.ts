import { api } from './api.js'
import { Outline, PAGE_ROWS, type OutlinePage } from './outline.js'

/** A trace's whole outline, window by window, up to `maxSpans`. */
export async function loadOutline(traceId: string, maxSpans = 200_000): Promise<Outline> {
  const path = `/api/traces/${encodeURIComponent(traceId)}/outline`
  const first = await api.get<OutlinePage>(path, { offset: 0, limit: PAGE_ROWS })
  const o = new Outline(first)
  for (let offset = PAGE_ROWS; offset < Math.min(o.count, maxSpans); offset += PAGE_ROWS)
    o.add(await api.get<OutlinePage>(path, { offset, limit: PAGE_ROWS }))
  return o
}
