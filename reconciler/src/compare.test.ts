// The semantics of a run, pinned on events with known breaks: which keys are dropped,
// orphaned, duplicated, mismatched or pending, and which amounts they carry.
import type { Storage } from '@reckon/collector/storage'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  dropStorage,
  HOUR_NS,
  insertEvents,
  MINUTE_NS,
  nanosAgo,
  testStorage,
} from './testing/harness.js'
import { dropLeftoverStages, stageTable } from './compare.js'
import { nanosText } from './nanos.js'
import { breaksOf, EVENTS, found, ruleOf, runToEnd } from './testing/runs.js'

const SOURCES = {
  orders: EVENTS('order', 'order.paid'),
  payments: EVENTS('payment', 'payment.captured'),
}

let storage: Storage
beforeAll(async () => {
  storage = await testStorage()
})
afterAll(async () => {
  await dropStorage(storage)
})

describe('one-to-one over events', () => {
  const now = nanosAgo()
  const from = now - 2n * HOUR_NS
  const to = now
  const rule = ruleOf(
    {
      left: 'orders',
      right: 'payments',
      grace: '15m',
      status: { PAID: ['CAPTURED', 'SETTLED'] },
      amount: { tolerance: '0.00', perCurrency: { JPY: '1' } },
    },
    SOURCES,
  )
  const order = (key: string, at: bigint, amount = '10.00', status = 'PAID', currency = 'EUR') => ({
    system: 'order',
    type: 'order.paid',
    key,
    amount,
    status,
    currency,
    at,
    flowId: `flow-${key}`,
  })
  const payment = (
    key: string,
    at: bigint,
    amount = '10.00',
    status = 'CAPTURED',
    currency = 'EUR',
  ) => ({
    system: 'payment',
    type: 'payment.captured',
    key,
    amount,
    status,
    currency,
    at,
  })
  const hourAgo = now - HOUR_NS

  beforeAll(async () => {
    await insertEvents(storage, [
      order('ok-1', hourAgo),
      payment('ok-1', hourAgo + MINUTE_NS),
      order('ok-2', hourAgo, '99999999999999.99'),
      payment('ok-2', hourAgo, '99999999999999.99', 'SETTLED'),
      // dropped: paid, never captured
      order('dropped-1', hourAgo, '25.50'),
      // pending: too young to call dropped
      order('young-1', now - 5n * MINUTE_NS, '7.00'),
      // orphan: captured, no order
      payment('orphan-1', hourAgo, '3.00'),
      // the counterpart arrived late, but within grace after the window
      order('late-1', to - MINUTE_NS),
      payment('late-1', to + 5n * MINUTE_NS),
      // status: refunded is not an agreeing status for PAID
      order('status-1', hourAgo),
      payment('status-1', hourAgo, '10.00', 'REFUNDED'),
      // amount: one cent off; and another currency
      order('amount-1', hourAgo, '10.00'),
      payment('amount-1', hourAgo, '10.01'),
      order('ccy-1', hourAgo, '10.00', 'PAID', 'EUR'),
      payment('ccy-1', hourAgo, '10.00', 'CAPTURED', 'USD'),
      // JPY has a tolerance of 1
      order('jpy-ok', hourAgo, '1500', 'PAID', 'JPY'),
      payment('jpy-ok', hourAgo, '1501', 'CAPTURED', 'JPY'),
      order('jpy-off', hourAgo, '1500', 'PAID', 'JPY'),
      payment('jpy-off', hourAgo, '1502', 'CAPTURED', 'JPY'),
      // two payments of one order: a duplicate only, though its amounts also differ
      order('dup-1', hourAgo, '10.00'),
      payment('dup-1', hourAgo, '10.00'),
      payment('dup-1', hourAgo + MINUTE_NS, '10.00', 'REFUNDED'),
      // a left status absent from the map is not compared
      order('unmapped-1', hourAgo, '10.00', 'SHIPPED'),
      payment('unmapped-1', hourAgo, '10.00', 'WHATEVER'),
      // outside the window (and its grace) on both sides: not this run's business
      order('old-1', from - HOUR_NS),
    ])
    // An exporter's retry: the same event again is one record, not a duplicate.
    await insertEvents(storage, [payment('ok-1', hourAgo + MINUTE_NS)])
  })

  it('finds each break once, with pending keys apart and the rest matched', async () => {
    const run = await runToEnd(storage, { rule, from, to, now })
    const rows = await breaksOf(storage, run)
    expect(found(rows)).toEqual([
      'amount_mismatch amount-1',
      'amount_mismatch ccy-1',
      'amount_mismatch jpy-off',
      'dropped (pending) young-1',
      'dropped dropped-1',
      'duplicate dup-1',
      'orphan orphan-1',
      'status_mismatch status-1',
    ])
    const matched = rows.filter((r) => r.category === 'matched')
    const keys = Object.fromEntries(matched.map((r) => [r.left_currencies[0], Number(r.keys)]))
    // ok-1, ok-2, late-1, unmapped-1 in EUR; jpy-ok in JPY
    expect(keys).toEqual({ EUR: 4, JPY: 1 })
    const eur = matched.find((r) => r.left_currencies[0] === 'EUR')!
    expect(eur.left_amount).toBe('100000000000029.99')
  })

  it('carries the amounts of both sides on each finding', async () => {
    const run = await runToEnd(storage, { rule, from, to, now })
    const rows = await breaksOf(storage, run)
    const of = (key: string) => rows.find((r) => r.key === key)!
    expect([of('dropped-1').left_amount, of('dropped-1').right_amount]).toEqual(['25.5', null])
    expect([of('orphan-1').left_amount, of('orphan-1').right_amount]).toEqual([null, '3'])
    expect([of('amount-1').left_amount, of('amount-1').right_amount]).toEqual(['10', '10.01'])
    expect(of('dropped-1').flow_ids).toEqual(['flow-dropped-1'])
  })

  it('names the same findings on every run of the same window', async () => {
    const a = await breaksOf(storage, await runToEnd(storage, { rule, from, to, now }))
    const b = await breaksOf(storage, await runToEnd(storage, { rule, from, to, now }))
    const ids = (rows: typeof a) =>
      rows
        .filter((r) => r.finding_id)
        .map((r) => r.finding_id)
        .sort()
    expect(ids(a)).toHaveLength(8)
    expect(ids(b)).toEqual(ids(a))
  })
})

