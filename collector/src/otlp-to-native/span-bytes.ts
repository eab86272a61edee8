// `trace_spans` keeps each span as OTLP protobuf, under its trace ID: a trace view reads a
// few rows of five columns instead of thirty, and writing it costs the engine a fraction
// of a columnar copy (jaeger-clickhouse keeps spans as encoded blobs by trace ID too).
import { LowCardinalityColumn } from '../storage/native-dictionary.js'
import { encodeBlock, PlainColumn, TIME } from '../storage/native.js'
import type { EncodedRows } from '../storage/writer.js'
import { ResourceCodec, ScopeCodec, SpanCodec } from './proto.js'
import { SPAN_BYTES, type Id, type Resource, type Scope, type Span } from './types.js'
import { InvalidField, type Halves } from './values.js'

/** The `trace_spans` columns, a row per accepted span. */
export class TraceSpanColumns {
  readonly traceId = new PlainColumn('String')
  readonly timestamp = new PlainColumn(TIME)
  readonly resource = new LowCardinalityColumn()
  readonly scope = new LowCardinalityColumn()
  readonly span = new PlainColumn('String')
  readonly resourceSchemaUrl = new LowCardinalityColumn()
  readonly scopeSchemaUrl = new LowCardinalityColumn()
  rows = 0

  encode(): EncodedRows {
    const data = encodeBlock(
      [
        ['trace_id', this.traceId],
        ['timestamp', this.timestamp],
        ['resource', this.resource],
        ['scope', this.scope],
        ['span', this.span],
        ['resource_schema_url', this.resourceSchemaUrl],
        ['scope_schema_url', this.scopeSchemaUrl],
      ],
      this.rows,
    )
    return { data, rows: this.rows }
  }
}

/** An OTLP/JSON value that protobufjs cannot take is refused like any bad field. */
function encoded(field: string, encode: () => Uint8Array): Uint8Array {
  try {
    return encode()
  } catch (err) {
    if (err instanceof InvalidField) throw err
    throw new InvalidField(`${field} cannot be encoded: ${(err as Error).message}`)
  }
}

export const resourceBytes = (resource: Resource | null | undefined): Uint8Array =>
  encoded('resource', () => ResourceCodec.encode(ResourceCodec.fromObject(resource ?? {})).finish())

export const scopeBytes = (scope: Scope | null | undefined): Uint8Array =>
  encoded('scope', () => ScopeCodec.encode(ScopeCodec.fromObject(scope ?? {})).finish())

/** What the span's conversion checked and normalised: IDs, enums as numbers, times. */
export interface CheckedSpan {
  traceId: Id
  spanId: Id
  parentSpanId: Id
  links: { traceId: Id; spanId: Id }[] | undefined
  kind: number
  status: number
  start: Halves
  end: Halves
}

const idBytes = (id: Id): Uint8Array => (typeof id === 'string' ? Buffer.from(id, 'hex') : id)

/**
 * The span's protobuf encoding: as sent when it came as protobuf; encoded once here when
 * it came as OTLP/JSON. Only the fields whose JSON form protobufjs cannot write are
 * replaced (hex IDs, enum names, decimal times); attributes, events and the rest are
 * written as they are, having been checked by the conversion.
 */
export function spanBytes(span: Span, checked: CheckedSpan): Uint8Array {
  const sent = span[SPAN_BYTES]
  if (sent) return sent
  return encoded('span', () =>
    SpanCodec.encode({
      ...span,
      traceId: idBytes(checked.traceId),
      spanId: idBytes(checked.spanId),
      parentSpanId: idBytes(checked.parentSpanId),
      kind: checked.kind,
      startTimeUnixNano: checked.start,
      endTimeUnixNano: checked.end,
      status: span.status ? { ...span.status, code: checked.status } : undefined,
      links: span.links?.map((link, i) => ({
        ...link,
        traceId: idBytes(checked.links?.[i]?.traceId ?? ''),
        spanId: idBytes(checked.links?.[i]?.spanId ?? ''),
      })),
    }).finish(),
  )
}

/**
 * Where a span came from, as dictionary indexes into the `trace_spans` columns: the encoded
 * resource and scope (`indexOfBytes`) and the schema URLs of their envelopes (`indexOf`).
 */
export interface TraceSpanOrigin {
  resource: number
  scope: number
  resourceSchemaUrl: number
  scopeSchemaUrl: number
}

/** Appends one row. */
export function writeTraceSpan(
  c: TraceSpanColumns,
  traceId: Id,
  start: Halves,
  origin: TraceSpanOrigin,
  bytes: Uint8Array,
): void {
  c.traceId.data.id(traceId)
  c.timestamp.data.halves(start.low, start.high)
  c.resource.addIndex(origin.resource)
  c.scope.addIndex(origin.scope)
  c.span.data.bytes(bytes)
  c.resourceSchemaUrl.addIndex(origin.resourceSchemaUrl)
  c.scopeSchemaUrl.addIndex(origin.scopeSchemaUrl)
  c.rows++
}
