import {
  LowCardinalityColumn,
  MapColumn,
  type PreparedEntries,
} from '../storage/native-dictionary.js'
import {
  ArrayColumn,
  encodeBlock,
  PlainColumn,
  TIME,
  type ColumnWriter,
} from '../storage/native.js'
import type { EncodedRows } from '../storage/writer.js'
import {
  ATTR_FLOW_ID,
  SERVICE_NAME,
  SPAN_KIND_ENUM,
  SPAN_KINDS,
  STATUS_CODE_ENUM,
  STATUS_CODES,
  UNKNOWN_SERVICE,
} from './semconv.js'
import { arrivingNow, checkCount, oldestKept, type Arrival } from './arrival.js'
import {
  resourceBytes,
  scopeBytes,
  spanBytes,
  TraceSpanColumns,
  writeTraceSpan,
  type TraceSpanOrigin,
} from './span-bytes.js'
import { typedKeyValues } from './typed-value.js'
import type { Resource, Scope, Span, TracesRequest } from './types.js'
import {
  checkId,
  enumValue,
  flattenAttributes,
  InvalidField,
  str,
  halvesToBigInt,
  timeHalves,
  type Halves,
  timeNanos,
  uint32,
  visitAttributes,
} from './values.js'

export interface SpanConversion {
  /** Rows for `spans`. */
  encoded: EncodedRows
  /** The same spans for `trace_spans`. */
  traceSpans: EncodedRows
  rejected: number
  errors: string[]
}

const MAX_ERRORS = 5

/** The `spans` columns, filled span by span. */
class SpanColumns {
  readonly timestamp = new PlainColumn(TIME)
  readonly traceId = new PlainColumn('String')
  readonly spanId = new PlainColumn('String')
  readonly parentSpanId = new PlainColumn('String')
  readonly traceState = new PlainColumn('String')
  readonly flags = new PlainColumn('UInt32')
  readonly service = new LowCardinalityColumn()
  readonly name = new LowCardinalityColumn()
  readonly kind = new LowCardinalityColumn()
  readonly duration = new PlainColumn('UInt64')
  readonly statusCode = new LowCardinalityColumn()
  readonly statusMessage = new PlainColumn('String')
  readonly flowId = new PlainColumn('String')
  readonly scopeName = new LowCardinalityColumn()
  readonly scopeVersion = new LowCardinalityColumn()
  readonly resourceAttributes = new MapColumn('String')
  readonly resourceAttributeTypes = new MapColumn('LowCardinality(String)')
  readonly attributes = new MapColumn('String')
  readonly attributeTypes = new MapColumn('LowCardinality(String)')
  readonly eventTimes = new ArrayColumn(TIME)
  readonly eventNames = new ArrayColumn('String')
  readonly eventAttributes = new ArrayColumn('String')
  readonly linkTraceIds = new ArrayColumn('String')
  readonly linkSpanIds = new ArrayColumn('String')
  readonly linkTraceStates = new ArrayColumn('String')
  readonly linkAttributes = new ArrayColumn('String')
  readonly droppedAttributes = new PlainColumn('UInt32')
  readonly droppedEvents = new PlainColumn('UInt32')
  readonly droppedLinks = new PlainColumn('UInt32')
  rows = 0

  encode(): Buffer {
    const named: [string, ColumnWriter][] = [
      ['timestamp', this.timestamp],
      ['trace_id', this.traceId],
      ['span_id', this.spanId],
      ['parent_span_id', this.parentSpanId],
      ['trace_state', this.traceState],
      ['flags', this.flags],
      ['service_name', this.service],
      ['span_name', this.name],
      ['span_kind', this.kind],
      ['duration_ns', this.duration],
      ['status_code', this.statusCode],
      ['status_message', this.statusMessage],
      ['flow_id', this.flowId],
      ['scope_name', this.scopeName],
      ['scope_version', this.scopeVersion],
      ['resource_attributes', this.resourceAttributes],
      ['resource_attribute_types', this.resourceAttributeTypes],
      ['span_attributes', this.attributes],
      ['span_attribute_types', this.attributeTypes],
      ['event_times', this.eventTimes],
      ['event_names', this.eventNames],
      ['event_attributes', this.eventAttributes],
      ['link_trace_ids', this.linkTraceIds],
      ['link_span_ids', this.linkSpanIds],
      ['link_trace_states', this.linkTraceStates],
      ['link_attributes', this.linkAttributes],
      ['dropped_attributes', this.droppedAttributes],
      ['dropped_events', this.droppedEvents],
      ['dropped_links', this.droppedLinks],
    ]
    return encodeBlock(named, this.rows)
  }
}

