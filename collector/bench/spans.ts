import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import type { SpanConversion } from '../src/otlp/traces.js'
import type { Storage } from '../src/storage/client.js'

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

/**
 * One OTLP protobuf export request of realistic spans: traces of 10 spans across services,
 * a dozen attributes each (HTTP, DB, flow ID), some with an event, 1 in 20 failed.
 */
export function spanBatch(spans: number, startNs: bigint): Uint8Array {
  const byService = new Map<string, unknown[]>()
  let traceId = randomBytes(16)
  let parent: Buffer | undefined
  for (let i = 0; i < spans; i++) {
    if (i % 10 === 0) {
      traceId = randomBytes(16)
      parent = undefined
    }
    const service = SERVICES[i % SERVICES.length]!
    const spanId = randomBytes(8)
    const start = startNs + BigInt(i) * 1000n
    const failed = i % 20 === 7
    const span = {
      traceId,
      spanId,
      parentSpanId: parent,
      name: OPERATIONS[i % OPERATIONS.length],
      kind: parent ? 3 : 2,
      startTimeUnixNano: start.toString(),
      endTimeUnixNano: (start + BigInt(1_000_000 + ((i * 7919) % 50_000_000))).toString(),
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
                timeUnixNano: (start + 500n).toString(),
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

/** Stores converted export requests straight into both span tables, as the writers do. */
export async function insertConverted(
  storage: Storage,
  conversions: readonly SpanConversion[],
): Promise<void> {
  const db = storage.database
  await storage.insertRows(
    `${db}.spans`,
    'Native',
    conversions.map((c) => c.encoded.data),
  )
  await storage.insertRows(
    `${db}.trace_spans`,
    'Native',
    conversions.map((c) => c.traceSpans.data),
  )
}
