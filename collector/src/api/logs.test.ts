import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testApps, type TestApps } from '../testing/apps.js'
import { hex, nanosAgo } from '../testing/harness.js'
import { protobufLogs } from '../testing/otlp.js'

let t: TestApps
beforeAll(async () => {
  t = await testApps()
})
afterAll(() => t.close())

const kv = (key: string, value: object) => ({ key, value })
const str = (s: string) => ({ stringValue: s })

/** Log records of one service, as protobuf, under a resource and scope sent whole. */
function logs(service: string, records: object[]) {
  return protobufLogs({
    resourceLogs: [
      {
        resource: {
          attributes: [kv('service.name', str(service)), kv('__proto__', str('r'))],
          droppedAttributesCount: 3,
        },
        schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
        scopeLogs: [
          {
            scope: {
              name: 'billing-log',
              version: '2.0.1',
              attributes: [kv('constructor', { intValue: 1 })],
              droppedAttributesCount: 4,
            },
            schemaUrl: 'https://opentelemetry.io/schemas/1.27.0',
            logRecords: records,
          },
        ],
      },
    ],
  })
}

async function search(query: string) {
  const res = await t.api.inject({ url: `/api/logs?service=billing&${query}` })
  expect(res.statusCode, res.body).toBe(200)
  return { body: res.body, logs: res.json().logs as Record<string, unknown>[] }
}

describe('GET /api/logs', () => {
  const traceId = hex(16)
  const spanId = hex(8)
  const time = (msAgo: number) => nanosAgo(msAgo).toString()
  const [sent, observed] = [time(50_000), time(49_000)]

  beforeAll(async () => {
    const records = [
      {
        timeUnixNano: sent,
        observedTimeUnixNano: observed,
        severityNumber: 9,
        severityText: 'INFO',
        body: str('Invoice 7 sent to ACME'),
        attributes: [
          kv('reckon.flow.id', str('flow-7')),
          kv('__proto__', str('a')),
          kv('retries', { intValue: 3 }),
          kv('ratio', { doubleValue: 2 }),
        ],
        droppedAttributesCount: 2,
        flags: 1,
        traceId: Buffer.from(traceId, 'hex'),
        spanId: Buffer.from(spanId, 'hex'),
      },
      {
        timeUnixNano: time(40_000),
        severityNumber: 17,
        severityText: 'ERROR',
        body: { kvlistValue: { values: [kv('code', { intValue: 42 }), kv('why', str('x'))] } },
      },
      { timeUnixNano: time(30_000), severityNumber: 13, body: { intValue: 7 } },
      { timeUnixNano: time(20_000), severityNumber: 5, body: { bytesValue: Buffer.from('hi') } },
    ]
    const res = await t.postProtobuf('/v1/logs', logs('billing', records))
    expect(res.statusCode).toBe(200)
    const other = logs('shipping', [{ timeUnixNano: time(10_000), body: str('invoice elsewhere') }])
    expect((await t.postProtobuf('/v1/logs', other)).statusCode).toBe(200)
    await t.flush()
  })

  it('returns every field of a record: body and severity, attributes typed, resource and scope whole', async () => {
    const { logs: found, body } = await search(`traceId=${traceId}`)
    expect(body).toContain('"__proto__":"a"')
    expect(found).toEqual([
      {
        timeUnixNano: sent,
        observedTimeUnixNano: observed,
        service: 'billing',
        severityNumber: 9,
        severityText: 'INFO',
        body: 'Invoice 7 sent to ACME',
        eventName: '',
        attributes: JSON.parse(
          '{"reckon.flow.id":"flow-7","__proto__":"a","retries":3,"ratio":{"double":2}}',
        ),
        droppedAttributesCount: 2,
        flags: 1,
        traceId,
        spanId,
        flowId: 'flow-7',
        resource: JSON.parse('{"service.name":"billing","__proto__":"r"}'),
        resourceDroppedAttributesCount: 3,
        resourceSchemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
        scope: {
          name: 'billing-log',
          version: '2.0.1',
          attributes: JSON.parse('{"constructor":1}'),
          droppedAttributesCount: 4,
          schemaUrl: 'https://opentelemetry.io/schemas/1.27.0',
        },
      },
    ])
  })

  it('gives bodies of every type back typed, newest first', async () => {
    const { logs: found } = await search('')
    expect(found.map((l) => l.body)).toEqual([
      { bytes: 'aGk=' },
      7,
      { code: 42, why: 'x' },
      'Invoice 7 sent to ACME',
    ])
  })

  it('filters by minimum severity (number or name), body text in any case, flow and time', async () => {
    const severities = async (q: string) => (await search(q)).logs.map((l) => l.severityNumber)
    expect(await severities('severity=WARN')).toEqual([13, 17])
    expect(await severities('severity=17')).toEqual([17])
    expect(await severities('severity=info2')).toEqual([13, 17])
    expect(await severities('body=INVOICE%207')).toEqual([9])
    expect(await severities('flowId=flow-7')).toEqual([9])
    expect(await severities('from=now-35s')).toEqual([5, 13])
    expect(await severities('limit=1')).toEqual([5])
  })

  it('explains a parameter it cannot use', async () => {
    const bad = await t.api.inject({ url: '/api/logs?severity=LOUD' })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().message).toMatch(/severity must be 1-24 or one of TRACE/)
    expect((await t.api.inject({ url: '/api/logs?traceId=xyz' })).statusCode).toBe(400)
    expect((await t.api.inject({ url: '/api/logs?colour=red' })).statusCode).toBe(400)
  })
})
