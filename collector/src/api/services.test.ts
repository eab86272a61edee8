import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testApps, type TestApps } from '../testing/apps.js'
import { hex } from '../testing/harness.js'

let t: TestApps
// Every figure below is read with `to` fixed at this instant (Unix ms), a second ago.
const toMs = Date.now() - 1000
const ns = (ms: number): string => (BigInt(ms) * 1_000_000n).toString()

/** One trace per call: a server span and the database call under it, 2 ms each. */
function calls(service: string, startsMs: number[]) {
  const attr = { key: 'service.name', value: { stringValue: service } }
  return {
    resourceSpans: [
      {
        resource: { attributes: [attr] },
        scopeSpans: [
          {
            spans: startsMs.flatMap((ms) => {
              const [traceId, root] = [hex(16), hex(8)]
              const span = (spanId: string, name: string, kind: string, parent = '') => ({
                traceId,
                spanId,
                parentSpanId: parent,
                name,
                kind,
                startTimeUnixNano: ns(ms),
                endTimeUnixNano: ns(ms + 2),
              })
              return [
                span(root, 'GET /stock', 'SPAN_KIND_SERVER'),
                span(hex(8), 'SELECT stock', 'SPAN_KIND_CLIENT', root),
              ]
            }),
          },
        ],
      },
    ],
  }
}

beforeAll(async () => {
  t = await testApps()
  // 2 calls a second for the last 10 s before `to`, nothing earlier in the hour.
  const steady = Array.from({ length: 20 }, (_, i) => toMs - 10_000 + i * 500)
  expect((await t.postJson('/v1/traces', calls('stock', steady))).statusCode).toBe(200)
  expect((await t.postJson('/v1/traces', calls('once', [toMs - 100]))).statusCode).toBe(200)
  await t.flush()
})
afterAll(() => t.close())

interface Figures {
  rate: number
  calls: number
}
const services = async (query: string) => {
  const res = await t.api.inject({ url: `/api/services?${query}` })
  expect(res.statusCode).toBe(200)
  const list = res.json<{ services: (Figures & { service: string; spans: number })[] }>()
  return Object.fromEntries(list.services.map((s) => [s.service, s]))
}

describe('GET /api/services rate', () => {
  it('is calls per second since the service’s first span in the window, not over the whole hour', async () => {
    const { stock, once } = await services(`to=${toMs}`)
    expect(stock).toMatchObject({ calls: 20, spans: 40 })
    expect(stock!.rate).toBeCloseTo(2, 6)
    // One call 100 ms before `to` is counted over a second: 1/s, not 10/s.
    expect(once).toMatchObject({ calls: 1, rate: 1 })
  })

  it('counts from the window’s start when the service was sending before it', async () => {
    // [to − 5 s, to] holds the calls at −5 s, −4.5 s … −0.5 s.
    const { stock } = await services(`from=${toMs - 5000}&to=${toMs}`)
    expect(stock!.calls).toBe(10)
    expect(stock!.rate).toBeCloseTo(2, 6)
  })

  it('runs to now in the default window', async () => {
    const { stock } = await services('')
    // The calls stopped at `to`, a second or so ago: the rate has only begun to fall.
    expect(stock!.rate).toBeGreaterThan(20 / 15)
    expect(stock!.rate).toBeLessThan(2)
  })
})

describe('GET /api/services/:name/operations rate', () => {
  it('measures each operation over its service’s covered time', async () => {
    const res = await t.api.inject({ url: `/api/services/stock/operations?to=${toMs}` })
    expect(res.statusCode).toBe(200)
    const ops = res.json<{ operations: (Figures & { operation: string })[] }>().operations
    const byName = Object.fromEntries(ops.map((o) => [o.operation, o]))
    expect(Object.keys(byName).sort()).toEqual(['GET /stock', 'SELECT stock'])
    for (const op of ops) {
      expect(op.calls, op.operation).toBe(20)
      expect(op.rate, op.operation).toBeCloseTo(2, 6)
    }
  })
})
