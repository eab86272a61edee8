import type { RunningReckon } from '@reckon/collector/server'
import { startShop, type RunningShop } from '@reckon/shop/launcher'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, eventually, startTestReckon } from './reckon.js'
import type { BusinessEvent } from '@reckon/collector/schemas'
import type { Static } from 'typebox'

// The demo shop's three services, each its own process instrumented only by @reckon/sdk,
// exporting over OTLP/HTTP to a real Reckon on the embedded engine.

let reckon: RunningReckon
let shop: RunningShop
const logs: string[] = []

beforeAll(async () => {
  reckon = await startTestReckon()
  shop = await startShop({
    otlpEndpoint: reckon.otlpUrl,
    apiUrl: reckon.apiUrl,
    env: {
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_BLRP_SCHEDULE_DELAY: '100',
      SHOP_METRIC_INTERVAL_MS: '500',
    },
    log: (service, line) => logs.push(`[${service}] ${line}`),
  })
}, 60_000)
afterAll(async () => {
  await shop?.stop()
  await reckon?.close()
})

interface PlacedOrder {
  orderId: string
  flowId: string
  status: string
  amount: string
}

async function placeOrder(): Promise<{ status: number; order: PlacedOrder }> {
  const res = await fetch(`${shop.urls.order}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      customer: 'ada',
      currency: 'EUR',
      items: [
        { sku: 'MUG-BLUE', quantity: 2, unitPrice: '12.90' },
        { sku: 'TEE-M', quantity: 1, unitPrice: '24.99' },
      ],
    }),
  })
  return { status: res.status, order: (await res.json()) as PlacedOrder }
}

async function setPaymentFaults(faults: object): Promise<void> {
  const res = await fetch(`${shop.urls.payment}/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  })
  expect(res.status).toBe(200)
}

/** A business event as the API serves it. */
type FlowEvent = Static<typeof BusinessEvent>

