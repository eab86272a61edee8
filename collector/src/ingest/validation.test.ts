// Validation at the door: everything the engine could refuse, or would store unreadable, is
// decided per item before the 200, and the rest of the request is stored.
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeStatus, SpanCodec } from '../otlp-to-native/proto.js'
import { testApps, type TestApps } from '../testing/apps.js'
import { hex, nanosAgo, testStorage } from '../testing/harness.js'
import { jsonTrace, protobufTraces } from '../testing/otlp.js'

let t: TestApps
beforeAll(async () => {
  t = await testApps()
})
afterAll(() => t.close())

const DAY_MS = 86_400_000

interface ViewSpan {
  spanId: string
  name: string
  attributes: Record<string, unknown>
}

async function traceView(traceId: string): Promise<ViewSpan[]> {
  await t.flush()
  const res = await t.api.inject({ url: `/api/traces/${traceId}` })
  expect(res.statusCode).toBe(200)
  return res.json().spans as ViewSpan[]
}

async function spansTable(traceId: string): Promise<{ span_name: string }[]> {
  const storage = testStorage(t.config)
  const rs = await storage.client.query({
    query: `SELECT span_name FROM ${storage.database}.spans WHERE trace_id = {id:String} ORDER BY span_name`,
    query_params: { id: traceId },
    format: 'JSONEachRow',
  })
  return rs.json()
}

const kv = (key: string, stringValue: string) => ({ key, value: { stringValue } })

/** One span of service `svc`, protobufjs' object form, `agoMs` before now. */
function protoSpan(traceId: string, name: string, extra: object = {}, agoMs = 60_000) {
  const start = nanosAgo(agoMs)
  return {
    traceId: Buffer.from(traceId, 'hex'),
    spanId: randomBytes(8),
    name,
    startTimeUnixNano: start.toString(),
    endTimeUnixNano: (start + 1000n).toString(),
    ...extra,
  }
}

const request = (service: string, spans: object[]) => ({
  resourceSpans: [
    { resource: { attributes: [kv('service.name', service)] }, scopeSpans: [{ spans }] },
  ],
})

function events(rows: object[]) {
  return t.ingest.inject({
    method: 'POST',
    url: '/v1/events',
    payload: JSON.stringify(rows),
    headers: { 'content-type': 'application/json' },
  })
}

async function storedEvents(key: string) {
  await t.flush()
  const res = await t.api.inject({ url: `/api/events?entity=order&key=${encodeURIComponent(key)}` })
  expect(res.statusCode).toBe(200)
  return res.json().events as { key: string; timeUnixNano: string; attributes: object }[]
}

const order = (key: string, extra: object = {}) => ({
  type: 'order.created',
  system: 'shop',
  entity: 'order',
  key,
  ...extra,
})

/** A ScopeSpans' spans field (2) around each of `items`, in a whole request. */
function requestOf(items: Buffer[]): Buffer {
  const field = (n: number, bytes: Buffer) =>
    Buffer.concat([Buffer.from([(n << 3) | 2]), varint(bytes.length), bytes])
  const scope = Buffer.concat(items.map((i) => field(2, i)))
  return field(1, field(2, scope))
}
const varint = (n: number): Buffer => {
  const out: number[] = []
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  out.push(n)
  return Buffer.from(out)
}
const spanBytes = (s: object): Buffer =>
  Buffer.from(SpanCodec.encode(SpanCodec.fromObject(s)).finish())

