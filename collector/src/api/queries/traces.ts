import type { Storage } from '../../storage/client.js'
import { setImmediate } from 'node:timers/promises'
import { Filter, nanos, select, selectStream, type Window } from '../db.js'
import {
  spanOrigin,
  spanView,
  undecodableSpan,
  type SpanOrigin,
  type SpanView,
} from './span-view.js'

export interface TraceSummary {
  traceId: string
  /** The root span's service, or the earliest span's while the root has not arrived. */
  rootService: string
  rootOperation: string
  /** No span without a parent has arrived: rootService and rootOperation are the earliest span's. */
  rootMissing: boolean
  startTimeUnixNano: string
  durationNano: string
  spanCount: number
  errorCount: number
  services: string[]
}

/** A trace ready to send: the JSON body of `GET /api/traces/:id` (see `Trace` in schemas.ts). */
export interface TraceJson {
  spanCount: number
  truncated: boolean
  body: string
}

/** A span serialized as soon as it is decoded, with what orders and dedupes it. */
interface SpanEntry {
  start: bigint
  spanId: string
  /** Copies of a span share it: its ID, or its bytes when the ID cannot be read. */
  key: string
  json: string
}

export interface StoredSpanRow {
  resource: string
  scope: string
  span: string
  resource_schema_url: string
  scope_schema_url: string
  start: string
}

/** One stored span, decoded and serialized on its own: whatever it holds, it is shown. */
export function entry(r: StoredSpanRow, origin: SpanOrigin): SpanEntry {
  const rowStart = BigInt(r.start)
  let view: SpanView
  let start = rowStart
  let json: string
  try {
    ;({ view, start } = spanView(r.span, origin, rowStart))
    json = JSON.stringify(view)
  } catch (err) {
    const problem = `the span could not be read (${err instanceof Error ? err.message : String(err)})`
    view = undecodableSpan(origin, rowStart, problem)
    json = JSON.stringify(view)
  }
  return { start, spanId: view.spanId, key: view.spanId || `bytes ${r.span}`, json }
}

/** Spans decoded between yields to the event loop: a 10 000-span trace must not stall it. */
const SPANS_PER_TURN = 250

/**
 * Every span of one trace, in start order; a span sent twice (exporter retry) appears once.
 * Each span becomes JSON as it is decoded, so its decoded form dies young: every view of a
 * large trace alive until the end would take the request into full garbage collections.
 */
export async function getTrace(
  storage: Storage,
  traceId: string,
  limit: number,
  timeout: number,
): Promise<TraceJson | undefined> {
  // Room for duplicates (a batch an exporter sent twice) beyond the limit.
  const room = limit * 2 + 1
  const rows = selectStream<StoredSpanRow>(
    storage,
    `SELECT base64Encode(resource) AS resource, base64Encode(scope) AS scope,
       base64Encode(span) AS span, resource_schema_url, scope_schema_url,
       ${nanos('timestamp')} AS start
     FROM ${storage.database}.trace_spans
     WHERE trace_id = {traceId:String}
     ORDER BY timestamp
     LIMIT {room:UInt32}`,
    { traceId, room },
    timeout,
  )
  const entries: SpanEntry[] = []
  const origins = new Map<string, SpanOrigin>()
  let read = 0
  for await (const r of rows) {
    const key = `${r.resource} ${r.scope} ${r.resource_schema_url} ${r.scope_schema_url}`
    let origin = origins.get(key)
    if (!origin) {
      origin = spanOrigin(r.resource, r.scope, r.resource_schema_url, r.scope_schema_url)
      origins.set(key, origin)
    }
    entries.push(entry(r, origin))
    if (++read % SPANS_PER_TURN === 0) await setImmediate()
  }
  if (entries.length === 0) return undefined
  // Start time, then span ID: one order for spans that start together.
  entries.sort((a, b) => compare(a.start, b.start) || compare(a.spanId, b.spanId))
  let truncated = read === room
  const seen = new Set<string>()
  const spans: string[] = []
  for (const e of entries) {
    if (seen.has(e.key)) continue
    seen.add(e.key)
    if (spans.length === limit) {
      truncated = true
      break
    }
    spans.push(e.json)
  }
  return {
    spanCount: spans.length,
    truncated,
    body: `{"traceId":${JSON.stringify(traceId)},"spans":[${spans.join(',')}],"truncated":${truncated}}`,
  }
}

const compare = <T extends bigint | string>(x: T, y: T): number => (x < y ? -1 : x > y ? 1 : 0)

export interface TraceSearch {
  service?: string | undefined
  operation?: string | undefined
  minDurationMs?: number | undefined
  maxDurationMs?: number | undefined
  status?: 'error' | 'ok' | 'unset' | undefined
  flowId?: string | undefined
  attributes: [string, string][]
  window: Window
  limit: number
}

