import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testApps, type TestApps } from '../testing/apps.js'
import { hex, nanosAgo } from '../testing/harness.js'
import { protobufLogs, protobufMetrics } from '../testing/otlp.js'

let t: TestApps
beforeAll(async () => {
  t = await testApps()
})
afterAll(() => t.close())

const kv = (key: string, value: object) => ({ key, value })
const str = (s: string) => ({ stringValue: s })

// What came back as text before: numbers, bools and lists; and keys a prototype swallows.
const SENT = [
  kv('n', { intValue: 3 }),
  kv('on', { boolValue: true }),
  kv('tags', { arrayValue: { values: [str('p'), str('q')] } }),
  kv('ratio', { doubleValue: 0.5 }),
  kv('whole', { doubleValue: 2 }),
  kv('big', { intValue: '9007199254740993' }),
  kv('raw', { bytesValue: Buffer.from('hi') }),
  kv('__proto__', str('x')),
  kv('constructor', str('c')),
  kv('prototype', { intValue: 9 }),
]
const TYPED = JSON.parse(`{"n": 3, "on": true, "tags": ["p", "q"], "ratio": 0.5,
  "whole": {"double": 2}, "big": {"int": "9007199254740993"}, "raw": {"bytes": "aGk="},
  "__proto__": "x", "constructor": "c", "prototype": 9}`) as Record<string, unknown>

const resource = (service: string) => ({
  attributes: [kv('service.name', str(service)), kv('host.cores', { intValue: 8 })],
  droppedAttributesCount: 1,
})
const scope = {
  name: 'meter',
  version: '1.0.0',
  attributes: [kv('scope.kind', str('auto'))],
  droppedAttributesCount: 2,
}

