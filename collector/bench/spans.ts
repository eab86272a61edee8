import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { convertBody, type Converted } from '../src/ingest/convert.js'
import type { Storage } from '../src/storage/client.js'
import { rowInserter } from '../src/storage/insert.js'

const require = createRequire(import.meta.url)
interface Encoder {
  encode(msg: unknown): { finish(): Uint8Array }
}
const root = require('otlp-proto-definitions/build/src/generated/root.js') as {
  opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: Encoder } } } } }
}
const Request = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest

const SERVICES = ['order', 'payment', 'inventory', 'shipping', 'gateway']
const OPERATIONS = [
  'GET /orders/:id',
  'POST /orders',
  'POST /charge',
  'POST /reserve',
  'GET /stock',
  'SELECT orders',
  'INSERT payments',
]

const kv = (key: string, value: Record<string, unknown>) => ({ key, value })

/** A fixed64 as protobufjs takes it without parsing a decimal string (which cost a third). */
const fixed64 = (ns: bigint) => ({
  low: Number(ns & 0xffffffffn) | 0,
  high: Number(ns >> 32n) | 0,
  unsigned: true,
})

/**
 * One OTLP protobuf export request of realistic spans: traces of 10 spans across services,
 * a dozen attributes each (HTTP, DB, flow ID), some with an event, 1 in 20 failed.
 */
export function spanBatch(spans: number, startNs: bigint): Uint8Array {
  const byService = new Map<string, unknown[]>()
  // IDs cut from one random buffer: a call to randomBytes per ID cost as much as encoding.
  const ids = randomBytes(spans * 8 + Math.ceil(spans / 10) * 16)
  let next = 0
  const id = (bytes: number): Buffer => ids.subarray(next, (next += bytes))
  let traceId = id(16)
  let parent: Buffer | undefined
  for (let i = 0; i < spans; i++) {
    if (i % 10 === 0) {
      if (i > 0) traceId = id(16)
      parent = undefined
    }
    const service = SERVICES[i % SERVICES.length]!
    const spanId = id(8)
    const start = startNs + BigInt(i) * 1000n
    const failed = i % 20 === 7
    const span = {
      traceId,
      spanId,
      parentSpanId: parent,
      name: OPERATIONS[i % OPERATIONS.length],
      kind: parent ? 3 : 2,
      startTimeUnixNano: fixed64(start),
      endTimeUnixNano: fixed64(start + BigInt(1_000_000 + ((i * 7919) % 50_000_000))),
      attributes: [
        kv('http.request.method', { stringValue: 'POST' }),
        kv('http.route', { stringValue: '/orders/:id' }),
        kv('url.full', { stringValue: `https://shop.example/orders/${i}` }),
        kv('http.response.status_code', { intValue: failed ? 503 : 200 }),
        kv('server.address', { stringValue: `${service}.internal` }),
        kv('server.port', { intValue: 8080 }),
        kv('network.protocol.version', { stringValue: '1.1' }),
        kv('user_agent.original', { stringValue: 'shop-client/2.3' }),
        kv('db.system', { stringValue: 'postgresql' }),
        kv('db.statement', { stringValue: 'SELECT * FROM orders WHERE id = $1' }),
        kv('reckon.flow.id', { stringValue: `${1_000_000_000 + Math.floor(i / 10)}` }),
        kv('retry.attempt', { intValue: 0 }),
      ],
      events:
        i % 5 === 0
          ? [
              {
                timeUnixNano: fixed64(start + 500n),
                name: 'cache miss',
                attributes: [kv('cache.key', { stringValue: `order:${i}` })],
              },
            ]
          : [],
      status: failed ? { code: 2, message: 'upstream unavailable' } : { code: 0 },
    }
    parent = spanId
    const list = byService.get(service) ?? []
    list.push(span)
    byService.set(service, list)
  }
  return Request.encode({
    resourceSpans: [...byService.entries()].map(([service, list]) => ({
      resource: {
        attributes: [
          kv('service.name', { stringValue: service }),
          kv('service.version', { stringValue: '1.8.0' }),
          kv('deployment.environment', { stringValue: 'bench' }),
          kv('host.name', { stringValue: 'bench-host-1' }),
        ],
      },
      scopeSpans: [
        { scope: { name: '@opentelemetry/instrumentation-http', version: '0.57.0' }, spans: list },
      ],
    })),
  }).finish()
}

/** An export request as the decode threads convert it (streamed, not decoded to objects). */
export function convertRequest(body: Uint8Array): Converted {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength) // a view, not a copy
  const c = convertBody('traces', buf, false, '0')
  if (c.kind !== 'converted') throw new Error(`the bench request was refused: ${c.message}`)
  return c.converted
}

/** Stores converted export requests straight into both span tables, as the writers do. */
export async function insertConverted(
  storage: Storage,
  conversions: readonly Converted[],
): Promise<void> {
  for (const table of ['spans', 'trace_spans'] as const) {
    await rowInserter(storage)(
      `${storage.database}.${table}`,
      'Native',
      conversions.map((c) => c.batches[table]?.data ?? Buffer.alloc(0)),
    )
  }
}
