// Trace bodies for the fuzz test: spans good and poisoned, as OTLP/JSON or protobuf.
import fc from 'fast-check'
import type { FuzzBody, SpanCheck, TracesCheck } from './fuzz-bodies.js'
import {
  Codecs,
  encodeWith,
  envelope,
  field,
  maybeMutated,
  mutate,
  overrun,
  unknownFields,
  type Mutation,
} from './fuzz-protobuf.js'
import {
  attributes,
  attrsPoisoned,
  BAD_TIMES,
  carriedAttributes,
  encodingAnd,
  expectedAttributes,
  hexId,
  JsonText,
  jsonAttributes,
  protoAttributes,
  readBack,
  sentTime,
  text,
  type Attr,
  type Encoding,
} from './fuzz-values.js'

type SpanPoison =
  | { p: 'start'; time: string }
  | { p: 'eventTime'; time: string }
  | { p: 'endBeforeStart' }
  | { p: 'spanId'; id: string }
  | { p: 'traceId'; id: string }
  | { p: 'parent'; id: string }
  | { p: 'kind'; value: number }
  | { p: 'status'; value: number }
  | { p: 'json'; field: string; value: unknown }
  | { p: 'overrun'; past: number }

/** Ways of sending a good span that are legal but unusual: they must be stored too. */
type SpanVariant = 'plain' | 'bareNumbers' | 'enumNames' | 'upperHex' | 'unknownFields'

interface SpanSpec {
  trace: number
  spanId: string
  child: boolean
  name: string
  agoMs: number
  durationNs: number
  kind: number
  status: { code: number; message: string }
  attributes: Attr[]
  events: { name: string; offsetNs: number; attributes: Attr[] }[]
  poison: SpanPoison | undefined
  variant: SpanVariant
}

/** IDs no span may carry, for an 8-byte span ID and a 16-byte trace ID. */
const BAD_IDS = (bytes: number): string[] => [
  '',
  'zz'.repeat(bytes),
  '0'.repeat(bytes * 2),
  'abc',
  'a'.repeat(bytes * 4),
]
const WRONG_SPAN_FIELDS: [string, unknown][] = [
  ['name', 5],
  ['attributes', [{ key: 5, value: { stringValue: 'v' } }]],
  ['attributes', [null]],
  ['status', 'ok'],
  ['flags', -1],
  ['droppedAttributesCount', 1.5],
  ['traceState', 7],
  ['links', [{ traceId: 'zz', spanId: 'zz' }]],
  ['events', [{ timeUnixNano: {}, name: 'e' }]],
]

const spanPoison = (enc: Encoding): fc.Arbitrary<SpanPoison> => {
  const common: fc.Arbitrary<SpanPoison>[] = [
    fc.constantFrom(...BAD_TIMES).map((time) => ({ p: 'start' as const, time })),
    fc.constantFrom(...BAD_TIMES).map((time) => ({ p: 'eventTime' as const, time })),
    fc.constant({ p: 'endBeforeStart' as const }),
    fc.constantFrom(...BAD_IDS(8)).map((id) => ({ p: 'spanId' as const, id })),
    fc.constantFrom(...BAD_IDS(16)).map((id) => ({ p: 'traceId' as const, id })),
    fc.constantFrom(...BAD_IDS(8).slice(1)).map((id) => ({ p: 'parent' as const, id })),
    fc.constantFrom(6, 99, 1 << 30).map((value) => ({ p: 'kind' as const, value })),
    fc.constantFrom(3, 1000).map((value) => ({ p: 'status' as const, value })),
  ]
  if (enc === 'json') {
    common.push(
      fc.constantFrom(...WRONG_SPAN_FIELDS).map(([f, value]) => ({ p: 'json', field: f, value })),
    )
  } else {
    common.push(fc.integer({ min: 1, max: 400 }).map((past) => ({ p: 'overrun' as const, past })))
  }
  return fc.oneof(...common)
}

