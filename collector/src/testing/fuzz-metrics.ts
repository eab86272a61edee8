// Metric bodies for the fuzz test, as OTLP/JSON or protobuf: every kind of point, with the
// values JSON cannot write (NaN, the infinities, -0) and counts up to 2^64 - 1.
import fc from 'fast-check'
import type { FuzzBody, MetricsCheck, PointCheck, Sample } from './fuzz-bodies.js'
import {
  Codecs,
  encodeWith,
  envelope,
  maybeMutated,
  mutate,
  type Mutation,
} from './fuzz-protobuf.js'
import {
  attributes,
  attrsPoisoned,
  BAD_TIMES,
  carriedAttributes,
  double,
  encodingAnd,
  expectedAttributes,
  hexId,
  intOf as int,
  JsonText,
  jsonAttributes,
  protoAttributes,
  readBack,
  sentTime,
  text,
  UNCHECKED,
  type Attr,
  type Encoding,
  type Expected,
} from './fuzz-values.js'

type MetricKind = 'gauge' | 'sum' | 'histogram' | 'exponentialHistogram' | 'summary'

type PointPoison =
  | { p: 'time' | 'start'; time: string }
  | { p: 'count'; text: string }
  | { p: 'buckets' }
  | { p: 'json'; field: string; value: unknown }

const WRONG_POINT_FIELDS: [string, unknown][] = [
  ['asInt', '9223372036854775808'],
  ['asInt', 1.5],
  ['asDouble', 'x'],
  ['flags', -1],
  ['scale', 2 ** 31],
  ['attributes', [{ key: 7, value: {} }]],
]

interface PointSpec {
  agoMs: number
  value: number
  asInt: bigint | undefined
  attributes: Attr[]
  counts: number[]
  poison: PointPoison | undefined
}

const pointSpec = (enc: Encoding): fc.Arbitrary<PointSpec> =>
  fc.record({
    agoMs: fc.integer({ min: 1000, max: 1_800_000 }),
    value: double,
    asInt: fc.option(fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n), { nil: undefined }),
    attributes: attributes(3),
    counts: fc.array(fc.nat(1000), { minLength: 1, maxLength: 4 }),
    poison: fc.oneof(
      { weight: 4, arbitrary: fc.constant(undefined) },
      {
        weight: 3,
        arbitrary: fc.oneof(
          fc
            .tuple(
              fc.constantFrom('time' as const, 'start' as const),
              fc.constantFrom(...BAD_TIMES),
            )
            .map(([p, time]) => ({ p, time })),
          // The largest count there is, and one past it.
          fc
            .constantFrom('18446744073709551615', '18446744073709551616')
            .map((text) => ({ p: 'count' as const, text })),
          fc.constant({ p: 'buckets' as const }),
          ...(enc === 'json'
            ? [
                fc
                  .constantFrom(...WRONG_POINT_FIELDS)
                  .map(([f, v]) => ({ p: 'json' as const, field: f, value: v })),
              ]
            : []),
        ),
      },
    ),
  })

interface MetricSpec {
  name: string
  unit: string
  description: string
  kind: MetricKind
  temporality: number
  points: PointSpec[]
}

interface MetricsSpec {
  enc: Encoding
  service: string
  metrics: MetricSpec[]
  mutations: Mutation[] | undefined
}

