import { typedAttributes } from '../../otlp/values.js'
import type { Storage } from '../../storage/client.js'
import { inWindow, nanos, select, type Params, type Window } from '../db.js'

export interface SpanView {
  spanId: string
  parentSpanId: string
  service: string
  name: string
  kind: string
  startTimeUnixNano: string
  durationNano: string
  status: { code: string; message: string }
  attributes: Record<string, unknown>
  resource: Record<string, unknown>
  scope: { name: string; version: string }
  traceState: string
  events: { timeUnixNano: string; name: string; attributes: Record<string, unknown> }[]
  links: {
    traceId: string
    spanId: string
    traceState: string
    attributes: Record<string, unknown>
  }[]
  flowId: string
}

export interface TraceView {
  traceId: string
  spans: SpanView[]
  /** True when the trace has more spans than the per-trace limit returned. */
  truncated: boolean
}

export interface TraceSummary {
  traceId: string
  rootService: string
  rootOperation: string
  startTimeUnixNano: string
  durationNano: string
  spanCount: number
  errorCount: number
  services: string[]
}

interface SpanRow {
  span_id: string
  parent_span_id: string
  service_name: string
  span_name: string
  span_kind: string
  start: string
  duration: string
  status_code: string
  status_message: string
  span_attributes: Record<string, string>
  span_attribute_types: Record<string, string>
  resource_attributes: Record<string, string>
  resource_attribute_types: Record<string, string>
  scope_name: string
  scope_version: string
  trace_state: string
  flow_id: string
  event_times: string[]
  event_names: string[]
  event_attributes: string[]
  link_trace_ids: string[]
  link_span_ids: string[]
  link_trace_states: string[]
  link_attributes: string[]
}

const parse = (json: string | undefined): Record<string, unknown> =>
  json ? (JSON.parse(json) as Record<string, unknown>) : {}

function toView(r: SpanRow): SpanView {
  return {
    spanId: r.span_id,
    parentSpanId: r.parent_span_id,
    service: r.service_name,
    name: r.span_name,
    kind: r.span_kind,
    startTimeUnixNano: r.start,
    durationNano: r.duration,
    status: { code: r.status_code, message: r.status_message },
    attributes: typedAttributes(r.span_attributes, r.span_attribute_types),
    resource: typedAttributes(r.resource_attributes, r.resource_attribute_types),
    scope: { name: r.scope_name, version: r.scope_version },
    traceState: r.trace_state,
    events: r.event_names.map((name, i) => ({
      timeUnixNano: r.event_times[i] ?? '0',
      name,
      attributes: parse(r.event_attributes[i]),
    })),
    links: r.link_trace_ids.map((traceId, i) => ({
      traceId,
      spanId: r.link_span_ids[i] ?? '',
      traceState: r.link_trace_states[i] ?? '',
      attributes: parse(r.link_attributes[i]),
    })),
    flowId: r.flow_id,
  }
}

/** Every span of one trace, in start order; a span sent twice (exporter retry) appears once. */
export async function getTrace(
  storage: Storage,
  traceId: string,
  limit: number,
  timeout: number,
): Promise<TraceView | undefined> {
  const rows = await select<SpanRow>(
    storage,
    `SELECT span_id, parent_span_id, service_name, span_name, span_kind,
       ${nanos('timestamp')} AS start, toString(duration_ns) AS duration, status_code, status_message,
       span_attributes, span_attribute_types, resource_attributes, resource_attribute_types,
       scope_name, scope_version, trace_state, flow_id,
       arrayMap(t -> ${nanos('t')}, event_times) AS event_times, event_names, event_attributes,
       link_trace_ids, link_span_ids, link_trace_states, link_attributes
     FROM ${storage.database}.spans_by_trace
     WHERE trace_id = {traceId:String}
     ORDER BY timestamp, span_id
     LIMIT {limit:UInt32}`,
    // Room for duplicates (a batch an exporter sent twice) beyond the limit.
    { traceId, limit: limit * 2 + 1 },
    timeout,
  )
  if (rows.length === 0) return undefined
  const seen = new Set<string>()
  const spans: SpanView[] = []
  let truncated = rows.length > limit * 2
  for (const r of rows) {
    if (seen.has(r.span_id)) continue
    seen.add(r.span_id)
    if (spans.length === limit) {
      truncated = true
      break
    }
    spans.push(toView(r))
  }
  return { traceId, spans, truncated }
}

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
  const where = [inWindow('timestamp')]
  const params: Params = {
    from: q.window.from,
    to: q.window.to,
    limit: q.limit,
    scan: q.limit * 20,
  }
  if (q.service !== undefined) {
    where.push('service_name = {service:String}')
    params.service = q.service
  }
  if (q.operation !== undefined) {
    where.push('span_name = {operation:String}')
    params.operation = q.operation
  }
  if (q.minDurationMs !== undefined) {
    where.push('duration_ns >= {minNs:UInt64}')
    params.minNs = Math.round(q.minDurationMs * 1e6)
  }
  if (q.maxDurationMs !== undefined) {
    where.push('duration_ns <= {maxNs:UInt64}')
    params.maxNs = Math.round(q.maxDurationMs * 1e6)
  }
  if (q.status !== undefined) {
    where.push('status_code = {status:String}')
    params.status = STATUS_VALUE[q.status]
  }
  if (q.flowId !== undefined) {
    where.push('flow_id = {flowId:String}')
    params.flowId = q.flowId
  }
  q.attributes.forEach(([key, value], i) => {
    where.push(`span_attributes[{k${i}:String}] = {v${i}:String}`)
    params[`k${i}`] = key
    params[`v${i}`] = value
  })
  // Take the newest matching spans (bounded), then their distinct traces.
  const ids = await select<{ trace_id: string }>(
    storage,
    `SELECT trace_id, max(timestamp) AS last FROM (
       SELECT trace_id, timestamp FROM ${storage.database}.spans
       WHERE ${where.join(' AND ')}
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
  return traceIds.flatMap((id) => {
    const r = byId.get(id)
    if (!r) return []
    return [
      {
        traceId: id,
        rootService: r.root_service,
        rootOperation: r.root_name,
        startTimeUnixNano: r.start,
        durationNano: (BigInt(r.end) - BigInt(r.start)).toString(),
        spanCount: Number(r.span_count),
        errorCount: Number(r.error_count),
        services: r.services,
      },
    ]
  })
}
