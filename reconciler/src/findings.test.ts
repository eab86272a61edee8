// A finding's life across runs: opened once however often it is seen, resolved when a later
// run no longer sees it, opened again if it comes back; dry runs touch nothing.
import type { Storage } from '@reckon/collector/storage'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { appendChanges } from './findings.js'
import { dropStorage, HOUR_NS, insertEvents, nanosAgo, testStorage } from './testing/harness.js'
import { breaksOf, EVENTS, ruleOf, runToEnd } from './testing/runs.js'

let storage: Storage
beforeAll(async () => {
  storage = await testStorage()
})
afterAll(async () => {
  await dropStorage(storage)
})

const rule = ruleOf(
  { left: 'orders', right: 'payments' },
  { orders: EVENTS('order', 'order.paid'), payments: EVENTS('payment', 'payment.captured') },
)

async function history(): Promise<{ key: string; state: string; why: string; run_id: string }[]> {
  const rs = await storage.client.query({
    query: `SELECT key, state, why, run_id FROM ${storage.database}.reconcile_findings ORDER BY key, at`,
    format: 'JSONEachRow',
  })
  return rs.json()
}

it('opens, keeps, resolves and reopens findings as runs see them', async () => {
  const now = nanosAgo()
  const from = now - 2n * HOUR_NS
  const at = now - HOUR_NS
  const order = (key: string) => ({ system: 'order', type: 'order.paid', key, at })
  const payment = (key: string) => ({ system: 'payment', type: 'payment.captured', key, at })
  await insertEvents(storage, [order('a'), order('b'), order('c')])

  const dry = await runToEnd(storage, { rule, from, to: now, now, dryRun: true })
  expect((await breaksOf(storage, dry)).filter((r) => r.category === 'dropped')).toHaveLength(3)
  expect(await history()).toEqual([])

  const first = await runToEnd(storage, { rule, from, to: now, now })
  expect((await history()).map((h) => `${h.key} ${h.state}`)).toEqual([
    'a open',
    'b open',
    'c open',
  ])

  // Seen again: still one open row each.
  await runToEnd(storage, { rule, from, to: now, now })
  expect(await history()).toHaveLength(3)

  // b's payment turns up; c is ignored by a person.
  await insertEvents(storage, [payment('b')])
  const [c] = (await breaksOf(storage, first)).filter((r) => r.key === 'c')
  await appendChanges(storage, [
    {
      findingId: c!.finding_id,
      rule: rule.name,
      category: 'dropped',
      key: 'c',
      state: 'ignored',
      by: 'ana',
      why: 'test order',
    },
  ])
  const third = await runToEnd(storage, { rule, from, to: now, now })
  const h = await history()
  expect(h.map((x) => `${x.key} ${x.state}`)).toEqual([
    'a open',
    'b open',
    'b resolved',
    'c open',
    'c ignored',
  ])
  expect(h.find((x) => x.state === 'resolved')).toMatchObject({
    why: `${third.id} no longer sees the break`,
    run_id: third.id,
  })
  expect(third.report?.breaks.dropped.findings).toBe(2)
  expect(third.report?.matched.keys).toBe(1)

  // A run over another window leaves a's finding alone.
  await runToEnd(storage, { rule, from: now - 10n * HOUR_NS, to: now - 5n * HOUR_NS, now })
  expect(await history()).toHaveLength(5)
})