const STATUS_VALUE = { error: 'Error', ok: 'Ok', unset: 'Unset' } as const

/** Most recent traces with a span matching every filter, newest first. */
export async function searchTraces(
  storage: Storage,
  q: TraceSearch,
  timeout: number,
): Promise<TraceSummary[]> {
  const ns = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms * 1e6))
  const filter = new Filter(q.window, 'timestamp', { limit: q.limit, scan: q.limit * 20 })
    .equals('service_name', 'service', q.service)
    .equals('span_name', 'operation', q.operation)
    .when('duration_ns >= {minNs:UInt64}', { minNs: ns(q.minDurationMs) })
    .when('duration_ns <= {maxNs:UInt64}', { maxNs: ns(q.maxDurationMs) })
    .equals('status_code', 'status', q.status === undefined ? undefined : STATUS_VALUE[q.status])
    .equals('flow_id', 'flowId', q.flowId)
  q.attributes.forEach(([key, value], i) => {
    filter.when(`span_attributes[{k${i}:String}] = {v${i}:String}`, {
      [`k${i}`]: key,
      [`v${i}`]: value,
    })
  })
  const { params } = filter
  // Take the newest matching spans (bounded), then their distinct traces.
  const ids = await select<{ trace_id: string }>(
    storage,
    `SELECT trace_id, max(timestamp) AS last FROM (
       SELECT trace_id, timestamp FROM ${storage.database}.spans
       WHERE ${filter.sql}
       ORDER BY timestamp DESC LIMIT {scan:UInt32}
     ) GROUP BY trace_id ORDER BY last DESC LIMIT {limit:UInt32}`,
    params,
    timeout,
  )
  return summaries(
    storage,
    ids.map((r) => r.trace_id),
    timeout,
  )
}

/** Summaries of the given traces, in the given order. */
export async function summaries(
  storage: Storage,
  traceIds: string[],
  timeout: number,
): Promise<TraceSummary[]> {
  if (traceIds.length === 0) return []
  const rows = await select<{
    trace_id: string
    start: string
    end: string
    span_count: string
    error_count: string
    services: string[]
    root_service: string
    root_name: string
  }>(
    storage,
    `SELECT trace_id, ${nanos('min(start)')} AS start, ${nanos('max(end)')} AS end,
       sum(span_count) AS span_count, sum(error_count) AS error_count,
       arraySort(groupUniqArrayArray(services)) AS services, max(root_service) AS root_service, max(root_name) AS root_name
     FROM ${storage.database}.trace_summaries WHERE trace_id IN {ids:Array(String)}
     GROUP BY trace_id`,
    { ids: traceIds },
    timeout,
  )
  const byId = new Map(rows.map((r) => [r.trace_id, r]))
  // Every span has a service (unknown_service at worst): no root service means no root yet.
  const rootless = rows.filter((r) => r.root_service === '').map((r) => r.trace_id)
  const earliest = await earliestSpans(storage, rootless, timeout)
  return traceIds.flatMap((id) => {
    const r = byId.get(id)
    if (!r) return []
    const stand = r.root_service === '' ? earliest.get(id) : undefined
    return [
      {
        traceId: id,
        rootService: stand?.service ?? r.root_service,
        rootOperation: stand?.name ?? r.root_name,
        rootMissing: r.root_service === '',
        startTimeUnixNano: r.start,
        durationNano: (BigInt(r.end) - BigInt(r.start)).toString(),
        spanCount: Number(r.span_count),
        errorCount: Number(r.error_count),
        services: r.services,
      },
    ]
  })
}

/** The service and name of each trace's earliest span (by start, then by its stored bytes). */
async function earliestSpans(
  storage: Storage,
  traceIds: string[],
  timeout: number,
): Promise<Map<string, { service: string; name: string }>> {
  const out = new Map<string, { service: string; name: string }>()
  if (traceIds.length === 0) return out
  const rows = await select<{ trace_id: string; resource: string; span: string; start: string }>(
    storage,
    `SELECT trace_id, base64Encode(resource) AS resource, base64Encode(span) AS span,
       ${nanos('timestamp')} AS start
     FROM ${storage.database}.trace_spans WHERE trace_id IN {ids:Array(String)}
     ORDER BY trace_id, timestamp, span LIMIT 1 BY trace_id`,
    { ids: traceIds },
    timeout,
  )
  for (const r of rows) {
    try {
      const { view } = spanView(r.span, spanOrigin(r.resource, '', '', ''), BigInt(r.start))
      out.set(r.trace_id, { service: view.service, name: view.name })
    } catch {
      // A span that cannot be read names nothing; the trace view shows why.
    }
  }
  return out
}