const spanSpec = (enc: Encoding): fc.Arbitrary<SpanSpec> =>
  fc.record({
    trace: fc.nat(1),
    spanId: hexId(8),
    child: fc.boolean(),
    name: text,
    agoMs: fc.integer({ min: 1000, max: 1_800_000 }),
    durationNs: fc.oneof(fc.nat(10_000_000), fc.constant(0)),
    kind: fc.nat(5),
    status: fc.record({ code: fc.nat(2), message: text }),
    attributes: attributes(),
    events: fc.array(
      fc.record({ name: text, offsetNs: fc.nat(1_000_000), attributes: attributes(2) }),
      { maxLength: 2 },
    ),
    poison: fc.oneof(
      { weight: 4, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: spanPoison(enc) },
    ),
    variant: fc.constantFrom<SpanVariant>(
      'plain',
      'plain',
      ...(enc === 'json'
        ? (['bareNumbers', 'enumNames', 'upperHex'] as const)
        : (['unknownFields'] as const)),
    ),
  })

export interface TraceSpec {
  enc: Encoding
  traceIds: [string, string]
  service: string
  resource: Attr[]
  spans: SpanSpec[]
  /** Random byte changes after encoding (protobuf only): checked as a whole. */
  mutations: Mutation[] | undefined
}

export const traceSpec: fc.Arbitrary<TraceSpec> = encodingAnd((enc) =>
  fc.record({
    enc: fc.constant(enc),
    traceIds: fc.tuple(hexId(16), hexId(16)),
    service: fc.oneof(fc.constant('fuzz'), text),
    // Seldom poisoned: a resource refused takes all its spans with it.
    resource: fc.oneof(
      { weight: 4, arbitrary: fc.constant<Attr[]>([]) },
      { weight: 1, arbitrary: attributes(2) },
    ),
    spans: fc.array(spanSpec(enc), { minLength: 1, maxLength: 6 }),
    mutations: maybeMutated(enc),
  }),
)

const SPAN_KIND_NAMES = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER']

interface BuiltSpan {
  json: Record<string, unknown>
  proto: Buffer
  check: SpanCheck
}

