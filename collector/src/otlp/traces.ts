import { NativeBlock, type NativeColumn } from '../storage/native.js'
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
import type { Span, TracesRequest } from './types.js'
import {
  attributesToJson,
  enumValue,
  flattenAttributes,
  hexId,
  InvalidField,
  str,
  uint32,
  uint64Big,
} from './values.js'

export interface SpanConversion {
  encoded: EncodedRows
  rejected: number
  errors: string[]
}

const MAX_ERRORS = 5

/** The `spans` columns in the order `encodeSpan` produces them. */
const SPAN_COLUMNS = [
  { name: 'timestamp', type: 'DateTime64' },
  { name: 'trace_id', type: 'String' },
  { name: 'span_id', type: 'String' },
  { name: 'parent_span_id', type: 'String' },
  { name: 'trace_state', type: 'String' },
  { name: 'flags', type: 'UInt32' },
  { name: 'service_name', type: 'String' },
  { name: 'span_name', type: 'String' },
  { name: 'span_kind', type: 'String' },
  { name: 'duration_ns', type: 'UInt64' },
  { name: 'status_code', type: 'String' },
  { name: 'status_message', type: 'String' },
  { name: 'flow_id', type: 'String' },
  { name: 'scope_name', type: 'String' },
  { name: 'scope_version', type: 'String' },
  { name: 'resource_attributes', type: 'Map(String, String)' },
  { name: 'resource_attribute_types', type: 'Map(String, String)' },
  { name: 'span_attributes', type: 'Map(String, String)' },
  { name: 'span_attribute_types', type: 'Map(String, String)' },
  { name: 'event_times', type: 'Array(DateTime64)' },
  { name: 'event_names', type: 'Array(String)' },
  { name: 'event_attributes', type: 'Array(String)' },
  { name: 'link_trace_ids', type: 'Array(String)' },
  { name: 'link_span_ids', type: 'Array(String)' },
  { name: 'link_trace_states', type: 'Array(String)' },
  { name: 'link_attributes', type: 'Array(String)' },
  { name: 'dropped_attributes', type: 'UInt32' },
  { name: 'dropped_events', type: 'UInt32' },
  { name: 'dropped_links', type: 'UInt32' },
] as const satisfies readonly NativeColumn[]

type SpanBlock = NativeBlock<typeof SPAN_COLUMNS>

interface SpanResource {
  service: string
  attributes: Record<string, string>
  types: Record<string, string>
  scopeName: string
  scopeVersion: string
}

/** Turns an ExportTraceServiceRequest into `spans` rows; bad spans are counted, not stored. */
export function convertTraces(req: TracesRequest): SpanConversion {
  const block: SpanBlock = new NativeBlock(SPAN_COLUMNS)
  let rejected = 0
  const errors: string[] = []
  for (const rs of req.resourceSpans ?? []) {
    const resource = flattenAttributes(rs.resource?.attributes, 'resource.attributes')
    const service = resource.values[SERVICE_NAME] || UNKNOWN_SERVICE
    for (const ss of rs.scopeSpans ?? []) {
      const context: SpanResource = {
        service,
        attributes: resource.values,
        types: resource.types,
        scopeName: str(ss.scope?.name, 'scope.name'),
        scopeVersion: str(ss.scope?.version, 'scope.version'),
      }
      for (const span of ss.spans ?? []) {
        try {
          encodeSpan(block, span, context)
        } catch (err) {
          if (!(err instanceof InvalidField)) throw err
          rejected++
          if (errors.length < MAX_ERRORS) {
            errors.push(`span ${block.rows + rejected - 1}: ${err.message}`)
          }
        }
      }
    }
  }
  return { encoded: { data: block.encode(), rows: block.rows }, rejected, errors }
}

/** Checks every field first, then appends the row whole. */
function encodeSpan(block: SpanBlock, span: Span, r: SpanResource): void {
  const traceId = hexId(span.traceId, 16, 'traceId')
  const spanId = hexId(span.spanId, 8, 'spanId')
  if (!traceId) throw new InvalidField('traceId is missing')
  if (!spanId) throw new InvalidField('spanId is missing')
  const start = uint64Big(span.startTimeUnixNano, 'startTimeUnixNano')
  const end = uint64Big(span.endTimeUnixNano, 'endTimeUnixNano')
  if (start === 0n) throw new InvalidField('startTimeUnixNano is missing')
  if (end < start) throw new InvalidField('endTimeUnixNano is before startTimeUnixNano')
  const attrs = flattenAttributes(span.attributes, 'attributes')
  const kind = enumValue(span.kind, SPAN_KIND_ENUM, 'kind')
  const status = enumValue(span.status?.code, STATUS_CODE_ENUM, 'status.code')
  const events = span.events ?? []
  const links = span.links ?? []
  block.append([
    start,
    traceId,
    spanId,
    hexId(span.parentSpanId, 8, 'parentSpanId'),
    str(span.traceState, 'traceState'),
    uint32(span.flags, 'flags'),
    r.service,
    str(span.name, 'name'),
    SPAN_KINDS[kind] ?? 'Unspecified',
    end - start,
    STATUS_CODES[status] ?? 'Unset',
    str(span.status?.message, 'status.message'),
    attrs.values[ATTR_FLOW_ID] ?? '',
    r.scopeName,
    r.scopeVersion,
    r.attributes,
    r.types,
    attrs.values,
    attrs.types,
    events.map((e, i) => uint64Big(e.timeUnixNano, `events[${i}].timeUnixNano`)),
    events.map((e, i) => str(e.name, `events[${i}].name`)),
    events.map((e, i) => JSON.stringify(attributesToJson(e.attributes, `events[${i}].attributes`))),
    links.map((l, i) => hexId(l.traceId, 16, `links[${i}].traceId`)),
    links.map((l, i) => hexId(l.spanId, 8, `links[${i}].spanId`)),
    links.map((l, i) => str(l.traceState, `links[${i}].traceState`)),
    links.map((l, i) => JSON.stringify(attributesToJson(l.attributes, `links[${i}].attributes`))),
    uint32(span.droppedAttributesCount, 'droppedAttributesCount'),
    uint32(span.droppedEventsCount, 'droppedEventsCount'),
    uint32(span.droppedLinksCount, 'droppedLinksCount'),
  ])
}
