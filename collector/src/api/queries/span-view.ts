// A span as the trace view shows it, read back from the OTLP protobuf `trace_spans` keeps.
// Attributes go through the same flattening as at ingest, so the view matches what search
// filters on: a repeated key keeps its first value, typed values come back typed.
import { ResourceCodec, ScopeCodec, SpanCodec } from '../../otlp/proto.js'
import {
  ATTR_FLOW_ID,
  SERVICE_NAME,
  SPAN_KIND_ENUM,
  SPAN_KINDS,
  STATUS_CODE_ENUM,
  STATUS_CODES,
  UNKNOWN_SERVICE,
} from '../../otlp/semconv.js'
import {
  attributesToJson,
  enumValue,
  flattenAttributes,
  halvesToBigInt,
  hexId,
  timeHalves,
  timeNanos,
  typedAttributes,
} from '../../otlp/values.js'

export interface SpanView {
  spanId: string
  parentSpanId: string
  service: string
  name: string
  kind: string
  startTimeUnixNano: string
  durationNano: string
  status: { code: string; message: string }
  attributes: Record<string, unknown>
  resource: Record<string, unknown>
  scope: { name: string; version: string }
  traceState: string
  events: { timeUnixNano: string; name: string; attributes: Record<string, unknown> }[]
  links: {
    traceId: string
    spanId: string
    traceState: string
    attributes: Record<string, unknown>
  }[]
  flowId: string
}

/** What the spans of one resource and scope share, decoded once per trace. */
export interface SpanOrigin {
  service: string
  resource: Record<string, unknown>
  scope: { name: string; version: string }
}

/** Decodes the stored resource and scope (base64 of their protobuf). */
export function spanOrigin(resource: string, scope: string): SpanOrigin {
  const r = ResourceCodec.decode(Buffer.from(resource, 'base64'))
  const s = ScopeCodec.decode(Buffer.from(scope, 'base64'))
  const flat = flattenAttributes(r.attributes, 'resource.attributes')
  return {
    service: flat.values[SERVICE_NAME] || UNKNOWN_SERVICE,
    resource: typedAttributes(flat.values, flat.types),
    scope: { name: s.name ?? '', version: s.version ?? '' },
  }
}

/** Decodes a stored span (base64 of its protobuf); its start time is returned for sorting. */
export function spanView(span: string, origin: SpanOrigin): { view: SpanView; start: bigint } {
  const s = SpanCodec.decode(Buffer.from(span, 'base64'))
  const start = halvesToBigInt(timeHalves(s.startTimeUnixNano, 'startTimeUnixNano'))
  const end = halvesToBigInt(timeHalves(s.endTimeUnixNano, 'endTimeUnixNano'))
  const attributes = flattenAttributes(s.attributes, 'attributes')
  const view: SpanView = {
    spanId: hexId(s.spanId, 8, 'spanId'),
    parentSpanId: hexId(s.parentSpanId, 8, 'parentSpanId'),
    service: origin.service,
    name: s.name ?? '',
    kind: SPAN_KINDS[enumValue(s.kind, SPAN_KIND_ENUM, 'kind')] ?? 'Unspecified',
    startTimeUnixNano: start.toString(),
    durationNano: (end - start).toString(),
    status: {
      code: STATUS_CODES[enumValue(s.status?.code, STATUS_CODE_ENUM, 'status.code')] ?? 'Unset',
      message: s.status?.message ?? '',
    },
    attributes: typedAttributes(attributes.values, attributes.types),
    resource: origin.resource,
    scope: origin.scope,
    traceState: s.traceState ?? '',
    events: (s.events ?? []).map((e) => ({
      timeUnixNano: timeNanos(e.timeUnixNano, 'events.timeUnixNano').toString(),
      name: e.name ?? '',
      attributes: attributesToJson(e.attributes, 'events.attributes'),
    })),
    links: (s.links ?? []).map((l) => ({
      traceId: hexId(l.traceId, 16, 'links.traceId'),
      spanId: hexId(l.spanId, 8, 'links.spanId'),
      traceState: l.traceState ?? '',
      attributes: attributesToJson(l.attributes, 'links.attributes'),
    })),
    flowId: attributes.values[ATTR_FLOW_ID] ?? '',
  }
  return { view, start }
}