function buildSpan(
  s: SpanSpec,
  t: TraceSpec,
  parent: string,
  now: bigint,
  out: JsonText,
): BuiltSpan {
  const { enc } = t
  const poison = s.poison
  const start = now - BigInt(s.agoMs) * 1_000_000n
  const startText =
    (poison?.p === 'start' ? sentTime(poison.time, now, enc) : undefined) ?? start.toString()
  const end =
    poison?.p === 'endBeforeStart'
      ? (start - 1n).toString()
      : (BigInt(/^\d+$/.test(startText) ? startText : start) + BigInt(s.durationNs)).toString()
  const traceId = poison?.p === 'traceId' ? poison.id : t.traceIds[s.trace]!
  const spanId = poison?.p === 'spanId' ? poison.id : s.spanId
  const parentId = poison?.p === 'parent' ? poison.id : s.child ? parent : ''
  const kind = poison?.p === 'kind' ? poison.value : s.kind
  const code = poison?.p === 'status' ? poison.value : s.status.code
  const eventTime = (i: number): string =>
    (poison?.p === 'eventTime' && i === 0 ? sentTime(poison.time, now, enc) : undefined) ??
    (start + BigInt(s.events[i]!.offsetNs)).toString()
  const attrs = carriedAttributes(s.attributes, enc)
  const check: SpanCheck = {
    spanId: s.spanId,
    clean:
      poison === undefined &&
      !attrsPoisoned(s.attributes) &&
      !s.events.some((e) => attrsPoisoned(e.attributes)),
    name: readBack(s.name, enc),
    startTimeUnixNano: /^\d+$/.test(startText) ? BigInt(startText).toString() : '',
    durationNano: /^\d+$/.test(startText) ? (BigInt(end) - BigInt(startText)).toString() : '',
    attributes: expectedAttributes(attrs, enc),
    eventNames: s.events.map((e) => readBack(e.name, enc)),
  }

  const bare = s.variant === 'bareNumbers'
  const time = (x: string): unknown => (bare && /^\d+$/.test(x) ? out.raw(x) : x)
  const id = (x: string): string => (s.variant === 'upperHex' ? x.toUpperCase() : x)
  const json: Record<string, unknown> = {
    traceId: id(traceId),
    spanId: id(spanId),
    parentSpanId: parentId,
    name: s.name,
    kind: s.variant === 'enumNames' && kind < 6 ? `SPAN_KIND_${SPAN_KIND_NAMES[kind]}` : kind,
    startTimeUnixNano: time(startText),
    endTimeUnixNano: time(end),
    attributes: jsonAttributes(s.attributes, out),
    events: s.events.map((e, i) => ({
      timeUnixNano: time(eventTime(i)),
      name: e.name,
      attributes: jsonAttributes(e.attributes, out),
    })),
    status: { code, message: s.status.message },
  }
  if (poison?.p === 'json') {
    json[poison.field] = poison.value
    if (poison.field === 'events') check.eventNames = ['e']
  }
  if (enc === 'json') return { json, proto: Buffer.alloc(0), check }

  const pa = protoAttributes(attrs)
  const bytes = (h: string): Buffer => Buffer.from(h.length % 2 === 0 ? h : `${h}0`, 'hex')
  let proto = encodeWith(Codecs.span, {
    traceId: bytes(traceId),
    spanId: bytes(spanId),
    parentSpanId: bytes(parentId),
    name: s.name,
    kind,
    startTimeUnixNano: startText,
    endTimeUnixNano: end,
    attributes: pa.objects,
    events: s.events.map((e, i) => ({
      timeUnixNano: eventTime(i),
      name: e.name,
      attributes: protoAttributes(carriedAttributes(e.attributes, enc, false)).objects,
    })),
    status: { code, message: s.status.message },
  })
  // Span.attributes is field 9; values too deep for protobufjs are appended as bytes.
  proto = Buffer.concat([proto, ...pa.raw.map((kv) => field(9, kv))])
  if (s.variant === 'unknownFields') proto = Buffer.concat([proto, unknownFields()])
  if (poison?.p === 'overrun') proto = Buffer.concat([proto, overrun(poison.past)])
  return { json, proto, check }
}

export function traceBody(t: TraceSpec, index: number, now: bigint): FuzzBody {
  const out = new JsonText()
  const parent = t.spans[0]!.spanId
  const built = t.spans.map((s) => buildSpan(s, t, parent, now, out))
  const resourceAttrs: Attr[] = [['service.name', { t: 'string', s: t.service }], ...t.resource]
  const label = `traces #${index} (${t.enc}${t.mutations ? ', mutated' : ''})`
  const check: TracesCheck = {
    kind: 'traces',
    spans: built.map((b) => b.check),
  }
  // A resource that may be refused takes its spans with it: they are not clean.
  if (attrsPoisoned(resourceAttrs)) for (const c of check.spans) c.clean = false
  let payload: Buffer | string
  if (t.enc === 'json') {
    payload = out.stringify({
      resourceSpans: [
        {
          resource: { attributes: jsonAttributes(resourceAttrs, out) },
          scopeSpans: [{ scope: { name: 'fuzz', version: '1' }, spans: built.map((b) => b.json) }],
        },
      ],
    })
  } else {
    const resource = protoAttributes(carriedAttributes(resourceAttrs, t.enc, false))
    payload = envelope(
      { attributes: resource.objects },
      { name: 'fuzz', version: '1' },
      built.map((b) => b.proto),
    )
    if (t.mutations) payload = mutate(payload, t.mutations)
  }
  return {
    signal: 'traces',
    label,
    contentType: t.enc === 'json' ? 'application/json' : 'application/x-protobuf',
    payload,
    ...(t.mutations ? {} : { check }),
    traceIds: [...t.traceIds],
    resend: false,
  }
}
