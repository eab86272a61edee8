// Turning an OTLP request body into encoded rows: the CPU-heavy part of ingest, run on the
// decode threads (decode-pool.ts). Nothing here touches the network or storage.
import { convertLogs } from '../otlp/logs.js'
import { convertMetrics } from '../otlp/metrics.js'
import { decodeRequest, type Signal } from '../otlp/proto.js'
import { streamTraces } from '../otlp/trace-stream.js'
import { convertTraces, SpanConverter, type SpanConversion } from '../otlp/traces.js'
import type { LogsRequest, MetricsRequest, TracesRequest } from '../otlp/types.js'
import type { Table } from '../storage/pipeline.js'
import type { EncodedRows } from '../storage/writer.js'

export interface Converted {
  batches: Partial<Record<Table, EncodedRows>>
  accepted: number
  rejected: number
  errors: string[]
}

/** A body is either converted (some items may be rejected) or refused whole (HTTP 400). */
export type Conversion =
  { kind: 'converted'; converted: Converted } | { kind: 'refused'; message: string }

const signalName = (s: Signal): string =>
  s === 'traces' ? 'Trace' : s === 'logs' ? 'Logs' : 'Metrics'

/** A body refused whole, with the message the sender gets. */
class Refused extends Error {}

function decode(signal: Signal, body: Buffer, json: boolean): unknown {
  const type = `Export${signalName(signal)}ServiceRequest`
  if (!json) {
    try {
      return decodeRequest[signal](body)
    } catch (err) {
      throw new Refused(`body is not a valid protobuf ${type}: ${(err as Error).message}`)
    }
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch (err) {
    throw new Refused(`body is not valid JSON: ${(err as Error).message}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Refused(`body must be an OTLP/JSON ${type} object`)
  }
  return parsed
}

const tracesConverted = (c: SpanConversion): Converted => ({
  batches: { spans: c.encoded, trace_spans: c.traceSpans },
  accepted: c.encoded.rows,
  rejected: c.rejected,
  errors: c.errors,
})

function convert(signal: Signal, req: unknown, nowNanos: string): Converted {
  switch (signal) {
    case 'traces':
      return tracesConverted(convertTraces(req as TracesRequest))
    case 'logs': {
      const c = convertLogs(req as LogsRequest, nowNanos)
      return {
        batches: { logs: c.logs, business_events: c.events },
        accepted: c.logs.rows + c.events.rows,
        rejected: c.rejected,
        errors: c.errors,
      }
    }
    case 'metrics': {
      const c = convertMetrics(req as MetricsRequest)
      return {
        batches: { metric_points: c.encoded },
        accepted: c.encoded.rows,
        rejected: c.rejected,
        errors: c.errors,
      }
    }
  }
}

/** Decodes and converts one Export*ServiceRequest body; bad input is refused, not thrown. */
export function convertBody(
  signal: Signal,
  body: Buffer,
  json: boolean,
  nowNanos: string,
): Conversion {
  if (signal === 'traces' && !json) {
    // Span by span as it decodes, so a large request never lives as objects all at once.
    const converter = new SpanConverter()
    try {
      streamTraces(body, converter)
    } catch (err) {
      const message = `body is not a valid protobuf ExportTraceServiceRequest: ${(err as Error).message}`
      return { kind: 'refused', message }
    }
    return { kind: 'converted', converted: tracesConverted(converter.finish()) }
  }
  let req: unknown
  try {
    req = decode(signal, body, json)
  } catch (err) {
    if (err instanceof Refused) return { kind: 'refused', message: err.message }
    throw err
  }
  try {
    return { kind: 'converted', converted: convert(signal, req, nowNanos) }
  } catch (err) {
    // Only malformed OTLP/JSON structure gets here (protobuf decoding yields typed data).
    return {
      kind: 'refused',
      message: `body does not match the OTLP/JSON schema: ${(err as Error).message}`,
    }
  }
}
