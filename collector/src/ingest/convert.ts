// Turning an OTLP request body into encoded rows: the CPU-heavy part of ingest, run on the
// decode threads (decode-pool.ts). Nothing here touches the network or storage.
import { arrival, TooManyItems, type Arrival } from '../otlp-to-native/arrival.js'
import { quoteLargeIntegers } from '../otlp-to-native/json-integers.js'
import { convertLogs, LogConverter, type LogConversion } from '../otlp-to-native/logs.js'
import {
  convertMetrics,
  MetricConverter,
  type MetricConversion,
} from '../otlp-to-native/metrics.js'
import { LogRecordItems, MetricItems, SpanItems, type Signal } from '../otlp-to-native/proto.js'
import { streamRequest } from '../otlp-to-native/request-stream.js'
import { convertTraces, SpanConverter, type SpanConversion } from '../otlp-to-native/traces.js'
import type { LogsRequest, MetricsRequest, TracesRequest } from '../otlp-to-native/types.js'
import { wellFormed } from '../otlp-to-native/well-formed.js'
import type { Table } from '../storage/pipeline.js'
import type { EncodedRows, QueuedRows } from '../storage/writer.js'

export interface Converted<Rows extends QueuedRows = EncodedRows> {
  batches: Partial<Record<Table, Rows>>
  accepted: number
  rejected: number
  errors: string[]
}

/**
 * A body is either converted (some items may be rejected) or refused whole: 400 when it is
 * not a request, 413 when it carries more items than one request may.
 */
export type Conversion<Rows extends QueuedRows = EncodedRows> =
  | { kind: 'converted'; converted: Converted<Rows> }
  | { kind: 'refused'; status: 400 | 413; message: string }

const signalName = (s: Signal): string =>
  s === 'traces' ? 'Trace' : s === 'logs' ? 'Logs' : 'Metrics'

/** A body refused whole, with the message the sender gets. */
class Refused extends Error {}

/** OTLP/JSON: parsed whole, as JSON must be; see json-integers.ts and well-formed.ts. */
function parseJson(signal: Signal, body: Buffer): unknown {
  let parsed: unknown
  try {
    const text = quoteLargeIntegers(body.toString('utf8'))
    parsed = wellFormed(text, JSON.parse(text) as unknown)
  } catch (err) {
    throw new Refused(`body is not valid JSON: ${(err as Error).message}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Refused(`body must be an OTLP/JSON Export${signalName(signal)}ServiceRequest object`)
  }
  return parsed
}

const fromSpans = (c: SpanConversion): Converted => ({
  batches: { spans: c.encoded, trace_spans: c.traceSpans },
  accepted: c.encoded.rows,
  rejected: c.rejected,
  errors: c.errors,
})

const fromLogs = (c: LogConversion): Converted => ({
  batches: { logs: c.logs, business_events: c.events },
  accepted: c.logs.rows + c.events.rows,
  rejected: c.rejected,
  errors: c.errors,
})

const fromMetrics = (c: MetricConversion): Converted => ({
  batches: { metric_points: c.encoded },
  accepted: c.encoded.rows,
  rejected: c.rejected,
  errors: c.errors,
})

/** OTLP/protobuf: item by item as it decodes, so a large request never lives as objects. */
function convertProtobuf(signal: Signal, body: Buffer, at: Arrival): Converted {
  switch (signal) {
    case 'traces': {
      const converter = new SpanConverter(at)
      streamRequest(body, SpanItems, converter, at)
      return fromSpans(converter.finish())
    }
    case 'logs': {
      const converter = new LogConverter(at)
      streamRequest(body, LogRecordItems, converter, at)
      return fromLogs(converter.finish())
    }
    case 'metrics': {
      const converter = new MetricConverter(at)
      streamRequest(body, MetricItems, converter, at)
      return fromMetrics(converter.finish())
    }
  }
}

/** Items in a parsed OTLP/JSON request, counted before any is converted. */
function countItems(signal: Signal, req: unknown): number {
  const r = req as Record<string, { [k: string]: { [k: string]: unknown[] | undefined }[] }[]>
  const [outer, inner, items] =
    signal === 'traces'
      ? ['resourceSpans', 'scopeSpans', 'spans']
      : signal === 'logs'
        ? ['resourceLogs', 'scopeLogs', 'logRecords']
        : ['resourceMetrics', 'scopeMetrics', 'metrics']
  let n = 0
  for (const ri of Array.isArray(r[outer]) ? r[outer] : []) {
    const scopes = ri?.[inner]
    for (const si of Array.isArray(scopes) ? scopes : []) {
      const list = si?.[items]
      if (Array.isArray(list)) n += list.length
    }
  }
  return n
}

function convertJson(signal: Signal, req: unknown, at: Arrival): Converted {
  if (countItems(signal, req) > at.maxItems) {
    throw new TooManyItems(
      signal === 'traces' ? 'spans' : signal === 'logs' ? 'log records' : 'metrics',
      at.maxItems,
    )
  }
  switch (signal) {
    case 'traces':
      return fromSpans(convertTraces(req as TracesRequest, at))
    case 'logs':
      return fromLogs(convertLogs(req as LogsRequest, at))
    case 'metrics':
      return fromMetrics(convertMetrics(req as MetricsRequest, at))
  }
}

const tooMany = (err: TooManyItems): Conversion => ({
  kind: 'refused',
  status: 413,
  message: err.message,
})

/**
 * Decodes and converts one Export*ServiceRequest body; bad input is refused, not thrown.
 * `at` is the request's arrival (a bare time: the default retention and caps).
 */
export function convertBody(
  signal: Signal,
  body: Buffer,
  json: boolean,
  at: Arrival | string,
): Conversion {
  const checked = typeof at === 'string' ? arrival(at) : at
  if (!json) {
    try {
      return { kind: 'converted', converted: convertProtobuf(signal, body, checked) }
    } catch (err) {
      if (err instanceof TooManyItems) return tooMany(err)
      const type = `Export${signalName(signal)}ServiceRequest`
      return {
        kind: 'refused',
        status: 400,
        message: `body is not a valid protobuf ${type}: ${(err as Error).message}`,
      }
    }
  }
  let req: unknown
  try {
    req = parseJson(signal, body)
  } catch (err) {
    if (err instanceof Refused) return { kind: 'refused', status: 400, message: err.message }
    throw err
  }
  try {
    return { kind: 'converted', converted: convertJson(signal, req, checked) }
  } catch (err) {
    if (err instanceof TooManyItems) return tooMany(err)
    return {
      kind: 'refused',
      status: 400,
      message: `body does not match the OTLP/JSON schema: ${(err as Error).message}`,
    }
  }
}