describe('summed sides', () => {
  const now = nanosAgo()
  const from = now - 2n * HOUR_NS
  const to = now
  let seq = 0n
  // Each a distinct event (its own moment): identical ones would be one event re-sent.
  const ev = (system: string, type: string, key: string, amount: string, status = 'OK') => ({
    system,
    type,
    key,
    amount,
    status,
    at: now - HOUR_NS + seq++,
  })

  it('one-to-many sums the right side: partial captures that add up match', async () => {
    const rule = ruleOf(
      { left: 'orders', right: 'captures', match: 'one-to-many', status: { OK: ['OK'] } },
      { orders: EVENTS('shop', 'order'), captures: EVENTS('psp', 'capture') },
    )
    await insertEvents(storage, [
      ev('shop', 'order', 'm-1', '100.00'),
      ev('psp', 'capture', 'm-1', '60.00'),
      ev('psp', 'capture', 'm-1', '40.00'),
      ev('shop', 'order', 'm-2', '100.00'),
      ev('psp', 'capture', 'm-2', '60.00'),
      ev('psp', 'capture', 'm-2', '39.99'),
      ev('shop', 'order', 'm-3', '100.00'),
      ev('psp', 'capture', 'm-3', '50.00'),
      ev('psp', 'capture', 'm-3', '50.00', 'VOID'),
      ev('shop', 'order', 'm-4', '5.00'),
      ev('shop', 'order', 'm-4', '5.00'),
      ev('psp', 'capture', 'm-4', '10.00'),
    ])
    const rows = await breaksOf(storage, await runToEnd(storage, { rule, from, to, now }))
    // m-4: two orders of one key on the side that is not summed
    expect(found(rows)).toEqual(['amount_mismatch m-2', 'duplicate m-4', 'status_mismatch m-3'])
    const m2 = rows.find((r) => r.key === 'm-2')!
    expect([m2.left_amount, m2.right_amount, m2.right_count]).toEqual(['100', '99.99', '2'])
  })

  it('many-to-one sums the left side', async () => {
    const rule = ruleOf(
      { left: 'lines', right: 'invoices', match: 'many-to-one' },
      { lines: EVENTS('shop', 'line'), invoices: EVENTS('erp', 'invoice') },
    )
    await insertEvents(storage, [
      ev('shop', 'line', 'i-1', '1.10'),
      ev('shop', 'line', 'i-1', '2.20'),
      ev('erp', 'invoice', 'i-1', '3.30'),
      ev('shop', 'line', 'i-2', '1.10'),
      ev('erp', 'invoice', 'i-2', '1.10'),
      ev('erp', 'invoice', 'i-2', '1.10'),
    ])
    const rows = await breaksOf(storage, await runToEnd(storage, { rule, from, to, now }))
    expect(found(rows)).toEqual(['duplicate i-2'])
  })

  it('sums ten thousand amounts of 99999999999999.99 exactly', async () => {
    const rule = ruleOf(
      { left: 'big-orders', right: 'big-captures', match: 'one-to-many' },
      { 'big-orders': EVENTS('big', 'order'), 'big-captures': EVENTS('big', 'capture') },
    )
    const n = 10_000
    await insertEvents(storage, [
      ev('big', 'order', 'b-1', '999999999999999900.01'),
      ...Array.from({ length: n }, () => ev('big', 'capture', 'b-1', '99999999999999.99')),
    ])
    const rows = await breaksOf(storage, await runToEnd(storage, { rule, from, to, now }))
    const b1 = rows.find((r) => r.key === 'b-1')!
    expect(b1.category).toBe('amount_mismatch')
    // A float could not tell these apart: one cent on 10^18.
    expect([b1.left_amount, b1.right_amount]).toEqual([
      '999999999999999900.01',
      '999999999999999900',
    ])
  })
})

