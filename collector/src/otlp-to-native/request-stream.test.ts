import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { protobufTraces } from '../testing/otlp.js'
import { convertLogs, LogConverter } from './logs.js'
import { convertMetrics, MetricConverter } from './metrics.js'
import {
  decodeRequest,
  LogRecordItems,
  MetricItems,
  ResourceCodec,
  ScopeCodec,
  SpanCodec,
  SpanItems,
} from './proto.js'
import { arrival } from './arrival.js'
import { streamRequest } from './request-stream.js'
import { convertTraces, SpanConverter, type SpanConversion } from './traces.js'

/** A minute ago, in Unix ns: within retention. */
const T0 = BigInt(Date.now() - 60_000) * 1_000_000n
const kv = (key: string, stringValue: string) => ({ key, value: { stringValue } })
const id = (bytes: number, fill: number) => Buffer.alloc(bytes, fill)

function span(n: number, extra: object = {}) {
  return {
    traceId: id(16, 1 + (n % 3)),
    spanId: id(8, 10 + n),
    parentSpanId: n % 2 ? id(8, 9 + n) : undefined,
    name: `op ${n}`,
    kind: 2,
    startTimeUnixNano: `${T0 + BigInt(n)}`,
    endTimeUnixNano: `${T0 + 500_000n + BigInt(n)}`,
    attributes: [kv('reckon.flow.id', `${900 + n}`), kv('http.route', '/orders/:id')],
    events: n % 2 ? [{ timeUnixNano: `${T0 + 100n}`, name: 'retry' }] : [],
    status: { code: n % 4 === 3 ? 2 : 0 },
    ...extra,
  }
}

const resource = (service: string) => ({
  attributes: [kv('service.name', service), kv('host.name', 'h1')],
})
const scope = { name: '@opentelemetry/instrumentation-http', version: '0.57.0' }

/** Two resources, two scopes in the first, and a span with a bad trace ID among them. */
const REQUEST = {
  resourceSpans: [
    {
      resource: resource('order'),
      scopeSpans: [
        { scope, spans: [span(0), span(1), span(2, { traceId: id(5, 7) })] },
        { scope: { name: 'manual' }, spans: [span(3)] },
      ],
    },
    { resource: resource('payment'), scopeSpans: [{ scope, spans: [span(4), span(5)] }] },
  ],
}

function streamed(body: Uint8Array): SpanConversion {
  const converter = new SpanConverter()
  streamRequest(body, SpanItems, converter)
  return converter.finish()
}

/** The same conversion, byte for byte: every column of both tables, and the rejections. */
function expectSame(a: SpanConversion, b: SpanConversion): void {
  expect(a.encoded.rows).toBe(b.encoded.rows)
  expect(a.rejected).toBe(b.rejected)
  expect(a.errors).toEqual(b.errors)
  expect(Buffer.compare(a.encoded.data, b.encoded.data)).toBe(0)
  expect(Buffer.compare(a.traceSpans.data, b.traceSpans.data)).toBe(0)
}

// Wire-level building blocks, to send fields in orders protobufjs' encoder never uses.
function varint(n: number): number[] {
  const out: number[] = []
  for (; n > 0x7f; n >>>= 7) out.push((n & 0x7f) | 0x80)
  out.push(n)
  return out
}
const message = (field: number, bytes: Uint8Array): Buffer =>
  Buffer.concat([Buffer.from([...varint((field << 3) | 2), ...varint(bytes.length)]), bytes])
const unknownVarint = (field: number, value: number): Buffer =>
  Buffer.from([...varint(field << 3), ...varint(value)])
const encodeSpan = (s: object) => SpanCodec.encode(SpanCodec.fromObject(s)).finish()