/** What every span of one resource and scope shares, checked once. */
interface SpanScope {
  /** Where in `trace_spans` the resource, scope and their schema URLs are. */
  origin: TraceSpanOrigin
  service: string
  attributes: PreparedEntries
  types: PreparedEntries
  scopeName: string
  scopeVersion: string
}

/**
 * Turns spans into `spans` and `trace_spans` rows, one resource and scope at a time: bad
 * spans are counted, not stored. Fed either from a decoded request (`convertTraces`) or
 * span by span while the request is still being decoded (`streamTraces`).
 */
export class SpanConverter {
  private readonly columns = new SpanColumns()
  private readonly byTrace = new TraceSpanColumns()
  private rejected = 0
  private readonly errors: string[] = []
  private resource:
    | {
        index: number
        schemaUrl: number
        service: string
        attributes: PreparedEntries
        types: PreparedEntries
      }
    | undefined
  private scope: SpanScope | undefined
  private readonly limits: SpanLimits

  constructor(arrival: Arrival = arrivingNow()) {
    const oldest = oldestKept(arrival)
    this.limits = {
      oldest: {
        low: Number(oldest & 0xffffffffn) | 0,
        high: Number(BigInt.asIntN(32, oldest >> 32n)),
      },
      retentionDays: arrival.retentionDays,
      maxPerItem: arrival.maxPerItem,
    }
  }

  /** The resource of the spans that follow, until the next call. */
  beginResource(resource: Resource | null | undefined, schemaUrl?: string | null): void {
    const flat = flattenAttributes(resource?.attributes, 'resource.attributes')
    this.resource = {
      index: this.byTrace.resource.indexOfBytes(resourceBytes(resource)),
      schemaUrl: this.byTrace.resourceSchemaUrl.indexOf(str(schemaUrl, 'schemaUrl')),
      service: flat.values[SERVICE_NAME] || UNKNOWN_SERVICE,
      attributes: this.columns.resourceAttributes.prepare(Object.entries(flat.values)),
      types: this.columns.resourceAttributeTypes.prepare(Object.entries(flat.types)),
    }
    this.scope = undefined
  }

  /** The instrumentation scope of the spans that follow, within the current resource. */
  beginScope(scope: Scope | null | undefined, schemaUrl?: string | null): void {
    const resource = this.resource ?? this.beginDefaultResource()
    this.scope = {
      origin: {
        resource: resource.index,
        scope: this.byTrace.scope.indexOfBytes(scopeBytes(scope)),
        resourceSchemaUrl: resource.schemaUrl,
        scopeSchemaUrl: this.byTrace.scopeSchemaUrl.indexOf(str(schemaUrl, 'scope.schemaUrl')),
      },
      service: resource.service,
      attributes: resource.attributes,
      types: resource.types,
      scopeName: str(scope?.name, 'scope.name'),
      scopeVersion: str(scope?.version, 'scope.version'),
    }
  }

  add(span: Span): void {
    const scope = this.scope ?? (this.beginScope(undefined), this.scope)
    try {
      writeSpan(this.columns, this.byTrace, span, scope as SpanScope, this.limits)
    } catch (err) {
      if (!(err instanceof InvalidField)) throw err
      this.reject(err.message)
    }
  }

  /** Counts a span refused before it could be read (request-stream.ts). */
  reject(reason: string): void {
    this.rejected++
    if (this.errors.length < MAX_ERRORS) {
      this.errors.push(`span ${this.columns.rows + this.rejected - 1}: ${reason}`)
    }
  }

