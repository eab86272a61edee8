import { typedFromText, typedMap } from '../../otlp-to-native/typed-value.js'
import type { Storage } from '../../storage/client.js'
import { Filter, nanos, select, type Window } from '../db.js'
import type { Static } from 'typebox'
import type { LogRecord } from '../schemas.js'
import { ORIGIN_COLUMNS, originView, type OriginRow } from './origin-view.js'

/** A log record as the API serves it (its `LogRecord` schema). */
export type LogView = Static<typeof LogRecord>

export interface LogFilter {
  service?: string | undefined
  /** At least this severity number (1-24). */
  minSeverity?: number | undefined
  /** Text the body contains, in any case. */
  body?: string | undefined
  traceId?: string | undefined
  spanId?: string | undefined
  flowId?: string | undefined
  window: Window
  limit: number
}

interface Row extends OriginRow {
  ts: string
  observed: string
  service_name: string
  severity_number: number
  severity_text: string
  body: string
  body_type: string
  event_name: string
  log_attributes: Record<string, string>
  log_attribute_types: Record<string, string>
  dropped_attributes: number
  flags: number
  trace_id: string
  span_id: string
  flow_id: string
}

/** Log records matching every filter, newest first. */
export async function findLogs(
  storage: Storage,
  f: LogFilter,
  timeout: number,
): Promise<LogView[]> {
  const filter = new Filter(f.window, 'timestamp', { limit: f.limit })
    .equals('service_name', 'service', f.service)
    .equals('trace_id', 'traceId', f.traceId)
    .equals('span_id', 'spanId', f.spanId)
    .equals('flow_id', 'flowId', f.flowId)
    .when('severity_number >= {minSeverity:UInt8}', { minSeverity: f.minSeverity })
    .when('positionCaseInsensitiveUTF8(body, {body:String}) > 0', { body: f.body })
  const rows = await select<Row>(
    storage,
    `SELECT ${nanos('timestamp')} AS ts, ${nanos('observed_timestamp')} AS observed, service_name,
       severity_number, severity_text, body, body_type, event_name, log_attributes,
       log_attribute_types, dropped_attributes, flags, trace_id, span_id, flow_id, ${ORIGIN_COLUMNS}
     FROM ${storage.database}.logs
     WHERE ${filter.sql}
     ORDER BY timestamp DESC LIMIT {limit:UInt32}`,
    filter.params,
    timeout,
  )
  return rows.map((r) => ({
    timeUnixNano: r.ts,
    observedTimeUnixNano: r.observed,
    service: r.service_name,
    severityNumber: r.severity_number,
    severityText: r.severity_text,
    body: typedFromText(r.body, r.body_type || undefined),
    eventName: r.event_name,
    attributes: typedMap(r.log_attributes, r.log_attribute_types),
    droppedAttributesCount: r.dropped_attributes,
    flags: r.flags,
    traceId: r.trace_id,
    spanId: r.span_id,
    flowId: r.flow_id,
    ...originView(r),
  }))
}
