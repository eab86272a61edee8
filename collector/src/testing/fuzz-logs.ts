// Log bodies for the fuzz test, as OTLP/JSON or protobuf. Some records name a business
// entity and become business events; a refused one must not cost its neighbours.
import fc from 'fast-check'
import type { FuzzBody, LogCheck, Sample } from './fuzz-bodies.js'
import {
  Codecs,
  deepBytes,
  encodeWith,
  envelope,
  field,
  maybeMutated,
  mutate,
  type Mutation,
} from './fuzz-protobuf.js'
import {
  attributes,
  attrsPoisoned,
  BAD_TIMES,
  carried,
  carriedAttributes,
  encodingAnd,
  expected,
  expectedAttributes,
  hexId,
  intOf as int,
  JsonText,
  jsonAttributes,
  jsonValue,
  poisoned,
  protoAttributes,
  protoValue,
  readBack,
  sentTime,
  stringOf as str,
  text,
  value,
  UNCHECKED,
  type Attr,
  type Encoding,
  type Value,
} from './fuzz-values.js'

/** Amounts with whether they are exact decimals the collector takes; mostly they are. */
export const AMOUNTS: [string, boolean][] = [
  ['12.50', true],
  ['0.000000001', true],
  ['-3', true],
  ['99999999999999999999999999999.999999999', true],
  ['', true],
  ['7', true],
  ['0.10', true],
  ['12.50', true],
  ['1e5', false],
  ['12.5.0', false],
  ['1.0000000001', false],
  ['1' + '0'.repeat(40), false],
]
export const CURRENCIES: [string, boolean][] = [
  ['EUR', true],
  ['JPY', true],
  ['CHF', true],
  ['USD', true],
  ['EUR', true],
  ['USD', true],
  ['ZZZ', false],
  ['eur', false],
]

/** Indexes into AMOUNTS and CURRENCIES, one in eight a poison. */
const mostly = (good: number, bad: number): fc.Arbitrary<number> =>
  fc.oneof(
    { weight: 7, arbitrary: fc.nat(good - 1) },
    { weight: 1, arbitrary: fc.integer({ min: good, max: good + bad - 1 }) },
  )
export const amountIndex = mostly(8, 4)
export const currencyIndex = mostly(6, 2)

const modulo = <T>(list: readonly T[], n: number): T => list[n % list.length]!

type LogPoison =
  | { p: 'time' | 'observed'; time: string }
  | { p: 'severity'; value: number }
  | { p: 'traceId' | 'spanId'; id: string }
  | { p: 'json'; field: string; value: unknown }
  | { p: 'eventAttr'; key: string; value: Value }

const WRONG_LOG_FIELDS: [string, unknown][] = [
  ['body', 'plain text'],
  ['severityNumber', 'SEVERITY_NUMBER_NOPE'],
  ['severityNumber', 2.5],
  ['flags', -1],
  ['attributes', [{ key: 7, value: {} }]],
  ['droppedAttributesCount', 'many'],
  ['eventName', 5],
]

const logPoison = (enc: Encoding): fc.Arbitrary<LogPoison> =>
  fc.oneof(
    fc
      .tuple(fc.constantFrom('time' as const, 'observed' as const), fc.constantFrom(...BAD_TIMES))
      .map(([p, time]) => ({ p, time })),
    fc.constantFrom(25, 99).map((value) => ({ p: 'severity' as const, value })),
    // Wrong lengths and all zeroes, in hex and as bytes alike.
    fc.constantFrom('abcd', '0'.repeat(32)).map((id) => ({ p: 'traceId' as const, id })),
    fc.constantFrom('abcd', '0'.repeat(16)).map((id) => ({ p: 'spanId' as const, id })),
    // The fields finance relies on, in the wrong type: an amount or ID as a number.
    fc
      .constantFrom<[string, Value]>(
        ['reckon.amount', { t: 'double', d: 12.5 }],
        ['reckon.event.id', int(5)],
        ['reckon.entity.key', str('')],
      )
      .map(([key, v]) => ({ p: 'eventAttr' as const, key, value: v })),
    ...(enc === 'json'
      ? [
          fc
            .constantFrom(...WRONG_LOG_FIELDS)
            .map(([f, v]) => ({ p: 'json' as const, field: f, value: v })),
        ]
      : []),
  )

interface LogSpec {
  agoMs: number
  severity: number
  severityText: string
  body: Value | undefined
  attributes: Attr[]
  /** Present: the record names a business event. */
  event: { name: string; entity: string; key: string; amount: number; currency: number } | undefined
  poison: LogPoison | undefined
}

const logSpec = (enc: Encoding): fc.Arbitrary<LogSpec> =>
  fc.record({
    agoMs: fc.integer({ min: 1000, max: 1_800_000 }),
    severity: fc.nat(24),
    severityText: text,
    body: fc.option(value, { nil: undefined }),
    attributes: attributes(),
    event: fc.option(
      fc.record({
        name: fc.constantFrom('payment.captured', 'order.created', 'bad name!'),
        entity: fc.constantFrom('payment', 'order', 'bad entity'),
        key: text,
        amount: amountIndex,
        currency: currencyIndex,
      }),
      { nil: undefined, freq: 3 },
    ),
    poison: fc.oneof(
      { weight: 4, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: logPoison(enc) },
    ),
  })

interface LogsSpec {
  enc: Encoding
  traceId: string
  flowId: string
  records: LogSpec[]
  mutations: Mutation[] | undefined
}