describe('ill-formed text', () => {
  it('reads a lone surrogate in an event as U+FFFD and loses no other request', async () => {
    const run = hex(4)
    const good = Array.from({ length: 10 }, (_, r) =>
      events(Array.from({ length: 10 }, (_, i) => order(`${run}-${r}-${i}`))),
    )
    // JSON.stringify writes a lone surrogate as the escape "\ud800".
    const bad = events([order(`${run}-bad`, { status: 'paid\ud800' })])
    const answers = await Promise.all([...good, bad])
    expect(answers.map((a) => a.statusCode)).toEqual(answers.map(() => 200))
    const [stored] = await storedEvents(`${run}-bad`)
    expect(stored).toMatchObject({ status: 'paid\uFFFD' })
    for (let r = 0; r < 10; r++) expect(await storedEvents(`${run}-${r}-9`)).toHaveLength(1)
  })

  it('reads lone surrogates in OTLP/JSON log bodies, metric attributes and span keys as U+FFFD', async () => {
    const service = `text-${hex(3)}`
    const resource = { attributes: [kv('service.name', service)] }
    const time = nanosAgo(60_000).toString()
    const logs = await t.postJson('/v1/logs', {
      resourceLogs: [
        {
          resource,
          scopeLogs: [{ logRecords: [{ timeUnixNano: time, body: { stringValue: 'cut\ud83d' } }] }],
        },
      ],
    })
    expect(logs.statusCode).toBe(200)
    expect(logs.json()).toEqual({})
    const metrics = await t.postJson('/v1/metrics', {
      resourceMetrics: [
        {
          resource,
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'level',
                  gauge: {
                    dataPoints: [
                      { timeUnixNano: time, asDouble: 1, attributes: [kv('k', '\udfff')] },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    })
    expect(metrics.json()).toEqual({})
    const traceId = hex(16)
    const trace = jsonTrace(traceId, [{ spanId: hex(8), name: 'op\ud800' }])
    trace.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes.push({
      key: '\udc00key',
      value: { intValue: '1' },
    })
    expect((await t.postJson('/v1/traces', trace)).json()).toEqual({})
    await t.flush()

    const log = await t.api.inject({ url: `/api/logs?service=${service}` })
    expect(log.json().logs[0].body).toBe('cut\uFFFD')
    const point = await t.api.inject({ url: `/api/metrics?service=${service}&name=level` })
    expect(point.json().points[0].attributes).toEqual({ k: '\uFFFD' })
    const [span] = await traceView(traceId)
    expect(span?.name).toBe('op\uFFFD')
    expect(Object.keys(span?.attributes ?? {})).toContain('\uFFFDkey')
    expect(await spansTable(traceId)).toEqual([{ span_name: 'op\uFFFD' }])
  })

  it('reads ill-formed UTF-8 bytes in protobuf as U+FFFD, the same in both span tables', async () => {
    const traceId = hex(16)
    const body = protobufTraces(request('bytes', [protoSpan(traceId, 'pay#ment')]))
    // '#' becomes a byte that is never UTF-8, keeping every length the same.
    body[body.indexOf('pay#ment') + 3] = 0xff
    const res = await t.postProtobuf('/v1/traces', body)
    expect(res.statusCode).toBe(200)
    const [span] = await traceView(traceId)
    expect(span?.name).toBe('pay\uFFFDment')
    expect(await spansTable(traceId)).toEqual([{ span_name: 'pay\uFFFDment' }])
    // The kept protobuf holds the same text as the columns, not the bytes as sent.
    const storage = testStorage(t.config)
    const kept = await storage.client.query({
      query: `SELECT position(span, {text:String}) > 0 AS same FROM ${storage.database}.trace_spans WHERE trace_id = {id:String}`,
      query_params: { id: traceId, text: 'pay\uFFFDment' },
      format: 'JSONEachRow',
    })
    expect(await kept.json()).toEqual([{ same: 1 }])
  })
})

describe('event times', () => {
  it('refuses each time the column cannot hold or retention would drop, and stores the rest', async () => {
    const key = `times-${hex(4)}`
    const bad = [
      '9999-12-31T23:59:59Z',
      '0000-01-01T00:00:00Z',
      '1900-01-01T00:00:00Z',
      '1969-12-31T23:59:59Z',
      '2262-04-12T00:00:00Z',
      new Date(Date.now() - 8 * DAY_MS).toISOString(),
    ]
    const res = await events([...bad.map((timestamp) => order(key, { timestamp })), order(key)])
    expect(res.statusCode).toBe(200)
    const body: { accepted: number; rejected: { index: number; error: string }[] } = res.json()
    expect(body.accepted).toBe(1)
    expect(body.rejected.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5])
    expect(body.rejected[0]?.error).toMatch(/later than 2262-04-11/)
    expect(body.rejected[5]?.error).toBe('timestamp is older than the retention of 7 days')
    expect(await storedEvents(key)).toHaveLength(1)
  })

  it('takes Unix nanoseconds as a JSON number, exactly, and explains a time in milliseconds', async () => {
    const key = `numeric-${hex(4)}`
    const ns = nanosAgo(60_000) + 123n
    const payload = `[{"type":"order.created","system":"shop","entity":"order","key":"${key}","timestamp":${ns}},
      {"type":"order.created","system":"shop","entity":"order","key":"${key}-ms","timestamp":${Date.now()}}]`
    const res = await t.ingest.inject({
      method: 'POST',
      url: '/v1/events',
      payload,
      headers: { 'content-type': 'application/json' },
    })
    expect(res.json().rejected).toEqual([
      {
        index: 1,
        error: expect.stringMatching(/read as Unix nanoseconds is in 1970.*milliseconds\?/),
      },
    ])
    const [stored] = await storedEvents(key)
    expect(stored?.timeUnixNano).toBe(ns.toString())
  })
})

describe('currencies', () => {
  it('takes ISO 4217 codes only, not any three capitals', async () => {
    const key = `ccy-${hex(4)}`
    const res = await events([
      order(key, { amount: '1.00', currency: 'ZZZ' }),
      order(key, { amount: '1.00', currency: 'eur' }),
      order(key, { amount: '1.00', currency: 'CHF' }),
    ])
    expect(res.json()).toEqual({
      accepted: 1,
      rejected: [
        {
          index: 0,
          error: 'currency must be an ISO 4217 code like "EUR" when amount is given (got "ZZZ")',
        },
        {
          index: 1,
          error: 'currency must be an ISO 4217 code like "EUR" when amount is given (got "eur")',
        },
      ],
    })
  })
})

describe('OTLP/JSON 64-bit numbers', () => {
  it('keeps times and integers above 2^53 sent as JSON numbers exact', async () => {
    const traceId = hex(16)
    const start = nanosAgo(60_000) + 1n // odd: a double would round it
    const span = `{"traceId":"${traceId}","spanId":"${hex(8)}","name":"big","startTimeUnixNano":${start},"endTimeUnixNano":${start + 2n},
      "attributes":[{"key":"n","value":{"intValue":9007199254740993}},{"key":"d","value":{"doubleValue":1.5}}]}`
    const res = await t.ingest.inject({
      method: 'POST',
      url: '/v1/traces',
      payload: `{"resourceSpans":[{"scopeSpans":[{"spans":[${span}]}]}]}`,
      headers: { 'content-type': 'application/json' },
    })
    expect(res.json()).toEqual({})
    const [read] = (await traceView(traceId)) as (ViewSpan & { startTimeUnixNano: string })[]
    expect(read?.startTimeUnixNano).toBe(start.toString())
    expect(read?.attributes).toEqual({ n: { int: '9007199254740993' }, d: 1.5 })
  })
})

describe('protobuf items', () => {
  it('refuses a span whose last field overruns it, and stores and shows the next', async () => {
    const traceId = hex(16)
    const first = spanBytes(protoSpan(traceId, 'overrun'))
    // An unknown length-delimited field (99) whose length reaches into the next span.
    const overrun = Buffer.concat([first, varint((99 << 3) | 2), varint(40)])
    const cutName = Buffer.concat([spanBytes(protoSpan(traceId, 'cut')), Buffer.from([0x2a, 60])])
    const next = spanBytes(protoSpan(traceId, 'next'))
    const last = spanBytes(protoSpan(traceId, 'last'))
    const res = await t.postProtobuf('/v1/traces', requestOf([overrun, next, cutName, last]))
    expect(res.statusCode).toBe(200)
    const decoded = protobufResponse(res.rawPayload)
    expect(decoded.rejected).toBe(2)
    expect(decoded.message).toMatch(/span 0: a field overruns the item's length/)
    const spans = await traceView(traceId)
    expect(spans.map((s) => s.name).sort()).toEqual(['last', 'next'])
    expect(await spansTable(traceId)).toEqual([{ span_name: 'last' }, { span_name: 'next' }])
  })

  it('refuses an unknown span kind or status code, naming the value', async () => {
    const traceId = hex(16)
    const body = protobufTraces(
      request('enums', [
        protoSpan(traceId, 'kind', { kind: 99 }),
        protoSpan(traceId, 'status', { status: { code: 1000 } }),
        protoSpan(traceId, 'fine', { kind: 2, status: { code: 2 } }),
      ]),
    )
    const decoded = protobufResponse((await t.postProtobuf('/v1/traces', body)).rawPayload)
    expect(decoded.rejected).toBe(2)
    expect(decoded.message).toContain('span 0: kind has an unknown value 99')
    expect(decoded.message).toContain('span 1: status.code has an unknown value 1000')
    expect((await traceView(traceId)).map((s) => s.name)).toEqual(['fine'])
  })

  it('refuses a span older than retention and still shows the rest of its trace', async () => {
    const traceId = hex(16)
    const service = `old-${hex(3)}`
    const body = protobufTraces(
      request(service, [
        protoSpan(traceId, 'ancient', {}, 8 * DAY_MS),
        protoSpan(traceId, 'recent'),
      ]),
    )
    const decoded = protobufResponse((await t.postProtobuf('/v1/traces', body)).rawPayload)
    expect(decoded).toEqual({
      rejected: 1,
      message: 'span 0: startTimeUnixNano is older than the retention of 7 days',
    })
    await t.flush()
    const search = await t.api.inject({ url: `/api/traces?service=${service}` })
    expect(search.json().traces.map((x: { traceId: string }) => x.traceId)).toEqual([traceId])
    expect((await traceView(traceId)).map((s) => s.name)).toEqual(['recent'])
  })
})

describe('deep nesting', () => {
  it('refuses a value nested past any stack, per span, in JSON and protobuf', async () => {
    const traceId = hex(16)
    const depth = 200_000
    const deep =
      '{"arrayValue":{"values":['.repeat(depth) + '{"stringValue":"x"}' + ']}}'.repeat(depth)
    const start = nanosAgo(60_000)
    const span = (name: string, attributes: string) =>
      `{"traceId":"${traceId}","spanId":"${hex(8)}","name":"${name}","startTimeUnixNano":"${start}","endTimeUnixNano":"${start + 1n}","attributes":${attributes}}`
    const json = await t.ingest.inject({
      method: 'POST',
      url: '/v1/traces',
      payload: `{"resourceSpans":[{"scopeSpans":[{"spans":[${span('deep', `[{"key":"k","value":${deep}}]`)},${span('shallow', '[]')}]}]}]}`,
      headers: { 'content-type': 'application/json' },
    })
    expect(json.statusCode).toBe(200)
    expect(json.json().partialSuccess).toEqual({
      rejectedSpans: 1,
      errorMessage: expect.stringMatching(/^span 0: .*nested deeper than 512 levels/),
    })

    // In protobuf: an AnyValue (array_value, 5) of an ArrayValue (values, 1) of …, 100 000 deep.
    // Built outside in from the lengths, as concatenating level by level is quadratic.
    const prefixes: Buffer[] = []
    let length = 3
    for (let i = 0; i < 100_000; i++) {
      const values = Buffer.concat([Buffer.from([0x0a]), varint(length)])
      const any = Buffer.concat([Buffer.from([0x2a]), varint(length + values.length)])
      length += values.length + any.length
      prefixes.push(values, any)
    }
    const value = Buffer.concat([...prefixes.reverse(), Buffer.from([0x0a, 0x01, 0x78])])
    const field = (n: number, bytes: Buffer) =>
      Buffer.concat([Buffer.from([(n << 3) | 2]), varint(bytes.length), bytes])
    const keyValue = Buffer.concat([field(1, Buffer.from('k')), field(2, value)])
    const deepSpan = Buffer.concat([
      spanBytes(protoSpan(traceId, 'deep-proto')),
      field(9, keyValue),
    ])
    const body = requestOf([deepSpan, spanBytes(protoSpan(traceId, 'shallow-proto'))])
    const res = await t.postProtobuf('/v1/traces', body)
    expect(res.statusCode).toBe(200)
    expect((await traceView(traceId)).map((s) => s.name).sort()).toEqual([
      'shallow',
      'shallow-proto',
    ])
  })
})

describe('request caps', () => {
  it('refuses a request of more than 50 000 spans with 413, naming the cap', async () => {
    const traceId = hex(16)
    const spans = Array.from({ length: 50_001 }, () => protoSpan(traceId, 's'))
    const res = await t.postProtobuf('/v1/traces', protobufTraces(request('many', spans)))
    expect(res.statusCode).toBe(413)
    expect(decodeStatusMessage(res.rawPayload)).toMatch(/more than 50000 spans; split it/)
    const json = await t.postJson('/v1/traces', {
      resourceSpans: [{ scopeSpans: [{ spans: Array.from({ length: 50_001 }, () => ({})) }] }],
    })
    expect(json.statusCode).toBe(413)
  })

  it('refuses a span with more than 10 000 attributes before decoding it, and keeps the others', async () => {
    const traceId = hex(16)
    const attributes = Array.from({ length: 10_001 }, (_, i) => kv(`k${i}`, 'v'))
    const body = protobufTraces(
      request('wide', [protoSpan(traceId, 'wide', { attributes }), protoSpan(traceId, 'narrow')]),
    )
    const decoded = protobufResponse((await t.postProtobuf('/v1/traces', body)).rawPayload)
    expect(decoded).toEqual({
      rejected: 1,
      message: 'span 0: attributes has 10001 entries; at most 10000 are accepted',
    })
    expect((await traceView(traceId)).map((s) => s.name)).toEqual(['narrow'])
  })
})

const ExportTraceServiceResponse = (
  createRequire(import.meta.url)('otlp-proto-definitions/build/src/generated/root.js') as {
    opentelemetry: {
      proto: {
        collector: {
          trace: {
            v1: {
              ExportTraceServiceResponse: {
                decode(b: Uint8Array): {
                  partialSuccess?: {
                    rejectedSpans?: { toNumber(): number } | number
                    errorMessage?: string
                  }
                }
              }
            }
          }
        }
      }
    }
  }
).opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse

function protobufResponse(bytes: Buffer): { rejected: number; message: string } {
  const p = ExportTraceServiceResponse.decode(bytes).partialSuccess
  const n = p?.rejectedSpans
  return {
    rejected: typeof n === 'number' ? n : (n?.toNumber() ?? 0),
    message: p?.errorMessage ?? '',
  }
}

const decodeStatusMessage = (bytes: Buffer): string => decodeStatus(bytes).message
