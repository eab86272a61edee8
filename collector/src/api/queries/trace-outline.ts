// GET /api/traces/:id/outline: a whole trace as compact columns in tree order, served a
// window at a time, so the UI opens a million-span trace at once and fetches what the user
// scrolls to. The engine gathers the columns into one row of arrays (one JSON parse, not a
// million); the flattened trace is kept in a cache bounded by spans held.
import type { Static } from 'typebox'
import type { Storage } from '../../storage/client.js'
import type { TraceOutline } from '../schemas.js'
import { select } from '../db.js'
import { flattenTrace, type FlatOutline } from './outline-layout.js'

/** One window of a trace's outline: the API's `TraceOutline` schema. */
export type OutlineWindow = Static<typeof TraceOutline>

interface Cached {
  /** What the trace's summary said when it was read: a change means new spans arrived. */
  stamp: string
  flat: FlatOutline
  startUnixNano: string
  truncated: boolean
}

/** Flattened traces, least recently used first out, bounded by the spans they hold. */
export class OutlineCache {
  readonly #entries = new Map<string, Cached>()
  #spans = 0

  constructor(readonly maxSpans: number) {}

  get(traceId: string, stamp: string): Cached | undefined {
    const hit = this.#entries.get(traceId)
    if (!hit || hit.stamp !== stamp) return undefined
    this.#entries.delete(traceId)
    this.#entries.set(traceId, hit)
    return hit
  }

  set(traceId: string, entry: Cached) {
    this.delete(traceId)
    if (entry.flat.count > this.maxSpans) return
    this.#entries.set(traceId, entry)
    this.#spans += entry.flat.count
    for (const [id, e] of this.#entries) {
      if (this.#spans <= this.maxSpans) break
      this.#entries.delete(id)
      this.#spans -= e.flat.count
    }
  }

  delete(traceId: string) {
    const e = this.#entries.get(traceId)
    if (!e) return
    this.#entries.delete(traceId)
    this.#spans -= e.flat.count
  }

  get spans() {
    return this.#spans
  }
}

interface SummaryRow {
  start: string
  end: string
  span_count: string
}

interface ColumnsRow {
  first: string
  ids: string[]
  parents: string[]
  services: string[]
  names: string[]
  starts: number[]
  durations: number[]
  statuses: number[]
}

export interface OutlineRequest {
  traceId: string
  offset?: number | undefined
  around?: string | undefined
  limit: number
  maxSpans: number
}

/** The outline window asked for, or undefined when no span of the trace is stored. */
export async function traceOutline(
  storage: Storage,
  cache: OutlineCache,
  req: OutlineRequest,
  timeout: number,
): Promise<OutlineWindow | undefined> {
  const db = storage.database
  const [summary] = await select<SummaryRow>(
    storage,
    `SELECT toString(toUnixTimestamp64Nano(min(start))) AS start,
       toString(toUnixTimestamp64Nano(max(end))) AS end, toString(sum(span_count)) AS span_count
     FROM ${db}.trace_summaries WHERE trace_id = {traceId:String} HAVING count() > 0`,
    { traceId: req.traceId },
    timeout,
  )
  if (!summary) return undefined
  const stamp = `${summary.span_count}/${summary.end}`
  let entry = cache.get(req.traceId, stamp)
  if (!entry) {
    const [cols] = await select<ColumnsRow>(
      storage,
      // The trace's time range prunes partitions and the time part of the sort key; LIMIT 1
      // BY drops copies an exporter sent twice.
      `WITH spansOf AS (
         SELECT span_id, parent_span_id, service_name, span_name, timestamp, duration_ns, status_code
         FROM ${db}.spans
         WHERE trace_id = {traceId:String}
           AND timestamp >= fromUnixTimestamp64Nano({from:Int64}, 'UTC')
           AND timestamp <= fromUnixTimestamp64Nano({to:Int64}, 'UTC')
         ORDER BY timestamp, span_id
         LIMIT 1 BY span_id
         LIMIT {room:UInt32}
       )
       SELECT toString(m) AS first, ids, parents, services, names,
         arrayMap(t -> toFloat64(t - m), ts) AS starts, durations, statuses
       FROM (
         SELECT min(toUnixTimestamp64Nano(timestamp)) AS m,
           groupArray(toUnixTimestamp64Nano(timestamp)) AS ts,
           groupArray(span_id) AS ids, groupArray(parent_span_id) AS parents,
           groupArray(toString(service_name)) AS services, groupArray(toString(span_name)) AS names,
           groupArray(toFloat64(duration_ns)) AS durations,
           groupArray(toUInt8(multiIf(status_code = 'Error', 2, status_code = 'Ok', 1, 0))) AS statuses
         FROM spansOf
       )`,
      {
        traceId: req.traceId,
        from: summary.start,
        to: summary.end,
        room: req.maxSpans + 1,
      },
      timeout,
    )
    if (!cols || cols.ids.length === 0) return undefined
    const truncated = cols.ids.length > req.maxSpans
    const n = Math.min(cols.ids.length, req.maxSpans)
    const flat = flattenTrace({
      spanId: cols.ids.slice(0, n),
      parentSpanId: cols.parents.slice(0, n),
      service: cols.services.slice(0, n),
      name: cols.names.slice(0, n),
      start: Float64Array.from(cols.starts.slice(0, n)),
      duration: Float64Array.from(cols.durations.slice(0, n)),
      status: Uint8Array.from(cols.statuses.slice(0, n)),
    })
    entry = { stamp, flat, startUnixNano: cols.first, truncated }
    cache.set(req.traceId, entry)
  }
  return outlineWindow(req, entry)
}

function outlineWindow(req: OutlineRequest, entry: Cached): OutlineWindow {
  const { flat } = entry
  let offset = Math.max(0, Math.min(req.offset ?? 0, Math.max(0, flat.count - 1)))
  if (req.around) {
    const at = flat.spanId.indexOf(req.around)
    if (at >= 0)
      offset = Math.max(0, Math.min(at - Math.floor(req.limit / 2), flat.count - req.limit))
  }
  const end = Math.min(flat.count, offset + req.limit)
  const slice = (a: ArrayLike<number>) =>
    Array.from({ length: end - offset }, (_, k) => a[offset + k] ?? 0)
  // Only the dictionary entries this window uses would be smaller, but one dictionary for
  // every window keeps the client's mapping trivial; it is one entry per distinct name.
  return {
    traceId: req.traceId,
    spanCount: flat.count,
    truncated: entry.truncated,
    startUnixNano: entry.startUnixNano,
    durationNano: String(Math.round(flat.durationNs)),
    maxDepth: flat.maxDepth,
    orphans: flat.orphans,
    cycles: flat.cycles,
    services: flat.services,
    names: flat.names,
    offset,
    rows: {
      spanId: flat.spanId.slice(offset, end),
      parent: slice(flat.parent),
      depth: slice(flat.depth),
      service: slice(flat.service),
      name: slice(flat.name),
      start: slice(flat.start),
      duration: slice(flat.duration),
      status: slice(flat.status),
      size: slice(flat.size),
      critical: slice(flat.critical),
    },
  }
}