const logsSpec: fc.Arbitrary<LogsSpec> = encodingAnd((enc) =>
  fc.record({
    enc: fc.constant(enc),
    traceId: hexId(16),
    flowId: hexId(8).map((h) => `fuzz-flow-${h}`),
    records: fc.array(logSpec(enc), { minLength: 1, maxLength: 6 }),
    mutations: maybeMutated(enc),
  }),
)

function buildLog(s: LogSpec, n: number, l: LogsSpec, now: bigint, out: JsonText) {
  const { enc } = l
  const p = s.poison
  const time = (now - BigInt(s.agoMs) * 1_000_000n).toString()
  const timeText = (p?.p === 'time' ? sentTime(p.time, now, enc) : undefined) ?? time
  const observedText = (p?.p === 'observed' ? sentTime(p.time, now, enc) : undefined) ?? time
  const e = s.event
  const [amount, amountOk] = modulo(AMOUNTS, e?.amount ?? 0)
  const [currency, currencyOk] = modulo(CURRENCIES, e?.currency ?? 0)
  const own = carriedAttributes(s.attributes, enc)
  const attrs: Attr[] = [...own, ['fuzz.n', int(n)], ['reckon.flow.id', str(l.flowId)]]
  if (e) {
    attrs.push(['reckon.entity', str(e.entity)], ['reckon.entity.key', str(e.key)])
    if (amount) attrs.push(['reckon.amount', str(amount)], ['reckon.currency', str(currency)])
  }
  if (p?.p === 'eventAttr') attrs.unshift([p.key, p.value])
  const eventOk =
    !e ||
    (e.name !== 'bad name!' &&
      e.entity !== 'bad entity' &&
      e.key !== '' &&
      e.key.length <= 500 &&
      (!amount || (amountOk && currencyOk)))
  const body = s.body && carried(s.body, enc)
  const severity = p?.p === 'severity' ? p.value : s.severity
  const check: LogCheck = {
    n,
    clean:
      p === undefined &&
      eventOk &&
      !attrsPoisoned(s.attributes) &&
      (!s.body || (!poisoned(s.body) && body?.t === s.body.t)),
    event: e !== undefined && (p?.p !== 'json' || p.field !== 'eventName'),
    fields: e
      ? { key: readBack(e.key, enc), type: e.name, flowId: l.flowId }
      : {
          body: body ? expected(body, enc) : null,
          severityNumber: severity,
          severityText: readBack(s.severityText, enc),
          timeUnixNano: p?.p === 'time' || p?.p === 'observed' ? UNCHECKED : time,
        },
    attributes: expectedAttributes([...own, ['fuzz.n', int(n)]], enc),
  }
  const traceId = p?.p === 'traceId' ? p.id : l.traceId
  const spanId = p?.p === 'spanId' ? p.id : ''
  const json: Record<string, unknown> = {
    timeUnixNano: timeText,
    observedTimeUnixNano: observedText,
    severityNumber: severity,
    severityText: s.severityText,
    ...(s.body ? { body: jsonValue(s.body, out) } : {}),
    attributes: jsonAttributes(attrs, out),
    ...(e ? { eventName: e.name } : {}),
    traceId,
    spanId,
  }
  if (p?.p === 'json') json[p.field] = p.value
  if (enc === 'json') return { json, proto: Buffer.alloc(0), check }
  const pa = protoAttributes(attrs)
  const deepBody = body?.t === 'deep'
  let proto = encodeWith(Codecs.logRecord, {
    timeUnixNano: timeText,
    observedTimeUnixNano: observedText,
    severityNumber: severity,
    severityText: s.severityText,
    ...(body && !deepBody ? { body: protoValue(body) } : {}),
    attributes: pa.objects,
    ...(e ? { eventName: e.name } : {}),
    traceId: Buffer.from(traceId, 'hex'),
    spanId: Buffer.from(spanId, 'hex'),
  })
  // LogRecord.body is field 5 and attributes 6; what protobufjs cannot nest is appended.
  proto = Buffer.concat([
    proto,
    ...(body && deepBody ? [field(5, deepBytes(body.depth))] : []),
    ...pa.raw.map((kv) => field(6, kv)),
  ])
  return { json, proto, check }
}

function logsBody(l: LogsSpec, index: number, now: bigint): FuzzBody {
  const out = new JsonText()
  const built = l.records.map((r, n) => buildLog(r, n, l, now, out))
  const resource = { attributes: [{ key: 'service.name', value: { stringValue: 'fuzz-logs' } }] }
  let payload: Buffer | string
  if (l.enc === 'json') {
    payload = out.stringify({
      resourceLogs: [
        {
          resource,
          scopeLogs: [{ scope: { name: 'fuzz' }, logRecords: built.map((b) => b.json) }],
        },
      ],
    })
  } else {
    payload = envelope(
      resource,
      { name: 'fuzz' },
      built.map((b) => b.proto),
    )
    if (l.mutations) payload = mutate(payload, l.mutations)
  }
  return {
    signal: 'logs',
    label: `logs #${index} (${l.enc}${l.mutations ? ', mutated' : ''})`,
    contentType: l.enc === 'json' ? 'application/json' : 'application/x-protobuf',
    payload,
    ...(l.mutations
      ? {}
      : {
          check: {
            kind: 'logs',
            traceId: l.traceId,
            flowId: l.flowId,
            records: built.map((b) => b.check),
          },
        }),
    traceIds: [l.traceId],
    resend: false,
  }
}

export const logBodies = (sample: Sample, n: number, now: bigint): FuzzBody[] =>
  sample(logsSpec, n, 1).map((l, i) => logsBody(l, i, now))
