// Reconciliation end to end as `npm start` runs it: `reckon up` and the demo shop's three
// services as real processes, the shop's rules at a faster pace. Payment callbacks the payment
// service drops are found, repaired through the order service's idempotent compensation
// endpoint, and resolved by the next run; the compensation is a trace in the order's flow.
import type { BusinessEvent } from '@reckon/collector/schemas'
import type { Static } from 'typebox'
import type { RunningShop } from '@reckon/shop/launcher'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exited, getJson, running, type Running } from './cli.js'
import { eventually, startShopAndReckon } from './shop-fixture.js'

let reckon: Running
let shop: RunningShop

beforeAll(async () => {
  ;({ reckon, shop } = await startShopAndReckon('reckon-shop-reconcile-'))
}, 60_000)

afterAll(async () => {
  await shop?.stop()
  for (const child of running.splice(0)) {
    child.kill('SIGTERM')
    await exited(child)
  }
})

async function faults(faults: object): Promise<void> {
  const res = await fetch(`${shop.urls.payment}/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  })
  expect(res.status).toBe(200)
}

async function placeOrder(): Promise<{ orderId: string; flowId: string; status: string }> {
  const res = await fetch(`${shop.urls.order}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      customer: 'grace',
      currency: 'EUR',
      items: [{ sku: 'MUG-BLUE', quantity: 1, unitPrice: '12.90' }],
    }),
  })
  expect(res.status).toBe(201)
  return (await res.json()) as { orderId: string; flowId: string; status: string }
}

interface Finding {
  id: string
  category: string
  key: string
  state: string
}

interface FindingDetail extends Finding {
  history: { state: string; why: string }[]
  attempts: { step: string; outcome: string; httpStatus: number | null; traceId: string }[]
}

describe('the demo shop reconciled', () => {
  it('finds dropped payment callbacks, marks the orders paid, and resolves them on the next run', async () => {
    await faults({ dropCallbackRate: 1 })
    const dropped = [await placeOrder(), await placeOrder()]
    await faults({ dropCallbackRate: 0 })
    const paid = await placeOrder()
    for (const order of dropped) expect(order.status).toBe('awaiting_payment')

    const resolved = await eventually(async () => {
      const runs = await getJson<{ id: string }[]>(
        `${reckon.apiUrl}/api/reconcile/runs?rule=payment-order&limit=50`,
      )
      const findings: Finding[] = []
      for (const run of runs) {
        const page = await getJson<{ findings: Finding[] }>(
          `${reckon.apiUrl}/api/reconcile/runs/${run.id}/findings?category=dropped&pending=false`,
        )
        findings.push(...page.findings)
      }
      const mine = dropped.map((o) => findings.find((f) => f.key === o.orderId))
      for (const f of mine) expect(f?.state).toBe('resolved')
      return mine as Finding[]
    }, 90_000)

    // No finding for the order whose callback arrived.
    expect(resolved.map((f) => f.key).sort()).toEqual(dropped.map((o) => o.orderId).sort())
    for (const [i, order] of dropped.entries()) {
      const detail = await getJson<FindingDetail>(
        `${reckon.apiUrl}/api/reconcile/findings/${resolved[i]!.id}`,
      )
      expect(detail.history.map((h) => h.state)).toEqual([
        'open',
        'compensating',
        'compensated',
        'resolved',
      ])
      // Asked first (the order had not heard of its payment), then repaired once.
      expect(detail.attempts.filter((a) => a.outcome !== 'started')).toEqual([
        expect.objectContaining({ step: 'verify', httpStatus: 404 }),
        expect.objectContaining({ step: 'action', outcome: 'succeeded', httpStatus: 200 }),
      ])
      const shopOrder = await getJson<{ status: string }>(
        `${shop.urls.order}/orders/${order.orderId}`,
      )
      expect(shopOrder.status).toBe('paid')

      // The compensation is a trace in the order's flow, and its event says so.
      const action = detail.attempts.find((a) => a.step === 'action' && a.outcome === 'succeeded')!
      const flow = await eventually(async () => {
        const f = await getJson<{
          traces: { traceId: string }[]
          events: Static<typeof BusinessEvent>[]
        }>(`${reckon.apiUrl}/api/flows/${order.flowId}`)
        expect(f.traces.map((t) => t.traceId)).toContain(action.traceId)
        return f
      })
      const paidEvent = flow.events.find((e) => e.type === 'order.paid')
      expect(paidEvent).toMatchObject({
        traceId: action.traceId,
        attributes: expect.objectContaining({ compensation: 'mark-paid' }),
      })
    }
    const shopPaid = await getJson<{ status: string }>(`${shop.urls.order}/orders/${paid.orderId}`)
    expect(shopPaid.status).toBe('paid')
  }, 120_000)
})
