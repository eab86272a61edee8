import { createRequire } from 'node:module'
import protobuf from 'protobufjs'
import type { ItemKind } from './request-stream.js'
import {
  SPAN_BYTES,
  type LogRecord,
  type LogsRequest,
  type Metric,
  type MetricsRequest,
  type Resource,
  type Scope,
  type Span,
  type TracesRequest,
} from './types.js'

// The OTLP messages, compiled ahead of time from opentelemetry-proto by the OpenTelemetry JS
// project (the last @opentelemetry/otlp-transformer release that shipped them, aliased).
const require = createRequire(import.meta.url)
export const PROTO_ROOT_MODULE =
  require.resolve('otlp-proto-definitions/build/src/generated/root.js')
const root = require(PROTO_ROOT_MODULE) as ProtoRoot

interface Codec<T> {
  /** A whole buffer, or the next `length` bytes of a reader (an embedded message). */
  decode(buf: Uint8Array | protobuf.Reader, length?: number): T
  encode(msg: unknown): { finish(): Uint8Array }
  fromObject(obj: object): T
}
/** protobufjs' generated decoder, as called for a nested message: its length is known. */
type NestedDecode = (reader: { buf: Uint8Array; pos: number } | Uint8Array, length?: number) => Span
interface ProtoRoot {
  opentelemetry: {
    proto: {
      common: { v1: { InstrumentationScope: Codec<Scope> } }
      resource: { v1: { Resource: Codec<Resource> } }
      trace: { v1: { Span: Codec<Span> } }
      logs: { v1: { LogRecord: Codec<LogRecord> } }
      metrics: { v1: { Metric: Codec<Metric> } }
      collector: {
        trace: {
          v1: {
            ExportTraceServiceRequest: Codec<TracesRequest>
            ExportTraceServiceResponse: Codec<unknown>
          }
        }
        logs: {
          v1: {
            ExportLogsServiceRequest: Codec<LogsRequest>
            ExportLogsServiceResponse: Codec<unknown>
          }
        }
        metrics: {
          v1: {
            ExportMetricsServiceRequest: Codec<MetricsRequest>
            ExportMetricsServiceResponse: Codec<unknown>
          }
        }
      }
    }
  }
}

const collector = root.opentelemetry.proto.collector

/** The OTLP messages a stored span is kept as (see `trace_spans`). */
export const SpanCodec = root.opentelemetry.proto.trace.v1.Span
export const ResourceCodec = root.opentelemetry.proto.resource.v1.Resource
export const ScopeCodec = root.opentelemetry.proto.common.v1.InstrumentationScope
const LogRecordCodec = root.opentelemetry.proto.logs.v1.LogRecord
const MetricCodec = root.opentelemetry.proto.metrics.v1.Metric

/** The items of each request, decoded one at a time (request-stream.ts), and their caps. */
export const SpanItems: ItemKind<Span> = {
  plural: 'spans',
  decoder: SpanCodec,
  lists: { 9: 'attributes', 11: 'events', 13: 'links' },
}
export const LogRecordItems: ItemKind<LogRecord> = {
  plural: 'log records',
  decoder: LogRecordCodec,
  lists: { 6: 'attributes' },
}
/** A metric's data points are counted as they are converted (metrics.ts). */
export const MetricItems: ItemKind<Metric> = { plural: 'metrics', decoder: MetricCodec, lists: {} }

// The trace-ordered table stores each span exactly as it was sent. Rather than encode it
// again, the generated decoder is wrapped to note where each span's bytes lie in the
// request (a view, not a copy). Only nested decodes, whose length is known, are marked.
// A span whose text was not well-formed UTF-8 is read with U+FFFD in its place (as protobuf
// decoders do); its bytes as sent would read back differently, so it is encoded anew.
const decodeSpan = SpanCodec.decode.bind(SpanCodec) as NestedDecode
;(SpanCodec as unknown as { decode: NestedDecode }).decode = (reader, length) => {
  if (length === undefined || reader instanceof Uint8Array) return decodeSpan(reader, length)
  const start = reader.pos
  const illFormed = (reader as { illFormed?: number }).illFormed
  const span = decodeSpan(reader, length)
  if ((reader as { illFormed?: number }).illFormed === illFormed) {
    span[SPAN_BYTES] = reader.buf.subarray(start, start + length)
  }
  return span
}

export type Signal = 'traces' | 'logs' | 'metrics'

export const decodeRequest = {
  traces: (buf: Uint8Array): TracesRequest =>
    collector.trace.v1.ExportTraceServiceRequest.decode(buf),
  logs: (buf: Uint8Array): LogsRequest => collector.logs.v1.ExportLogsServiceRequest.decode(buf),
  metrics: (buf: Uint8Array): MetricsRequest =>
    collector.metrics.v1.ExportMetricsServiceRequest.decode(buf),
}

/** The field of `partial_success` that counts rejected items, per signal. */
export const REJECTED_FIELD: Record<Signal, string> = {
  traces: 'rejectedSpans',
  logs: 'rejectedLogRecords',
  metrics: 'rejectedDataPoints',
}

export interface PartialSuccess {
  rejected: number
  errorMessage: string
}

/** Export*ServiceResponse in protobuf. An empty message means full success. */
export function encodeResponse(signal: Signal, partial?: PartialSuccess): Uint8Array {
  const body = partial
    ? {
        partialSuccess: {
          [REJECTED_FIELD[signal]]: partial.rejected,
          errorMessage: partial.errorMessage,
        },
      }
    : {}
  const codec =
    signal === 'traces'
      ? collector.trace.v1.ExportTraceServiceResponse
      : signal === 'logs'
        ? collector.logs.v1.ExportLogsServiceResponse
        : collector.metrics.v1.ExportMetricsServiceResponse
  return codec.encode(body).finish()
}

/** The same response in OTLP/JSON (lowerCamelCase, 64-bit counts as numbers are allowed). */
export function jsonResponse(signal: Signal, partial?: PartialSuccess): Record<string, unknown> {
  return partial
    ? {
        partialSuccess: {
          [REJECTED_FIELD[signal]]: partial.rejected,
          errorMessage: partial.errorMessage,
        },
      }
    : {}
}

// google.rpc.Status is not part of the OTLP protos; declare it with protobufjs reflection.
const StatusType = new protobuf.Type('Status')
  .add(new protobuf.Field('code', 1, 'int32'))
  .add(new protobuf.Field('message', 2, 'string'))
new protobuf.Root().define('google.rpc').add(StatusType)

/** google.rpc.Status codes used by OTLP/HTTP error responses. */
export const RpcCode = {
  INVALID_ARGUMENT: 3,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const

export function encodeStatus(code: number, message: string): Uint8Array {
  return StatusType.encode(StatusType.create({ code, message })).finish()
}

export function decodeStatus(buf: Uint8Array): { code: number; message: string } {
  const msg = StatusType.decode(buf) as unknown as { code: number; message: string }
  return { code: msg.code, message: msg.message }
}