describe('metric points read back exactly', () => {
  it('attribute values typed, keys of any spelling, resource and scope whole, flags', async () => {
    const service = `stock-${hex(3)}`
    const body = protobufMetrics({
      resourceMetrics: [
        {
          resource: resource(service),
          schemaUrl: 'https://example.com/r',
          scopeMetrics: [
            {
              scope,
              schemaUrl: 'https://example.com/s',
              metrics: [
                {
                  name: 'level',
                  gauge: {
                    dataPoints: [
                      {
                        timeUnixNano: nanosAgo(5000).toString(),
                        asInt: 5,
                        attributes: SENT,
                        flags: 1,
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    })
    expect((await t.postProtobuf('/v1/metrics', body)).statusCode).toBe(200)
    await t.flush()
    const res = await t.api.inject({ url: `/api/metrics?service=${service}&name=level` })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.body).toContain('"__proto__":"x"')
    const [point] = res.json().points
    expect(Object.keys(point.attributes)).toEqual(Object.keys(TYPED))
    expect(point).toMatchObject({
      value: 5,
      intValue: '5',
      flags: 1,
      attributes: TYPED,
      resource: { 'service.name': service, 'host.cores': 8 },
      resourceDroppedAttributesCount: 1,
      resourceSchemaUrl: 'https://example.com/r',
      scope: { ...scope, attributes: { 'scope.kind': 'auto' }, schemaUrl: 'https://example.com/s' },
    })
  })
})

describe('metric values JSON cannot write', () => {
  it('keeps NaN, the infinities and counts up to 2^64 - 1, and reads them back as OTLP/JSON writes them', async () => {
    // JSON rows had NaN and the infinities as null (stored 0) and counts as rounded numbers
    // (2^64 - 1 stored as 384).
    const service = `odd-${hex(3)}`
    const time = nanosAgo(5000).toString()
    const point = (extra: object) => ({ timeUnixNano: time, ...extra })
    const body = protobufMetrics({
      resourceMetrics: [
        {
          resource: resource(service),
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'gauge',
                  gauge: {
                    dataPoints: [NaN, Infinity, -Infinity, 0.5].map((asDouble) =>
                      point({ asDouble }),
                    ),
                  },
                },
                {
                  name: 'histogram',
                  histogram: {
                    aggregationTemporality: 2,
                    dataPoints: [
                      point({
                        count: '18446744073709551615',
                        sum: NaN,
                        min: -Infinity,
                        max: Infinity,
                        bucketCounts: ['9007199254740993', '18446744073709551614'],
                        explicitBounds: [Infinity],
                      }),
                    ],
                  },
                },
                {
                  name: 'summary',
                  summary: {
                    dataPoints: [
                      point({ count: 3, sum: 1, quantileValues: [{ quantile: 0.5, value: NaN }] }),
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    })
    expect((await t.postProtobuf('/v1/metrics', body)).statusCode).toBe(200)
    await t.flush()
    const read = async (name: string) =>
      (await t.api.inject({ url: `/api/metrics?service=${service}&name=${name}` })).json<{
        points: Record<string, unknown>[]
      }>().points
    expect((await read('gauge')).map((p) => p.value).sort()).toEqual(
      ['-Infinity', 'Infinity', 'NaN', 0.5].sort(),
    )
    expect((await read('histogram'))[0]).toMatchObject({
      count: Number('18446744073709551615'), // a JSON number, exact to 2^53
      sum: 'NaN',
      min: '-Infinity',
      max: 'Infinity',
      explicitBounds: ['Infinity'],
    })
    expect((await read('summary'))[0]).toMatchObject({
      quantiles: [{ quantile: 0.5, value: 'NaN' }],
    })
    const rs = await t.context.storage.client.query({
      query: `SELECT toString(count) AS count, arrayMap(x -> toString(x), bucket_counts) AS buckets
              FROM ${t.config.clickhouse.database}.metric_points
              WHERE service_name = {service:String} AND metric_name = 'histogram'`,
      query_params: { service },
      format: 'JSONEachRow',
    })
    expect(await rs.json()).toEqual([
      { count: '18446744073709551615', buckets: ['9007199254740993', '18446744073709551614'] },
    ])
  })
})

describe('business events read back exactly', () => {
  it('from OTLP logs: attributes typed, keys of any spelling, the resource, the amount as written', async () => {
    const key = `ORD-${hex(4)}`
    const body = protobufLogs({
      resourceLogs: [
        {
          resource: resource('orders'),
          scopeLogs: [
            {
              scope,
              logRecords: [
                {
                  timeUnixNano: nanosAgo(5000).toString(),
                  eventName: 'order.created',
                  attributes: [
                    kv('reckon.entity', str('order')),
                    kv('reckon.entity.key', str(key)),
                    kv('reckon.amount', str('12.50')),
                    kv('reckon.currency', str('EUR')),
                    ...SENT,
                  ],
                },
              ],
            },
          ],
        },
      ],
    })
    expect((await t.postProtobuf('/v1/logs', body)).statusCode).toBe(200)
    await t.flush()
    const res = await t.api.inject({ url: `/api/events?entity=order&key=${key}` })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.body).toContain('"__proto__":"x"')
    const [event] = res.json().events
    expect(Object.keys(event.attributes)).toEqual(Object.keys(TYPED))
    expect(event).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      amount: '12.50',
      currency: 'EUR',
      attributes: TYPED,
      resource: { 'service.name': 'orders', 'host.cores': 8 },
    })
  })

  it('from POST /v1/events: typed attributes as sent, amounts with their scale', async () => {
    const key = `INV-${hex(4)}`
    const row = (amount: string, attributes: object) => ({
      type: 'invoice.issued',
      system: 'billing',
      entity: 'invoice',
      key,
      amount,
      currency: 'USD',
      timestamp: new Date(Date.now() - 5000).toISOString(),
      attributes,
    })
    const attributes = JSON.parse(`{"n": 3, "on": true, "tags": ["p", "q"], "whole": {"double": 2},
      "big": {"int": "9007199254740993"}, "raw": {"bytes": "aGk="}, "__proto__": "x",
      "deep": {"a": [1, {"int": "-9223372036854775808"}]}, "tag": {"kvlist": {"int": "v"}}}`)
    const rows = [row('12.50', attributes), row('-0.100', {}), row('100', {})]
    const res = await t.postJson('/v1/events', rows)
    expect(res.json()).toEqual({ accepted: 3, rejected: [] })
    await t.flush()
    const read = await t.api.inject({ url: `/api/events?entity=invoice&key=${key}` })
    const events = read.json().events as { amount: string; attributes: object }[]
    expect(events.map((e) => e.amount).sort()).toEqual(['-0.100', '100', '12.50'])
    expect(events.find((e) => e.amount === '12.50')!.attributes).toEqual(attributes)
    expect(read.body).toContain('"__proto__":"x"')
  })

  it('refuses a typed value it cannot store, naming it', async () => {
    const row = (attributes: object) => ({
      type: 'invoice.issued',
      system: 'billing',
      entity: 'invoice',
      key: 'K',
      attributes,
    })
    const res = await t.postJson('/v1/events', [
      row({ n: { int: '12x' } }),
      row({ n: 2 ** 60 }),
      row({ b: { bytes: '***' } }),
    ])
    expect(res.json().rejected).toEqual([
      { index: 0, error: 'attributes.n.int must be a 64-bit integer as text' },
      { index: 1, error: expect.stringMatching(/attributes.n: integers beyond 2\^53/) },
      { index: 2, error: 'attributes.b.bytes must be base64' },
    ])
  })
})

describe('attribute keys with line breaks', () => {
  it('read back on every route, at the top and nested', async () => {
    // A response schema matching keys by pattern (`^.*$`) left out keys with \n or \r.
    const service = `lines-${hex(3)}`
    const flowId = `flow-${hex(4)}`
    const keys = { 'line\nbreak': 1, 'cr\r': { 'in\nner': true }, '\r\n': 'x' }
    const events = await t.postJson('/v1/events', [
      {
        type: 'order.created',
        system: 'shop',
        entity: 'order',
        key: 'K',
        flowId,
        attributes: keys,
      },
    ])
    expect(events.json()).toEqual({ accepted: 1, rejected: [] })
    const attributes = [
      kv('line\nbreak', { intValue: 1 }),
      kv('cr\r', { kvlistValue: { values: [kv('in\nner', { boolValue: true })] } }),
      kv('\r\n', str('x')),
    ]
    const time = nanosAgo(5000).toString()
    await t.postProtobuf(
      '/v1/logs',
      protobufLogs({
        resourceLogs: [
          {
            resource: resource(service),
            scopeLogs: [{ logRecords: [{ timeUnixNano: time, attributes }] }],
          },
        ],
      }),
    )
    await t.postProtobuf(
      '/v1/metrics',
      protobufMetrics({
        resourceMetrics: [
          {
            resource: resource(service),
            scopeMetrics: [
              {
                metrics: [
                  {
                    name: 'm',
                    gauge: { dataPoints: [{ timeUnixNano: time, asDouble: 1, attributes }] },
                  },
                ],
              },
            ],
          },
        ],
      }),
    )
    await t.flush()
    const first = async (url: string, list: string): Promise<unknown> =>
      (await t.api.inject({ url })).json<Record<string, { attributes: unknown }[]>>()[list]?.[0]
        ?.attributes
    expect(await first(`/api/events?flowId=${flowId}`, 'events')).toEqual(keys)
    expect(await first(`/api/logs?service=${service}`, 'logs')).toEqual(keys)
    expect(await first(`/api/metrics?service=${service}`, 'points')).toEqual(keys)
  })
})