const metricsSpec: fc.Arbitrary<MetricsSpec> = encodingAnd((enc) =>
  fc.record({
    enc: fc.constant(enc),
    service: hexId(8).map((h) => `fuzz-metrics-${h}`),
    metrics: fc.array(
      fc.record({
        name: text,
        unit: text,
        description: text,
        kind: fc.constantFrom<MetricKind>(
          'gauge',
          'sum',
          'histogram',
          'exponentialHistogram',
          'summary',
        ),
        temporality: fc.constantFrom(0, 1, 2, 2, 7),
        points: fc.array(pointSpec(enc), { minLength: 1, maxLength: 4 }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    mutations: maybeMutated(enc),
  }),
)

/** One data point in the kind's own shape (JSON and protobufjs' object form alike). */
function point(
  m: MetricSpec,
  s: PointSpec,
  n: number,
  attrs: object[],
  now: bigint,
  enc: Encoding,
  out: JsonText,
) {
  const p = s.poison
  const time = (now - BigInt(s.agoMs) * 1_000_000n).toString()
  const timeText = (p?.p === 'time' ? sentTime(p.time, now, enc) : undefined) ?? time
  const startText = (p?.p === 'start' ? sentTime(p.time, now, enc) : undefined) ?? time
  const total = s.counts.reduce((a, b) => a + b, 0)
  const count = p?.p === 'count' ? p.text : String(total)
  const bounds = s.counts.slice(1).map((_, i) => i * 10)
  const o: Record<string, unknown> = {
    timeUnixNano: timeText,
    startTimeUnixNano: startText,
    attributes: attrs,
  }
  const doubleSent = (d: number): unknown =>
    enc === 'protobuf' ? d : Object.is(d, -0) ? out.raw('-0') : Number.isFinite(d) ? d : String(d)
  switch (m.kind) {
    case 'gauge':
    case 'sum':
      if (s.asInt !== undefined) o.asInt = s.asInt.toString()
      else o.asDouble = doubleSent(s.value)
      break
    case 'histogram':
      Object.assign(o, {
        count,
        sum: total,
        bucketCounts: s.counts.map(String),
        explicitBounds: p?.p === 'buckets' ? [...bounds, 1, 2] : bounds,
      })
      break
    case 'exponentialHistogram':
      Object.assign(o, {
        count,
        sum: total,
        scale: (n % 20) - 10,
        zeroCount: '0',
        positive: { offset: -n, bucketCounts: s.counts.map(String) },
      })
      break
    case 'summary':
      Object.assign(o, {
        count,
        sum: total,
        quantileValues: [{ quantile: 0.5, value: doubleSent(s.value) }],
      })
      break
  }
  if (p?.p === 'json') o[p.field] = p.value
  return o
}

/** A double as the API gives it back: OTLP/JSON's text for NaN and the infinities. */
const doubleRead = (d: number): number | string =>
  Number.isNaN(d) ? 'NaN' : Number.isFinite(d) ? d : d > 0 ? 'Infinity' : '-Infinity'

/** What of a point the API must read back as sent. */
function pointFields(m: MetricSpec, s: PointSpec, now: bigint): Record<string, Expected> {
  const p = s.poison
  const time = p?.p === 'time' ? UNCHECKED : (now - BigInt(s.agoMs) * 1_000_000n).toString()
  const total = s.counts.reduce((a, b) => a + b, 0)
  // As the API gives counts, a JSON number (exact to 2^53); protobuf carries 64 bits of it.
  const count = p?.p === 'count' ? Number(BigInt.asUintN(64, BigInt(p.text))) : total
  switch (m.kind) {
    case 'gauge':
    case 'sum':
      return s.asInt === undefined
        ? { timeUnixNano: time, value: doubleRead(s.value) }
        : { timeUnixNano: time, value: Number(s.asInt), intValue: s.asInt.toString() }
    case 'histogram':
    case 'exponentialHistogram':
      return { timeUnixNano: time, count, sum: total }
    case 'summary':
      return {
        timeUnixNano: time,
        count,
        quantiles: [{ quantile: 0.5, value: doubleRead(s.value) }],
      }
  }
}

function metricsBody(ms: MetricsSpec, index: number, now: bigint): FuzzBody {
  const { enc } = ms
  const out = new JsonText()
  const points: PointCheck[] = []
  const json: object[] = []
  const proto: Buffer[] = []
  for (const m of ms.metrics) {
    const dataJson: object[] = []
    const dataProto: object[] = []
    for (const s of m.points) {
      const n = points.length
      const attrs = carriedAttributes([...s.attributes, ['fuzz.n', int(n)]], enc, false)
      points.push({
        n,
        clean:
          s.poison === undefined &&
          m.name !== '' &&
          m.temporality !== 7 &&
          !attrsPoisoned(s.attributes),
        fields: { name: readBack(m.name, enc), ...pointFields(m, s, now) },
        attributes: expectedAttributes(attrs, enc),
      })
      if (enc === 'json') dataJson.push(point(m, s, n, jsonAttributes(attrs, out), now, enc, out))
      else dataProto.push(point(m, s, n, protoAttributes(attrs).objects, now, enc, out))
    }
    const data = (dataPoints: object[]) =>
      m.kind === 'gauge' || m.kind === 'summary'
        ? { dataPoints }
        : {
            dataPoints,
            aggregationTemporality: m.temporality,
            ...(m.kind === 'sum' ? { isMonotonic: true } : {}),
          }
    const metric = (dataPoints: object[]) => ({
      name: m.name,
      unit: m.unit,
      description: m.description,
      [m.kind]: data(dataPoints),
    })
    if (enc === 'json') json.push(metric(dataJson))
    else proto.push(encodeWith(Codecs.metric, metric(dataProto)))
  }
  const resource = { attributes: [{ key: 'service.name', value: { stringValue: ms.service } }] }
  let payload: Buffer | string
  if (enc === 'json') {
    payload = out.stringify({
      resourceMetrics: [{ resource, scopeMetrics: [{ scope: { name: 'fuzz' }, metrics: json }] }],
    })
  } else {
    payload = envelope(resource, { name: 'fuzz' }, proto)
    if (ms.mutations) payload = mutate(payload, ms.mutations)
  }
  const check: MetricsCheck = { kind: 'metrics', service: ms.service, points }
  return {
    signal: 'metrics',
    label: `metrics #${index} (${enc}${ms.mutations ? ', mutated' : ''})`,
    contentType: enc === 'json' ? 'application/json' : 'application/x-protobuf',
    payload,
    ...(ms.mutations ? {} : { check }),
    traceIds: [],
    resend: false,
  }
}

export const metricBodies = (sample: Sample, n: number, now: bigint): FuzzBody[] =>
  sample(metricsSpec, n, 2).map((m, i) => metricsBody(m, i, now))