describe('streamRequest', () => {
  it('converts spans exactly as decoding the request whole does', () => {
    const body = protobufTraces(REQUEST)
    const whole = convertTraces(decodeRequest.traces(body))
    expect(whole.encoded.rows).toBe(5)
    expect(whole.rejected).toBe(1)
    expectSame(streamed(body), whole)
  })

  it('takes a resource or scope sent after its spans, and skips fields it does not know', () => {
    const spans = [span(0), span(1)]
    const schemaUrl = 'https://opentelemetry.io/schemas/1.26.0'
    const canonical = protobufTraces({
      resourceSpans: [{ resource: resource('order'), scopeSpans: [{ scope, spans, schemaUrl }] }],
    })
    const scopeSpans = Buffer.concat([
      ...spans.map((s) => message(2, encodeSpan(s))),
      message(3, Buffer.from(schemaUrl)),
      unknownVarint(99, 12345),
      message(1, ScopeCodec.encode(scope).finish()),
    ])
    const resourceSpans = Buffer.concat([
      message(2, scopeSpans),
      unknownVarint(42, 1),
      message(1, ResourceCodec.encode(ResourceCodec.fromObject(resource('order'))).finish()),
    ])
    const reordered = Buffer.concat([unknownVarint(7, 3), message(1, resourceSpans)])
    expectSame(streamed(reordered), streamed(canonical))
    expect(streamed(reordered).encoded.rows).toBe(2)
  })

  it('refuses a truncated body, a length past its message, and a message field of another wire type', () => {
    const body = protobufTraces(REQUEST)
    expect(() => streamed(body.subarray(0, body.length - 20))).toThrow()
    const bytes = encodeSpan(span(0))
    // A scope-spans length that claims more bytes than its resource spans hold.
    const claimed = Buffer.from([0x12, ...varint(bytes.length + 10)])
    const overrun = message(1, Buffer.concat([claimed, bytes]))
    expect(() => streamed(overrun)).toThrow(/overruns/)
    expect(() => streamed(unknownVarint(1, 5))).toThrow(/field 1 .* wire type 0, not a message/)
  })

  it('converts log records and metric points exactly as decoding the request whole does', () => {
    const now = arrival(`${T0 + 1_000_000_000n}`)
    const logsBody = logsRequest()
    const logs = new LogConverter(now)
    streamRequest(logsBody, LogRecordItems, logs)
    const wholeLogs = convertLogs(decodeRequest.logs(logsBody), now)
    expect([wholeLogs.logs.rows, wholeLogs.events.rows, wholeLogs.rejected]).toEqual([1, 1, 1])
    expect(logs.finish()).toEqual(wholeLogs)

    const metricsBody = metricsRequest()
    const metrics = new MetricConverter()
    streamRequest(metricsBody, MetricItems, metrics)
    const wholeMetrics = convertMetrics(decodeRequest.metrics(metricsBody))
    expect([wholeMetrics.encoded.rows, wholeMetrics.rejected]).toEqual([3, 1])
    expect(metrics.finish()).toEqual(wholeMetrics)
  })

  it('reads an empty request as no spans', () => {
    const c = streamed(new Uint8Array(0))
    expect(c.encoded.rows).toBe(0)
    expect(c.rejected).toBe(0)
  })
})

const ExportLogs = requestCodec('logs', 'ExportLogsServiceRequest')
const ExportMetrics = requestCodec('metrics', 'ExportMetricsServiceRequest')

function requestCodec(signal: string, name: string) {
  const require = createRequire(import.meta.url)
  const root = require('otlp-proto-definitions/build/src/generated/root.js') as {
    opentelemetry: { proto: { collector: Record<string, { v1: Record<string, RequestCodec> }> } }
  }
  return root.opentelemetry.proto.collector[signal]!.v1[name]!
}
interface RequestCodec {
  fromObject(o: object): unknown
  encode(m: unknown): { finish(): Uint8Array }
}
const encodeRequest = (codec: RequestCodec, req: object) =>
  codec.encode(codec.fromObject(req)).finish()

/** A log line, a business event, and a record refused for its bad trace ID. */
function logsRequest(): Uint8Array {
  const record = (attrs: object[], extra: object = {}) => ({
    timeUnixNano: `${T0}`,
    body: { stringValue: 'order placed' },
    attributes: attrs,
    ...extra,
  })
  return encodeRequest(ExportLogs, {
    resourceLogs: [
      {
        resource: resource('order'),
        scopeLogs: [
          {
            scope,
            logRecords: [
              record([kv('http.route', '/orders')]),
              record([
                kv('event.name', 'order.placed'),
                kv('reckon.entity', 'order'),
                kv('reckon.entity.key', 'A-1'),
                kv('reckon.system', 'shop'),
                kv('reckon.amount', '12.50'),
                kv('reckon.currency', 'EUR'),
              ]),
              record([], { traceId: id(3, 1) }),
            ],
          },
        ],
      },
    ],
  })
}

/** A gauge of two points, a sum of one, and a metric refused for having no name. */
function metricsRequest(): Uint8Array {
  const point = (asInt: number) => ({ timeUnixNano: `${T0}`, asInt })
  return encodeRequest(ExportMetrics, {
    resourceMetrics: [
      {
        resource: resource('order'),
        scopeMetrics: [
          {
            scope,
            metrics: [
              { name: 'queue.depth', gauge: { dataPoints: [point(3), point(4)] } },
              { name: 'orders', sum: { dataPoints: [point(9)], isMonotonic: true } },
              { gauge: { dataPoints: [point(1)] } },
            ],
          },
        ],
      },
    ],
  })
}
