import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testApps, type TestApps } from '../testing/apps.js'
import { nanosAgo } from '../testing/harness.js'

let t: TestApps
beforeAll(async () => {
  t = await testApps()
})
afterAll(() => t.close())

const at = (msAgo: number) => nanosAgo(msAgo).toString()

describe('GET /api/flows', () => {
  beforeAll(async () => {
    const order = (flowId: string, key: string, status: string, msAgo: number) => ({
      type: `order.${status.toLowerCase()}`,
      system: 'order',
      entity: 'order',
      key,
      flowId,
      status,
      amount: '12.50',
      currency: 'EUR',
      timestamp: at(msAgo),
    })
    const events = [
      order('flow-a', 'o-1', 'CREATED', 60_000),
      order('flow-a', 'o-1', 'PAID', 50_000),
      {
        type: 'payment.captured',
        system: 'payment',
        entity: 'payment',
        key: 'o-1',
        flowId: 'flow-a',
        status: 'CAPTURED',
        timestamp: at(55_000),
      },
      order('flow-b', 'o-2', 'CREATED', 30_000),
      // Not part of any flow.
      { type: 'stock.counted', system: 'inventory', entity: 'sku', key: 's-1' },
    ]
    const res = await t.postJson('/v1/events', events)
    expect(res.statusCode, res.body).toBe(200)
    // An exporter's retry: the same event again counts once.
    await t.postJson('/v1/events', [events[1]])
    await t.flush()
  })

  it('lists the newest flows first with each system they reached and its latest status', async () => {
    const res = await t.api.inject({ url: '/api/flows?from=now-1h' })
    expect(res.statusCode, res.body).toBe(200)
    const { flows } = res.json<{ flows: Record<string, unknown>[] }>()
    expect(flows.map((f) => f.flowId)).toEqual(['flow-b', 'flow-a'])
    expect(flows[1]).toEqual({
      flowId: 'flow-a',
      firstUnixNano: expect.any(String),
      lastUnixNano: expect.any(String),
      events: 3,
      keys: ['o-1'],
      systems: [
        { system: 'order', events: 2, lastStatus: 'PAID', lastUnixNano: expect.any(String) },
        { system: 'payment', events: 1, lastStatus: 'CAPTURED', lastUnixNano: expect.any(String) },
      ],
    })
    const a = flows[1]!
    expect(BigInt(a.firstUnixNano as string) < BigInt(a.lastUnixNano as string)).toBe(true)
  })

  it('finds a flow by a business key or system and still shows all of it', async () => {
    const byKey = await t.api.inject({ url: '/api/flows?key=o-1' })
    expect(byKey.json().flows.map((f: { flowId: string }) => f.flowId)).toEqual(['flow-a'])
    const bySystem = await t.api.inject({ url: '/api/flows?system=payment' })
    const [flow] = bySystem.json().flows as { systems: { system: string }[] }[]
    expect(flow?.systems.map((s) => s.system)).toEqual(['order', 'payment'])
    expect((await t.api.inject({ url: '/api/flows?key=nobody' })).json()).toEqual({ flows: [] })
  })

  it('refuses a bad limit naming it', async () => {
    const res = await t.api.inject({ url: '/api/flows?limit=0' })
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toMatch(/limit/)
  })
})