  finish(): SpanConversion {
    return {
      encoded: { data: this.columns.encode(), rows: this.columns.rows },
      traceSpans: this.byTrace.encode(),
      rejected: this.rejected,
      errors: this.errors,
    }
  }

  private beginDefaultResource(): NonNullable<SpanConverter['resource']> {
    this.beginResource(undefined)
    return this.resource as NonNullable<SpanConverter['resource']>
  }
}

/** Turns a decoded ExportTraceServiceRequest into `spans` and `trace_spans` rows. */
export function convertTraces(req: TracesRequest, arrival?: Arrival): SpanConversion {
  const converter = new SpanConverter(arrival)
  for (const rs of req.resourceSpans ?? []) {
    converter.beginResource(rs.resource, rs.schemaUrl)
    for (const ss of rs.scopeSpans ?? []) {
      converter.beginScope(ss.scope, ss.schemaUrl)
      for (const span of ss.spans ?? []) converter.add(span)
    }
  }
  return converter.finish()
}

/** What every span is checked against, from the request's `Arrival`. */
interface SpanLimits {
  /** The oldest start time kept, as signed halves like protobufjs' Long. */
  oldest: Halves
  retentionDays: number
  maxPerItem: number
}

/** `a` < `b`, both unsigned 64-bit times as halves. */
const earlier = (a: Halves, b: Halves): boolean =>
  a.high >>> 0 < b.high >>> 0 || (a.high >>> 0 === b.high >>> 0 && a.low >>> 0 < b.low >>> 0)

/**
 * Checks every field before the first column is written, except the attributes: those are
 * written as they are checked, and taken back if one of them is refused.
 */
function writeSpan(
  c: SpanColumns,
  byTrace: TraceSpanColumns,
  span: Span,
  scope: SpanScope,
  limits: SpanLimits,
): void {
  const traceId = checkId(span.traceId, 16, 'traceId')
  const spanId = checkId(span.spanId, 8, 'spanId')
  if (!traceId) throw new InvalidField('traceId is missing')
  if (!spanId) throw new InvalidField('spanId is missing')
  const parentSpanId = checkId(span.parentSpanId, 8, 'parentSpanId')
  const start = timeHalves(span.startTimeUnixNano, 'startTimeUnixNano')
  const end = timeHalves(span.endTimeUnixNano, 'endTimeUnixNano')
  if (start.low === 0 && start.high === 0) throw new InvalidField('startTimeUnixNano is missing')
  if (earlier(start, limits.oldest)) {
    throw new InvalidField(
      `startTimeUnixNano is older than the retention of ${limits.retentionDays} days`,
    )
  }
  checkCount(span.attributes?.length, limits.maxPerItem, 'attributes')
  checkCount(span.events?.length, limits.maxPerItem, 'events')
  checkCount(span.links?.length, limits.maxPerItem, 'links')
  // Exact while below 2^53 ns (104 days); longer spans take the BigInt path.
  let duration: number | bigint =
    ((end.high >>> 0) - (start.high >>> 0)) * 0x100000000 + ((end.low >>> 0) - (start.low >>> 0))
  if (!Number.isSafeInteger(duration)) duration = halvesToBigInt(end) - halvesToBigInt(start)
  if (duration < 0) throw new InvalidField('endTimeUnixNano is before startTimeUnixNano')
  const kindValue = enumValue(span.kind, SPAN_KIND_ENUM, 'kind')
  const kind = SPAN_KINDS[kindValue] ?? 'Unspecified'
  const statusValue = enumValue(span.status?.code, STATUS_CODE_ENUM, 'status.code')
  const status = STATUS_CODES[statusValue] ?? 'Unset'
  const statusMessage = str(span.status?.message, 'status.message')
  const traceState = str(span.traceState, 'traceState')
  const name = str(span.name, 'name')
  const flags = uint32(span.flags, 'flags')
  const dropped = [
    uint32(span.droppedAttributesCount, 'droppedAttributesCount'),
    uint32(span.droppedEventsCount, 'droppedEventsCount'),
    uint32(span.droppedLinksCount, 'droppedLinksCount'),
  ] as const
  const events = span.events?.length ? checkEvents(span) : undefined
  const links = span.links?.length ? checkLinks(span) : undefined
  let flowId = ''
  let bytes: Uint8Array
  c.attributes.beginRow()
  c.attributeTypes.beginRow()
  try {
    visitAttributes(span.attributes, 'attributes', (key, text, type) => {
      // A repeated key keeps its first value, and that value's type.
      if (!c.attributes.set(key, text)) return
      if (type) c.attributeTypes.set(key, type)
      if (key === ATTR_FLOW_ID) flowId = text
    })
    // After the attributes: a value too deep is refused as such, not as unencodable.
    bytes = spanBytes(span, {
      traceId,
      spanId,
      parentSpanId,
      links,
      kind: kindValue,
      status: statusValue,
      start,
      end,
    })
  } catch (err) {
    c.attributes.abortRow()
    c.attributeTypes.abortRow()
    throw err
  }
  c.attributes.endRow()
  c.attributeTypes.endRow()

  c.timestamp.data.halves(start.low, start.high)
  c.traceId.data.id(traceId)
  c.spanId.data.id(spanId)
  c.parentSpanId.data.id(parentSpanId)
  c.traceState.data.string(traceState)
  c.flags.data.uint32(flags)
  c.service.add(scope.service)
  c.name.add(name)
  c.kind.add(kind)
  if (typeof duration === 'number') c.duration.data.uint64n(duration)
  else c.duration.data.uint64(duration)
  c.statusCode.add(status)
  c.statusMessage.data.string(statusMessage)
  c.flowId.data.string(flowId)
  c.scopeName.add(scope.scopeName)
  c.scopeVersion.add(scope.scopeVersion)
  c.resourceAttributes.addRow(scope.attributes)
  c.resourceAttributeTypes.addRow(scope.types)
  writeEvents(c, events)
  writeLinks(c, links)
  c.droppedAttributes.data.uint32(dropped[0])
  c.droppedEvents.data.uint32(dropped[1])
  c.droppedLinks.data.uint32(dropped[2])
  c.rows++
  writeTraceSpan(byTrace, traceId, start, scope.origin, bytes)
}

