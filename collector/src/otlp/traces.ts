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
  uint64,
} from './values.js'

export interface SpanConversion {
  encoded: EncodedRows
  rejected: number
  errors: string[]
}

const MAX_ERRORS = 5

/** Turns an ExportTraceServiceRequest into `spans` rows; bad spans are counted, not stored. */
export function convertTraces(req: TracesRequest): SpanConversion {
  let text = ''
  let rows = 0
  let rejected = 0
  const errors: string[] = []
  for (const rs of req.resourceSpans ?? []) {
    const resource = flattenAttributes(rs.resource?.attributes, 'resource.attributes')
    const service = resource.values[SERVICE_NAME] || UNKNOWN_SERVICE
    // Resource part of every row is the same: encode it once per resource.
    const resourceJson = `,"service_name":${JSON.stringify(service)},"resource_attributes":${JSON.stringify(resource.values)},"resource_attribute_types":${JSON.stringify(resource.types)}`
    for (const ss of rs.scopeSpans ?? []) {
      const scopeJson = `,"scope_name":${JSON.stringify(str(ss.scope?.name, 'scope.name'))},"scope_version":${JSON.stringify(str(ss.scope?.version, 'scope.version'))}`
      for (const span of ss.spans ?? []) {
        try {
          text += encodeSpan(span, resourceJson, scopeJson)
          rows++
        } catch (err) {
          if (!(err instanceof InvalidField)) throw err
          rejected++
          if (errors.length < MAX_ERRORS) errors.push(`span ${rows + rejected - 1}: ${err.message}`)
        }
      }
    }
  }
  return { encoded: { text, rows }, rejected, errors }
}

function encodeSpan(span: Span, resourceJson: string, scopeJson: string): string {
  const traceId = hexId(span.traceId, 16, 'traceId')
  const spanId = hexId(span.spanId, 8, 'spanId')
  if (!traceId) throw new InvalidField('traceId is missing')
  if (!spanId) throw new InvalidField('spanId is missing')
  const start = uint64(span.startTimeUnixNano, 'startTimeUnixNano')
  const end = uint64(span.endTimeUnixNano, 'endTimeUnixNano')
  if (start === '0') throw new InvalidField('startTimeUnixNano is missing')
  const duration = BigInt(end) - BigInt(start)
  if (duration < 0n) throw new InvalidField('endTimeUnixNano is before startTimeUnixNano')
  const attrs = flattenAttributes(span.attributes, 'attributes')
  const kind = enumValue(span.kind, SPAN_KIND_ENUM, 'kind')
  const status = enumValue(span.status?.code, STATUS_CODE_ENUM, 'status.code')
  const events = span.events ?? []
  const links = span.links ?? []
  return (
    `{"timestamp":"${start}","trace_id":"${traceId}","span_id":"${spanId}"` +
    `,"parent_span_id":"${hexId(span.parentSpanId, 8, 'parentSpanId')}"` +
    `,"trace_state":${JSON.stringify(str(span.traceState, 'traceState'))},"flags":${uint32(span.flags, 'flags')}` +
    `,"span_name":${JSON.stringify(str(span.name, 'name'))},"span_kind":"${SPAN_KINDS[kind] ?? 'Unspecified'}"` +
    `,"duration_ns":"${duration}","status_code":"${STATUS_CODES[status] ?? 'Unset'}"` +
    `,"status_message":${JSON.stringify(str(span.status?.message, 'status.message'))}` +
    `,"flow_id":${JSON.stringify(attrs.values[ATTR_FLOW_ID] ?? '')}` +
    resourceJson +
    scopeJson +
    `,"span_attributes":${JSON.stringify(attrs.values)},"span_attribute_types":${JSON.stringify(attrs.types)}` +
    `,"event_times":${JSON.stringify(events.map((e, i) => uint64(e.timeUnixNano, `events[${i}].timeUnixNano`)))}` +
    `,"event_names":${JSON.stringify(events.map((e, i) => str(e.name, `events[${i}].name`)))}` +
    `,"event_attributes":${JSON.stringify(events.map((e, i) => JSON.stringify(attributesToJson(e.attributes, `events[${i}].attributes`))))}` +
    `,"link_trace_ids":${JSON.stringify(links.map((l, i) => hexId(l.traceId, 16, `links[${i}].traceId`)))}` +
    `,"link_span_ids":${JSON.stringify(links.map((l, i) => hexId(l.spanId, 8, `links[${i}].spanId`)))}` +
    `,"link_trace_states":${JSON.stringify(links.map((l, i) => str(l.traceState, `links[${i}].traceState`)))}` +
    `,"link_attributes":${JSON.stringify(links.map((l, i) => JSON.stringify(attributesToJson(l.attributes, `links[${i}].attributes`))))}` +
    `,"dropped_attributes":${uint32(span.droppedAttributesCount, 'droppedAttributesCount')},"dropped_events":${uint32(span.droppedEventsCount, 'droppedEventsCount')}` +
    `,"dropped_links":${uint32(span.droppedLinksCount, 'droppedLinksCount')}}\n`
  )
}
