import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testApps, type TestApps } from '../testing/apps.js'
import { hex } from '../testing/harness.js'

interface S {
  spanId: string
  parent?: string
  name: string
  startMs: number
  durationMs: number
  error?: boolean
}

/** OTLP/JSON of one trace; times in ms after a start a minute ago. */
function trace(traceId: string, spans: S[], service = 'shop') {
  const base = (BigInt(Date.now()) - 60_000n) * 1_000_000n
  const at = (ms: number) => (base + BigInt(Math.round(ms * 1e6))).toString()
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            scope: { name: 'test' },
            spans: spans.map((s) => ({
              traceId,
              spanId: s.spanId,
              parentSpanId: s.parent ?? '',
              name: s.name,
              kind: 2,
              startTimeUnixNano: at(s.startMs),
              endTimeUnixNano: at(s.startMs + s.durationMs),
              attributes: [{ key: 'order.id', value: { stringValue: `o-${s.name}` } }],
              status: { code: s.error ? 2 : 0 },
            })),
          },
        ],
      },
    ],
  }
}

describe('GET /api/traces/:traceId/outline', () => {
  let t: TestApps
  const small = hex(16)
  const deep = hex(16)
  const ids = { root: hex(8), pay: hex(8), charge: hex(8), stock: hex(8) }
  beforeAll(async () => {
    t = await testApps()
    const spans: S[] = [
      { spanId: ids.stock, parent: ids.root, name: 'reserve', startMs: 60, durationMs: 30 },
      { spanId: ids.root, name: 'POST /orders', startMs: 0, durationMs: 100 },
      { spanId: ids.pay, parent: ids.root, name: 'pay', startMs: 5, durationMs: 50 },
      {
        spanId: ids.charge,
        parent: ids.pay,
        name: 'charge',
        startMs: 10,
        durationMs: 40,
        error: true,
      },
    ]
    // Sent twice: the exporter's retry.
    for (let i = 0; i < 2; i++)
      expect((await t.postJson('/v1/traces', trace(small, spans))).statusCode).toBe(200)
    const chain: S[] = Array.from({ length: 1000 }, (_, i) => ({
      spanId: `${(i + 1).toString(16).padStart(16, '0')}`,
      parent: i ? `${i.toString(16).padStart(16, '0')}` : '',
      name: `level-${i}`,
      startMs: i * 0.01,
      durationMs: 20 - i * 0.01,
    }))
    expect((await t.postJson('/v1/traces', trace(deep, chain))).statusCode).toBe(200)
    await t.flush()
  })
  afterAll(() => t.close())

  const outline = async (id: string, query = '') =>
    t.api.inject({ url: `/api/traces/${id}/outline${query}` })

  it('serves the trace in tree order as columns with depth, subtree size, errors and the critical path', async () => {
    const res = await outline(small)
    expect(res.statusCode).toBe(200)
    const o = res.json()
    expect(o).toMatchObject({
      traceId: small,
      spanCount: 4,
      truncated: false,
      offset: 0,
      maxDepth: 2,
    })
    expect(o.orphans).toBe(0)
    expect(o.rows.spanId).toEqual([ids.root, ids.pay, ids.charge, ids.stock])
    expect(o.rows.name.map((i: number): string => String(o.names[i]))).toEqual([
      'POST /orders',
      'pay',
      'charge',
      'reserve',
    ])
    expect(o.rows.service.map((i: number): string => String(o.services[i]))).toEqual([
      'shop',
      'shop',
      'shop',
      'shop',
    ])
    expect(o.rows.parent).toEqual([-1, 0, 1, 0])
    expect(o.rows.depth).toEqual([0, 1, 2, 1])
    expect(o.rows.size).toEqual([4, 2, 1, 1])
    expect(o.rows.status).toEqual([0, 0, 2, 0])
    expect(o.rows.start).toEqual([0, 5e6, 10e6, 60e6])
    expect(o.rows.duration).toEqual([100e6, 50e6, 40e6, 30e6])
    // reserve ends last, pay before it, charge inside pay.
    expect(o.rows.critical).toEqual([1, 1, 1, 1])
    expect(Number(o.durationNano)).toBe(100e6)
  })

  it('serves a window of rows, and the window around a span a link points at', async () => {
    const page = (await outline(deep, '?offset=500&limit=10')).json()
    expect(page).toMatchObject({ spanCount: 1000, offset: 500, maxDepth: 999 })
    expect(page.rows.depth).toEqual([500, 501, 502, 503, 504, 505, 506, 507, 508, 509])
    expect(page.rows.parent[0]).toBe(499)
    const target = (900 + 1).toString(16).padStart(16, '0')
    const around = (await outline(deep, `?around=${target}&limit=10`)).json()
    expect(around.rows.spanId).toContain(target)
    expect(around.offset).toBe(895)
  })

  it('answers 404 for a trace with no spans and 400 for a bad window', async () => {
    expect((await outline(hex(16))).statusCode).toBe(404)
    const bad = await outline(small, '?limit=20001')
    expect(bad.statusCode).toBe(400)
    expect(bad.json().message).toMatch(/limit/)
  })

  it('serves one span whole, and 404 for a span the trace does not have', async () => {
    const res = await t.api.inject({ url: `/api/traces/${small}/spans/${ids.charge}` })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({
      spanId: ids.charge,
      parentSpanId: ids.pay,
      name: 'charge',
      service: 'shop',
      status: { code: 'Error' },
      attributes: { 'order.id': 'o-charge' },
    })
    expect((await t.api.inject({ url: `/api/traces/${small}/spans/${hex(8)}` })).statusCode).toBe(
      404,
    )
  })
})