interface CheckedEvent {
  time: bigint
  name: string
  attributes: string
}

function checkEvents(span: Span): CheckedEvent[] {
  return (span.events ?? []).map((e, i) => ({
    time: timeNanos(e.timeUnixNano, `events[${i}].timeUnixNano`),
    name: str(e.name, `events[${i}].name`),
    attributes: JSON.stringify(typedKeyValues(e.attributes, `events[${i}].attributes`)),
  }))
}

function writeEvents(c: SpanColumns, events: CheckedEvent[] | undefined): void {
  for (const e of events ?? []) {
    c.eventTimes.elements.data.int64(e.time)
    c.eventNames.elements.data.string(e.name)
    c.eventAttributes.elements.data.string(e.attributes)
  }
  const n = events?.length ?? 0
  c.eventTimes.endRow(n)
  c.eventNames.endRow(n)
  c.eventAttributes.endRow(n)
}

interface CheckedLink {
  traceId: Uint8Array | string
  spanId: Uint8Array | string
  traceState: string
  attributes: string
}

function checkLinks(span: Span): CheckedLink[] {
  return (span.links ?? []).map((l, i) => ({
    traceId: checkId(l.traceId, 16, `links[${i}].traceId`),
    spanId: checkId(l.spanId, 8, `links[${i}].spanId`),
    traceState: str(l.traceState, `links[${i}].traceState`),
    attributes: JSON.stringify(typedKeyValues(l.attributes, `links[${i}].attributes`)),
  }))
}

function writeLinks(c: SpanColumns, links: CheckedLink[] | undefined): void {
  for (const l of links ?? []) {
    c.linkTraceIds.elements.data.id(l.traceId)
    c.linkSpanIds.elements.data.id(l.spanId)
    c.linkTraceStates.elements.data.string(l.traceState)
    c.linkAttributes.elements.data.string(l.attributes)
  }
  const n = links?.length ?? 0
  c.linkTraceIds.endRow(n)
  c.linkSpanIds.endRow(n)
  c.linkTraceStates.endRow(n)
  c.linkAttributes.endRow(n)
}