describe('grace', () => {
  it('matches across the window edge within grace, and not beyond it', async () => {
    const now = nanosAgo()
    const to = now - HOUR_NS
    const from = to - HOUR_NS
    const rule = ruleOf(
      { left: 'g-orders', right: 'g-payments', grace: '10m' },
      { 'g-orders': EVENTS('g', 'order'), 'g-payments': EVENTS('g', 'payment') },
    )
    const e = (type: string, key: string, at: bigint) => ({ system: 'g', type, key, at })
    await insertEvents(storage, [
      e('order', 'edge-in', from + MINUTE_NS),
      e('payment', 'edge-in', from - 9n * MINUTE_NS),
      e('order', 'edge-out', from + MINUTE_NS),
      e('payment', 'edge-out', from - 11n * MINUTE_NS),
      e('order', 'after-in', to - MINUTE_NS),
      e('payment', 'after-in', to + 9n * MINUTE_NS),
      // young at now: the payment may still come
      e('payment', 'recent-orphan', now - 5n * MINUTE_NS),
      e('order', 'recent-order-of-window', to - MINUTE_NS),
    ])
    const rows = await breaksOf(storage, await runToEnd(storage, { rule, from, to, now }))
    // recent-orphan lies after the window: not this run's; the window's own are old at now
    expect(found(rows)).toEqual(['dropped edge-out', 'dropped recent-order-of-window'])
    const later = await breaksOf(
      storage,
      await runToEnd(storage, { rule, from: now - HOUR_NS, to: now, now }),
    )
    expect(found(later)).toEqual(['orphan (pending) recent-orphan'])
  })
})

describe('a side without amounts', () => {
  it('compares keys and statuses only when amount.compare is false', async () => {
    const now = nanosAgo()
    const sources = { 's-orders': EVENTS('s', 'order'), 's-stock': EVENTS('s', 'stock') }
    const at = now - HOUR_NS
    await insertEvents(storage, [
      { system: 's', type: 'order', key: 'k1', amount: '10.00', status: 'paid', at },
      { system: 's', type: 'stock', key: 'k1', amount: null, currency: '', status: 'reserved', at },
      { system: 's', type: 'order', key: 'k2', amount: '5.00', status: 'cancelled', at },
      { system: 's', type: 'stock', key: 'k2', amount: null, currency: '', status: 'reserved', at },
    ])
    const status = { paid: ['reserved'], cancelled: ['released'] }
    const window = { from: now - 2n * HOUR_NS, to: now, now }
    const compared = ruleOf({ left: 's-orders', right: 's-stock', status }, sources)
    expect(
      found(await breaksOf(storage, await runToEnd(storage, { rule: compared, ...window }))),
    ).toEqual(['amount_mismatch k1', 'amount_mismatch k2', 'status_mismatch k2'])
    const keysOnly = ruleOf(
      { left: 's-orders', right: 's-stock', status, amount: { compare: false } },
      sources,
    )
    expect(
      found(await breaksOf(storage, await runToEnd(storage, { rule: keysOnly, ...window }))),
    ).toEqual(['status_mismatch k2'])
  })
})

describe('staging tables', () => {
  it('leaves none behind a run, and drops those of runs that died, not of a run under way', async () => {
    const rule = ruleOf({ left: 'orders', right: 'payments' }, SOURCES)
    const now = nanosAgo()
    await runToEnd(storage, { rule, from: now - HOUR_NS, to: now, now })
    const stages = async () => {
      const rs = await storage.client.query({
        query: `SELECT name FROM system.tables WHERE database = {db:String}
          AND startsWith(name, 'reconcile_stage_') ORDER BY name`,
        query_params: { db: storage.database },
        format: 'JSONEachRow',
      })
      return (await rs.json<{ name: string }>()).map((r) => r.name)
    }
    expect(await stages()).toEqual([])

    // A process killed mid-comparison, and one comparing now.
    const dead = 'run_20261203-101010-101_000000000001'
    const alive = 'run_20261203-101010-101_000000000002'
    for (const id of [dead, alive])
      await storage.client.command({
        query: `CREATE TABLE ${storage.database}.${stageTable(id)} (x UInt8) ENGINE = Memory`,
      })
    await storage.client.insert({
      table: `${storage.database}.reconcile_runs`,
      format: 'JSONEachRow',
      values: [
        {
          id: alive,
          rule: 'test-rule',
          state: 'running',
          started_at: nanosText(nanosAgo()),
          version: '1',
        },
        {
          id: dead,
          rule: 'test-rule',
          state: 'running',
          started_at: nanosText(nanosAgo(2n * HOUR_NS)),
          version: '1',
        },
      ],
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    })
    expect(await dropLeftoverStages(storage, 30 * 60_000)).toEqual([stageTable(dead)])
    expect(await stages()).toEqual([stageTable(alive)])
  })
})