describe('demo shop through the real collector', () => {
  it('carries one flow ID on every span of the three-service chain and on its business events', async () => {
    const { status, order } = await placeOrder()
    expect(status).toBe(201)
    expect(order.amount).toBe('50.79') // 2 × 12.90 + 24.99, exact

    // Each service exports on its own schedule: wait until all three have delivered.
    const flow = await eventually(reckon, async () => {
      const f = await api<{ traces: { traceId: string }[]; events: FlowEvent[] }>(
        reckon,
        `/api/flows/${order.flowId}`,
      )
      expect(f.events.map((e) => [e.system, e.type, e.status])).toEqual([
        ['order', 'order.created', 'created'],
        ['inventory', 'stock.reserved', 'reserved'],
        ['payment', 'payment.captured', 'captured'],
        ['order', 'order.payment_requested', 'awaiting_payment'],
        ['order', 'order.paid', 'paid'],
      ])
      return f
    })
    for (const e of flow.events) expect(e.flowId).toBe(order.flowId)
    expect(flow.events.find((e) => e.type === 'payment.captured')?.amount).toBe('50.79')

    expect(flow.traces).toHaveLength(1)
    const traceId = flow.traces[0]!.traceId
    const trace = await eventually(reckon, async () => {
      const t = await api<{
        spans: {
          service: string
          name: string
          flowId: string
          attributes: Record<string, unknown>
        }[]
      }>(reckon, `/api/traces/${traceId}`)
      expect(new Set(t.spans.map((s) => s.service))).toEqual(
        new Set(['order', 'inventory', 'payment']),
      )
      expect(t.spans.some((s) => s.name === 'POST /orders/:id/payment-callback')).toBe(true)
      return t
    })
    for (const s of trace.spans) expect(s.flowId, `${s.service} ${s.name}`).toBe(order.flowId)
    const annotated = trace.spans.find((s) => s.attributes['circuitbreaker.name'] === 'payment')
    expect(annotated?.attributes).toMatchObject({
      'circuitbreaker.state': 'closed',
      'retry.attempt': 1,
    })
  })

  it('opens the payment breaker under failures, records the transition and reports the state', async () => {
    await setPaymentFaults({ errorRate: 1 })
    let refused: PlacedOrder | undefined
    for (let i = 0; i < 20 && !refused; i++) {
      const { status, order } = await placeOrder()
      expect(status).toBe(503)
      const res = await fetch(`${shop.urls.order}/orders/${order.orderId}`)
      expect(((await res.json()) as PlacedOrder).status).toBe('cancelled')
      if (i >= 3) refused = order // by now ≥ 10 attempts were made, nearly all failed
    }
    await setPaymentFaults({ errorRate: 0 })

    const transitions = await eventually(reckon, async () => {
      const t = await api<{
        transitions: { from: string; to: string; instance: string; causeTraceId: string }[]
      }>(reckon, '/api/breakers/transitions?service=order&name=payment')
      expect(t.transitions.map((x) => [x.from, x.to])).toEqual([['CLOSED', 'OPEN']])
      return t.transitions
    })
    expect(transitions[0]?.causeTraceId).toMatch(/^[0-9a-f]{32}$/)

    const breaker = await eventually(reckon, async () => {
      const { breakers } = await api<{
        breakers: {
          name: string
          instance: string
          state: string
          failureRate: number | null
          calls: { failed: number; successful: number; notPermitted: number }
          metrics: Record<string, number>
        }[]
      }>(reckon, '/api/breakers?service=order')
      const payment = breakers.find((b) => b.name === 'payment')
      expect(payment?.state).toBe('OPEN')
      expect(payment?.calls.notPermitted).toBeGreaterThan(0)
      return payment!
    })
    expect(breaker.instance).toBe(transitions[0]?.instance)
    // It opened once the 10-call minimum was reached at ≥ 50 % failures.
    expect(breaker.calls.failed).toBeGreaterThanOrEqual(5)
    expect(breaker.calls.failed + breaker.calls.successful).toBeGreaterThanOrEqual(10)
    expect(breaker.metrics['resilience4j_circuitbreaker_state{state="open"}']).toBe(1)
    expect(breaker.metrics['resilience4j_circuitbreaker_state{state="closed"}']).toBe(0)

    // The compensation ran for the refused order: its stock was released, once.
    const events = await eventually(reckon, async () => {
      const f = await api<{ events: FlowEvent[] }>(reckon, `/api/flows/${refused!.flowId}`)
      expect(f.events.map((e) => e.type)).toContain('order.payment_failed')
      return f.events
    })
    expect(events.map((e) => e.type)).toEqual([
      'order.created',
      'stock.reserved',
      'stock.released',
      'order.payment_failed',
    ])
  })

  it('reports every instance up with its health figures', async () => {
    const { instances } = await api<{
      instances: {
        service: string
        status: string
        version: string
        figures: Record<string, number | null>
      }[]
    }>(reckon, '/api/health')
    expect(instances.map((i) => [i.service, i.status, i.version])).toEqual([
      ['inventory', 'up', '1.4.2'],
      ['order', 'up', '1.4.2'],
      ['payment', 'up', '1.4.2'],
    ])
    for (const i of instances) {
      expect(i.figures.rssBytes).toBeGreaterThan(10_000_000)
      expect(i.figures.heapUsedBytes).toBeGreaterThan(1_000_000)
      expect(i.figures.eventLoopDelayP99Ms).toBeGreaterThanOrEqual(0)
    }
  })

  it('answers a repeated compensation with the first answer and does the work once', async () => {
    const { order } = await placeOrder()
    const release = () =>
      fetch(`${shop.urls.inventory}/reservations/${order.orderId}/release`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': `recon-${order.orderId}`,
        },
        body: '{}',
      })
    const first = await release()
    const second = await release()
    expect(first.status).toBe(200)
    expect(second.headers.get('idempotent-replayed')).toBe('true')
    expect(await second.json()).toEqual(await first.json())
    const missingKey = await fetch(`${shop.urls.inventory}/reservations/${order.orderId}/release`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(missingKey.status).toBe(400)

    const events = await eventually(reckon, async () => {
      const f = await api<{ events: FlowEvent[] }>(reckon, `/api/flows/${order.flowId}`)
      expect(f.events.map((e) => e.type)).toContain('stock.released')
      return f.events
    })
    expect(events.filter((e) => e.type === 'stock.released')).toHaveLength(1)
  })
})
