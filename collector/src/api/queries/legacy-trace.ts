import { dict, typedMap, type TypedObject } from '../../otlp/typed-value.js'
import type { Storage } from '../../storage/client.js'
import { nanos, select } from '../db.js'
import type { SpanView } from './span-view.js'

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

const parse = (json: string | undefined): TypedObject =>
  json ? (JSON.parse(json) as TypedObject) : dict()

/** This copy kept no flags, dropped counts, scope attributes or schema URLs. */
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
    attributes: typedMap(r.span_attributes, r.span_attribute_types),
    droppedAttributesCount: 0,
    resource: typedMap(r.resource_attributes, r.resource_attribute_types),
    resourceDroppedAttributesCount: 0,
    resourceSchemaUrl: '',
    scope: {
      name: r.scope_name,
      version: r.scope_version,
      attributes: dict(),
      droppedAttributesCount: 0,
      schemaUrl: '',
    },
    traceState: r.trace_state,
    flags: 0,
    events: r.event_names.map((name, i) => ({
      timeUnixNano: r.event_times[i] ?? '0',
      name,
      attributes: parse(r.event_attributes[i]),
      droppedAttributesCount: 0,
    })),
    droppedEventsCount: 0,
    links: r.link_trace_ids.map((traceId, i) => ({
      traceId,
      spanId: r.link_span_ids[i] ?? '',
      traceState: r.link_trace_states[i] ?? '',
      flags: 0,
      attributes: parse(r.link_attributes[i]),
      droppedAttributesCount: 0,
    })),
    droppedLinksCount: 0,
    flowId: r.flow_id,
  }
}

/**
 * Per database, whether `spans_by_trace` is still there: it is dropped only at a start, so
 * asked once per process. Asked rather than found out by querying it, because over HTTP
 * the ClickHouse client logs every failed query as an error, and a new store has none.
 */
const stillThere = new Map<string, Promise<boolean>>()

function legacyCopyExists(storage: Storage, timeout: number): Promise<boolean> {
  let known = stillThere.get(storage.database)
  if (!known) {
    known = select<{ n: string }>(
      storage,
      `SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = 'spans_by_trace'`,
      { db: storage.database },
      timeout,
    ).then((rows) => Number(rows[0]?.n) > 0)
    // A failed check is asked again next time.
    known.catch(() => stillThere.delete(storage.database))
    stillThere.set(storage.database, known)
  }
  return known
}

/**
 * Spans of a trace stored before migration 6, from the columnar trace-ordered copy that step
 * stopped writing (dropped once retention has emptied it; see migrate.ts). Up to `rows`, in
 * start order; none once the copy is gone.
 */
export async function spansStoredBeforeV6(
  storage: Storage,
  traceId: string,
  rows: number,
  timeout: number,
): Promise<SpanView[]> {
  if (!(await legacyCopyExists(storage, timeout))) return []
  try {
    const found = await select<SpanRow>(
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
     LIMIT {rows:UInt32}`,
      { traceId, rows },
      timeout,
    )
    return found.map(toView)
  } catch (err) {
    // Another Reckon on the same server dropped it at its start since we looked.
    if (!isUnknownTable(err)) throw err
    stillThere.set(storage.database, Promise.resolve(false))
    return []
  }
}

/** ClickHouse error 60, as a server (code, type) or the embedded engine (clickhouseCode) says it. */
function isUnknownTable(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const e = err as Error & { code?: unknown; type?: unknown; clickhouseCode?: unknown }
  return e.type === 'UNKNOWN_TABLE' || e.code === '60' || e.clickhouseCode === 60
}
