import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrate } from '../storage/migrate.js'
import type { Storage } from '../storage/client.js'
import { dropDatabase, hex, nanosAgo, testConfig, testStorage } from '../testing/harness.js'
import { createRequire } from 'node:module'
import { decodeRequest } from './proto.js'
import { convertTraces } from './traces.js'
import type { Span, TracesRequest } from './types.js'
import { rowInserter } from '../storage/insert.js'

const require = createRequire(import.meta.url)
const { ExportTraceServiceRequest } = (
  require('otlp-proto-definitions/build/src/generated/root.js') as {
    opentelemetry: {
      proto: {
        collector: {
          trace: {
            v1: { ExportTraceServiceRequest: { encode(m: unknown): { finish(): Uint8Array } } }
          }
        }
      }
    }
  }
).opentelemetry.proto.collector.trace.v1

// Spans are written column by column; a span refused half-way through its attributes must
// leave nothing behind, and the spans around it must come back exactly.
let storage: Storage
beforeAll(async () => {
  storage = testStorage(testConfig())
  await migrate(storage)
})
afterAll(() => dropDatabase(storage))

const kv = (key: string, value: Record<string, unknown>) => ({ key, value })

function request(spans: Span[]): TracesRequest {
  return {
    resourceSpans: [
      {
        resource: {
          attributes: [
            kv('service.name', { stringValue: 'checkout' }),
            kv('host.cpu.count', { intValue: 8 }),
          ],
        },
        scopeSpans: [{ scope: { name: 'test', version: '1' }, spans }],
      },
    ],
  }
}

function span(name: string, attributes: unknown[], over: Partial<Span> = {}): Span {
  const start = nanosAgo(1000)
  return {
    traceId: hex(16),
    spanId: hex(8),
    name,
    kind: 2,
    startTimeUnixNano: start.toString(),
    endTimeUnixNano: (start + 2_500_000n).toString(),
    attributes: attributes as Span['attributes'],
    ...over,
  }
}

interface Stored {
  span_name: string
  span_attributes: Record<string, string>
  span_attribute_types: Record<string, string>
  resource_attributes: Record<string, string>
  resource_attribute_types: Record<string, string>
  flow_id: string
  duration_ns: string
}

async function store(req: TracesRequest): Promise<Stored[]> {
  const converted = convertTraces(req)
  await storage.client.command({ query: `TRUNCATE TABLE ${storage.database}.spans` })
  await rowInserter(storage)(`${storage.database}.spans`, 'Native', [converted.encoded.data])
  const rs = await storage.client.query({
    query: `SELECT span_name, span_attributes, span_attribute_types, resource_attributes,
              resource_attribute_types, flow_id, toString(duration_ns) AS duration_ns
            FROM ${storage.database}.spans ORDER BY span_name`,
    format: 'JSONEachRow',
  })
  return rs.json<Stored>()
}

describe('convertTraces', () => {
  it('drops a span refused in the middle of its attributes, and keeps its neighbours whole', async () => {
    const req = request([
      span('a first', [kv('http.route', { stringValue: '/a' }), kv('retry', { intValue: 2 })]),
      span('b refused', [
        kv('http.route', { stringValue: '/b' }),
        kv('reckon.flow.id', { stringValue: 'flow-b' }),
        kv('count', { intValue: 'twelve' }),
      ]),
      span('c last', [
        kv('reckon.flow.id', { stringValue: 'flow-c' }),
        kv('ratio', { doubleValue: 0.25 }),
      ]),
    ])
    const converted = convertTraces(req)
    expect(converted.rejected).toBe(1)
    expect(converted.errors).toEqual(['span 1: attributes.count must be an integer, got "twelve"'])
    const rows = await store(req)
    const resource = {
      resource_attributes: { 'service.name': 'checkout', 'host.cpu.count': '8' },
      resource_attribute_types: { 'host.cpu.count': 'int' },
    }
    expect(rows).toEqual([
      {
        span_name: 'a first',
        span_attributes: { 'http.route': '/a', retry: '2' },
        span_attribute_types: { retry: 'int' },
        flow_id: '',
        duration_ns: '2500000',
        ...resource,
      },
      {
        span_name: 'c last',
        span_attributes: { 'reckon.flow.id': 'flow-c', ratio: '0.25' },
        span_attribute_types: { ratio: 'double' },
        flow_id: 'flow-c',
        duration_ns: '2500000',
        ...resource,
      },
    ])
  })

  it('keeps the first of a repeated attribute key, for the value and the flow ID alike', async () => {
    const rows = await store(
      request([
        span('dup', [
          kv('reckon.flow.id', { stringValue: 'first' }),
          kv('k', { intValue: 1 }),
          kv('s', { stringValue: 'text' }),
          kv('reckon.flow.id', { stringValue: 'second' }),
          kv('k', { stringValue: 'text' }),
          kv('s', { intValue: 2 }),
        ]),
      ]),
    )
    expect(rows[0]).toMatchObject({
      span_attributes: { 'reckon.flow.id': 'first', k: '1', s: 'text' },
      span_attribute_types: { k: 'int' },
      flow_id: 'first',
    })
  })

  it('refuses times past 2262 and negative durations by name, without throwing', () => {
    const recent = BigInt(Date.now()) * 1_000_000n
    const converted = convertTraces(
      request([
        span('late', [], {
          startTimeUnixNano: '9300000000000000000',
          endTimeUnixNano: '9300000000000000001',
        }),
        span('backwards', [], {
          startTimeUnixNano: `${recent + 2n}`,
          endTimeUnixNano: `${recent + 1n}`,
        }),
      ]),
    )
    expect(converted.encoded.rows).toBe(0)
    expect(converted.errors).toEqual([
      'span 0: startTimeUnixNano is later than 2262-04-11, the latest time Reckon stores',
      'span 1: endTimeUnixNano is before startTimeUnixNano',
    ])
  })

  it('reads protobuf times and IDs exactly, durations past 2^53 ns included', async () => {
    const traceId = hex(16)
    const start = nanosAgo(1000) + 123_456_789n
    const req = request([
      span('long', [], {
        traceId: Buffer.from(traceId, 'hex'),
        spanId: Buffer.from(hex(8), 'hex'),
        startTimeUnixNano: start.toString(),
        endTimeUnixNano: (start + 9_007_199_254_740_993n).toString(),
      }),
    ])
    const decoded = decodeRequest.traces(ExportTraceServiceRequest.encode(req).finish())
    const rows = await store(decoded)
    expect(rows[0]?.duration_ns).toBe('9007199254740993')
    const rs = await storage.client.query({
      query: `SELECT trace_id, toString(toUnixTimestamp64Nano(timestamp)) AS start
              FROM ${storage.database}.spans`,
      format: 'JSONEachRow',
    })
    expect(await rs.json()).toEqual([{ trace_id: traceId, start: start.toString() }])
  })
})
