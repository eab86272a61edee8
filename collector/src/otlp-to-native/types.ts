// The OTLP request shapes Reckon reads, as produced by both decoders: the protobuf one
// (IDs as bytes, 64-bit integers as Long) and OTLP/JSON (IDs as hex, 64-bit as strings).
// Only the fields Reckon stores are listed; everything may be absent.

/** On a span decoded from protobuf: its own encoding, as sent (a view into the request). */
export const SPAN_BYTES = Symbol('span bytes')

/** protobufjs' 64-bit integer, or what OTLP/JSON sends for one. */
export type Int64 = { low: number; high: number; unsigned?: boolean } | string | number
/** Raw bytes (protobuf) or hex text (OTLP/JSON). */
export type Id = Uint8Array | string

export interface AnyValue {
  stringValue?: string | null
  boolValue?: boolean | null
  intValue?: Int64 | null
  doubleValue?: number | string | null
  arrayValue?: { values?: AnyValue[] | null } | null
  kvlistValue?: { values?: KeyValue[] | null } | null
  bytesValue?: Uint8Array | string | null
}

export interface KeyValue {
  key?: string | null
  value?: AnyValue | null
}

export interface Resource {
  attributes?: KeyValue[] | null
  droppedAttributesCount?: number | null
}

export interface Scope {
  name?: string | null
  version?: string | null
  attributes?: KeyValue[] | null
  droppedAttributesCount?: number | null
}

export interface Span {
  /** The span's own protobuf encoding, when it was decoded from protobuf. */
  [SPAN_BYTES]?: Uint8Array
  traceId?: Id | null
  spanId?: Id | null
  traceState?: string | null
  parentSpanId?: Id | null
  flags?: number | null
  name?: string | null
  kind?: number | string | null
  startTimeUnixNano?: Int64 | null
  endTimeUnixNano?: Int64 | null
  attributes?: KeyValue[] | null
  droppedAttributesCount?: number | null
  events?: SpanEvent[] | null
  droppedEventsCount?: number | null
  links?: SpanLink[] | null
  droppedLinksCount?: number | null
  status?: { code?: number | string | null; message?: string | null } | null
}

export interface SpanEvent {
  timeUnixNano?: Int64 | null
  name?: string | null
  attributes?: KeyValue[] | null
  droppedAttributesCount?: number | null
}

export interface SpanLink {
  traceId?: Id | null
  spanId?: Id | null
  traceState?: string | null
  attributes?: KeyValue[] | null
  droppedAttributesCount?: number | null
  flags?: number | null
}

export interface TracesRequest {
  resourceSpans?:
    | {
        resource?: Resource | null
        schemaUrl?: string | null
        scopeSpans?:
          { scope?: Scope | null; schemaUrl?: string | null; spans?: Span[] | null }[] | null
      }[]
    | null
}

export interface LogRecord {
  timeUnixNano?: Int64 | null
  observedTimeUnixNano?: Int64 | null
  severityNumber?: number | string | null
  severityText?: string | null
  body?: AnyValue | null
  attributes?: KeyValue[] | null
  flags?: number | null
  traceId?: Id | null
  spanId?: Id | null
  eventName?: string | null
  droppedAttributesCount?: number | null
}

export interface LogsRequest {
  resourceLogs?:
    | {
        resource?: Resource | null
        schemaUrl?: string | null
        scopeLogs?:
          | { scope?: Scope | null; schemaUrl?: string | null; logRecords?: LogRecord[] | null }[]
          | null
      }[]
    | null
}

export interface NumberPoint {
  attributes?: KeyValue[] | null
  startTimeUnixNano?: Int64 | null
  timeUnixNano?: Int64 | null
  asDouble?: number | string | null
  asInt?: Int64 | null
  flags?: number | null
}

export interface HistogramPoint {
  attributes?: KeyValue[] | null
  startTimeUnixNano?: Int64 | null
  timeUnixNano?: Int64 | null
  count?: Int64 | null
  sum?: number | string | null
  bucketCounts?: Int64[] | null
  explicitBounds?: (number | string)[] | null
  min?: number | string | null
  max?: number | string | null
  flags?: number | null
}

export interface ExponentialHistogramPoint {
  attributes?: KeyValue[] | null
  startTimeUnixNano?: Int64 | null
  timeUnixNano?: Int64 | null
  count?: Int64 | null
  sum?: number | string | null
  scale?: number | null
  zeroCount?: Int64 | null
  positive?: { offset?: number | null; bucketCounts?: Int64[] | null } | null
  negative?: { offset?: number | null; bucketCounts?: Int64[] | null } | null
  min?: number | string | null
  max?: number | string | null
  flags?: number | null
}

export interface SummaryPoint {
  attributes?: KeyValue[] | null
  startTimeUnixNano?: Int64 | null
  timeUnixNano?: Int64 | null
  count?: Int64 | null
  sum?: number | string | null
  quantileValues?: { quantile?: number | string | null; value?: number | string | null }[] | null
  flags?: number | null
}

export interface Metric {
  name?: string | null
  description?: string | null
  unit?: string | null
  gauge?: { dataPoints?: NumberPoint[] | null } | null
  sum?: {
    dataPoints?: NumberPoint[] | null
    aggregationTemporality?: number | string | null
    isMonotonic?: boolean | null
  } | null
  histogram?: {
    dataPoints?: HistogramPoint[] | null
    aggregationTemporality?: number | string | null
  } | null
  exponentialHistogram?: {
    dataPoints?: ExponentialHistogramPoint[] | null
    aggregationTemporality?: number | string | null
  } | null
  summary?: { dataPoints?: SummaryPoint[] | null } | null
}

export interface MetricsRequest {
  resourceMetrics?:
    | {
        resource?: Resource | null
        schemaUrl?: string | null
        scopeMetrics?:
          { scope?: Scope | null; schemaUrl?: string | null; metrics?: Metric[] | null }[] | null
      }[]
    | null
}

/** What a conversion produced: rows to store, and what was refused and why. */
export interface Converted<Row> {
  rows: Row[]
  rejected: number
  /** The first few reasons, for `partial_success.error_message`. */
  errors: string[]
}
