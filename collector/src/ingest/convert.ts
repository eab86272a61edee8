// Turning an OTLP request body into encoded rows: the CPU-heavy part of ingest, run on the
// decode threads (decode-pool.ts). Nothing here touches the network or storage.
import { convertLogs, LogConverter, type LogConversion } from '../otlp/logs.js'
import { convertMetrics, MetricConverter, type MetricConversion } from '../otlp/metrics.js'
import { LogRecordCodec, MetricCodec, SpanCodec, type Signal } from '../otlp/proto.js'
import { streamRequest } from '../otlp/request-stream.js'
import { convertTraces, SpanConverter, type SpanConversion } from '../otlp/traces.js'
import type { LogsRequest, MetricsRequest, TracesRequest } from '../otlp/types.js'
import type { Table } from '../storage/pipeline.js'
import type { EncodedRows, QueuedRows } from '../storage/writer.js'

export interface Converted<Rows extends QueuedRows = EncodedRows> {
  batches: Partial<Record<Table, Rows>>
  accepted: number
  rejected: number
  errors: string[]
}

/** A body is either converted (some items may be rejected) or refused whole (HTTP 400). */
export type Conversion<Rows extends QueuedRows = EncodedRows> =
  { kind: 'converted'; converted: Converted<Rows> } | { kind: 'refused'; message: string }

const signalName = (s: Signal): string =>
  s === 'traces' ? 'Trace' : s === 'logs' ? 'Logs' : 'Metrics'

/** A body refused whole, with the message the sender gets. */
class Refused extends Error {}

/** OTLP/JSON: parsed whole, as JSON must be. */
function parseJson(signal: Signal, body: Buffer): unknown {
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
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
function convertProtobuf(signal: Signal, body: Buffer, nowNanos: string): Converted {
  switch (signal) {
    case 'traces': {
      const converter = new SpanConverter()
      streamRequest(body, SpanCodec, converter)
      return fromSpans(converter.finish())
    }
    case 'logs': {
      const converter = new LogConverter(nowNanos)
      streamRequest(body, LogRecordCodec, converter)
      return fromLogs(converter.finish())
    }
    case 'metrics': {
      const converter = new MetricConverter()
      streamRequest(body, MetricCodec, converter)
      return fromMetrics(converter.finish())
    }
  }
}

function convertJson(signal: Signal, req: unknown, nowNanos: string): Converted {
  switch (signal) {
    case 'traces':
      return fromSpans(convertTraces(req as TracesRequest))
    case 'logs':
      return fromLogs(convertLogs(req as LogsRequest, nowNanos))
    case 'metrics':
      return fromMetrics(convertMetrics(req as MetricsRequest))
  }
}

/** Decodes and converts one Export*ServiceRequest body; bad input is refused, not thrown. */
export function convertBody(
  signal: Signal,
  body: Buffer,
  json: boolean,
  nowNanos: string,
): Conversion {
  if (!json) {
    try {
      return { kind: 'converted', converted: convertProtobuf(signal, body, nowNanos) }
    } catch (err) {
      const type = `Export${signalName(signal)}ServiceRequest`
      return {
        kind: 'refused',
        message: `body is not a valid protobuf ${type}: ${(err as Error).message}`,
      }
    }
  }
  let req: unknown
  try {
    req = parseJson(signal, body)
  } catch (err) {
    if (err instanceof Refused) return { kind: 'refused', message: err.message }
    throw err
  }
  try {
    return { kind: 'converted', converted: convertJson(signal, req, nowNanos) }
  } catch (err) {
    return {
      kind: 'refused',
      message: `body does not match the OTLP/JSON schema: ${(err as Error).message}`,
    }
  }
}
