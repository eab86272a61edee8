// A span as the trace view shows it, read back from the OTLP protobuf `trace_spans` keeps:
// every field, attribute values in the typed JSON form (typed-value.ts). Each span, event,
// link and attribute is converted on its own: what cannot be is left out and said so in the
// span's `decodeWarning`, and the rest of the span and of the trace is served.
import { ResourceCodec, ScopeCodec } from '../../otlp-to-native/proto.js'
import {
  ATTR_FLOW_ID,
  SERVICE_NAME,
  SPAN_KIND_ENUM,
  SPAN_KINDS,
  STATUS_CODE_ENUM,
  STATUS_CODES,
  UNKNOWN_SERVICE,
} from '../../otlp-to-native/semconv.js'
import {
  dict,
  typedAnyValue,
  type TypedObject,
  type TypedValue,
} from '../../otlp-to-native/typed-value.js'
import type { KeyValue, Span } from '../../otlp-to-native/types.js'
import {
  enumValue,
  halvesToBigInt,
  hexId,
  timeHalves,
  uint32,
  visitAttributes,
} from '../../otlp-to-native/values.js'
import type { Static } from 'typebox'
import type { Scope, Span as SpanSchema } from '../schemas.js'
import { decodeStoredSpan } from './span-decode.js'

export type ScopeView = Static<typeof Scope>

/** A span as the trace view serves it (the API's `Span` schema). */
export type SpanView = Static<typeof SpanSchema>

/** What the spans of one resource and scope share, decoded once per trace. */
export interface SpanOrigin {
  service: string
  resource: TypedObject
  resourceDroppedAttributesCount: number
  resourceSchemaUrl: string
  scope: ScopeView
  /** What of the resource or scope could not be decoded. */
  problems: string[]
}

const describe = (err: unknown): string => (err instanceof Error ? err.message : String(err))

/** Attributes one by one: one that cannot be read back is left out and reported. */
function attributes(kvs: KeyValue[] | null | undefined, what: string, problems: string[]) {
  const out = dict<TypedValue>()
  for (const kv of kvs ?? []) {
    const key = kv?.key
    if (!key || Object.hasOwn(out, key)) continue
    try {
      out[key] = typedAnyValue(kv.value, `${what}.${key}`)
    } catch (err) {
      problems.push(`${what} ${JSON.stringify(key)} left out (${describe(err)})`)
    }
  }
  return out
}

/** Decodes the stored resource and scope (base64 of their protobuf) and their schema URLs. */
export function spanOrigin(
  resource: string,
  scope: string,
  resourceSchemaUrl: string,
  scopeSchemaUrl: string,
): SpanOrigin {
  const problems: string[] = []
  let r: { attributes?: KeyValue[] | null; droppedAttributesCount?: number | null } = {}
  let s: {
    name?: string | null
    version?: string | null
    attributes?: KeyValue[] | null
    droppedAttributesCount?: number | null
  } = {}
  try {
    r = ResourceCodec.decode(Buffer.from(resource, 'base64'))
  } catch (err) {
    problems.push(`the resource could not be decoded (${describe(err)})`)
  }
  try {
    s = ScopeCodec.decode(Buffer.from(scope, 'base64'))
  } catch (err) {
    problems.push(`the scope could not be decoded (${describe(err)})`)
  }
  const resourceAttributes = attributes(r.attributes, 'resource attribute', problems)
  const service = resourceAttributes[SERVICE_NAME]
  return {
    service: typeof service === 'string' && service !== '' ? service : UNKNOWN_SERVICE,
    resource: resourceAttributes,
    resourceDroppedAttributesCount: r.droppedAttributesCount ?? 0,
    resourceSchemaUrl,
    scope: {
      name: s.name ?? '',
      version: s.version ?? '',
      attributes: attributes(s.attributes, 'scope attribute', problems),
      droppedAttributesCount: s.droppedAttributesCount ?? 0,
      schemaUrl: scopeSchemaUrl,
    },
    problems,
  }
}

/** Runs `read`; on failure notes the problem and gives `fallback`. */
function guarded<T>(problems: string[], what: string, fallback: T, read: () => T): T {
  try {
    return read()
  } catch (err) {
    problems.push(`${what} could not be read (${describe(err)})`)
    return fallback
  }
}

/** The flow ID as `spans.flow_id` holds it: the attribute's stored text. */
function flowIdOf(kvs: KeyValue[] | null | undefined): string {
  const kv = kvs?.find((a) => a?.key === ATTR_FLOW_ID)
  let flowId = ''
  if (kv) visitAttributes([kv], 'attributes', (_key, text) => (flowId = text))
  return flowId
}

/**
 * Decodes a stored span (base64 of its protobuf). Its start time is returned for sorting;
 * `rowStart`, the row's own start time, stands in when the span's cannot be read.
 */
export function spanView(
  bytes: string,
  origin: SpanOrigin,
  rowStart: bigint,
): { view: SpanView; start: bigint } {
  const { span: s, problems } = decodeStoredSpan(Buffer.from(bytes, 'base64'))
  problems.push(...origin.problems)
  const time = (field: 'startTimeUnixNano' | 'endTimeUnixNano', fallback: bigint): bigint =>
    guarded(problems, field, fallback, () => halvesToBigInt(timeHalves(s[field], field)))
  const start = s.startTimeUnixNano ? time('startTimeUnixNano', rowStart) : rowStart
  const end = s.endTimeUnixNano ? time('endTimeUnixNano', start) : start
  const id = (field: 'spanId' | 'parentSpanId'): string =>
    guarded(problems, field, '', () => hexId(s[field], 8, field))
  const view: SpanView = {
    spanId: id('spanId'),
    parentSpanId: id('parentSpanId'),
    service: origin.service,
    name: s.name ?? '',
    kind:
      SPAN_KINDS[guarded(problems, 'kind', 0, () => enumValue(s.kind, SPAN_KIND_ENUM, 'kind'))] ??
      'Unspecified',
    startTimeUnixNano: start.toString(),
    durationNano: (end - start).toString(),
    status: {
      code:
        STATUS_CODES[
          guarded(problems, 'status.code', 0, () =>
            enumValue(s.status?.code, STATUS_CODE_ENUM, 'status.code'),
          )
        ] ?? 'Unset',
      message: s.status?.message ?? '',
    },
    attributes: attributes(s.attributes, 'attribute', problems),
    droppedAttributesCount: s.droppedAttributesCount ?? 0,
    resource: origin.resource,
    resourceDroppedAttributesCount: origin.resourceDroppedAttributesCount,
    resourceSchemaUrl: origin.resourceSchemaUrl,
    scope: origin.scope,
    traceState: s.traceState ?? '',
    flags: guarded(problems, 'flags', 0, () => uint32(s.flags, 'flags')),
    events: events(s, problems),
    droppedEventsCount: s.droppedEventsCount ?? 0,
    links: links(s, problems),
    droppedLinksCount: s.droppedLinksCount ?? 0,
    flowId: guarded(problems, 'flow ID', '', () => flowIdOf(s.attributes)),
  }
  if (problems.length > 0) view.decodeWarning = problems.join('; ')
  return { view, start }
}

function events(s: Span, problems: string[]): SpanView['events'] {
  const out: SpanView['events'] = []
  for (const [i, e] of (s.events ?? []).entries()) {
    const time = guarded(problems, `events[${i}].timeUnixNano`, 0n, () =>
      halvesToBigInt(timeHalves(e.timeUnixNano, 'timeUnixNano')),
    )
    out.push({
      timeUnixNano: time.toString(),
      name: e.name ?? '',
      attributes: attributes(e.attributes, `events[${i}] attribute`, problems),
      droppedAttributesCount: e.droppedAttributesCount ?? 0,
    })
  }
  return out
}

function links(s: Span, problems: string[]): SpanView['links'] {
  return (s.links ?? []).map((l, i) => ({
    traceId: guarded(problems, `links[${i}].traceId`, '', () => hexId(l.traceId, 16, 'traceId')),
    spanId: guarded(problems, `links[${i}].spanId`, '', () => hexId(l.spanId, 8, 'spanId')),
    traceState: l.traceState ?? '',
    flags: l.flags ?? 0,
    attributes: attributes(l.attributes, `links[${i}] attribute`, problems),
    droppedAttributesCount: l.droppedAttributesCount ?? 0,
  }))
}

/** A stand-in for a stored row none of which could be read. */
export function undecodableSpan(origin: SpanOrigin, rowStart: bigint, problem: string): SpanView {
  return {
    spanId: '',
    parentSpanId: '',
    service: origin.service,
    name: '',
    kind: 'Unspecified',
    startTimeUnixNano: rowStart.toString(),
    durationNano: '0',
    status: { code: 'Unset', message: '' },
    attributes: dict(),
    droppedAttributesCount: 0,
    resource: origin.resource,
    resourceDroppedAttributesCount: origin.resourceDroppedAttributesCount,
    resourceSchemaUrl: origin.resourceSchemaUrl,
    scope: origin.scope,
    traceState: '',
    flags: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    flowId: '',
    decodeWarning: problem,
  }
}
