// The semantics of a run pinned over a settlement file and a PostgreSQL table, with known
// breaks of every category: a file against the orders' events, and a database against a
// file of partial captures (one-to-many, composite keys, zero-decimal currencies, sums of
// 99999999999999.99 a float could not tell apart).
import { Readable } from 'node:stream'
import type { Storage } from '@reckon/collector/storage'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ReconcilerConfig, SourceConfig } from '../config.js'
import { nanosText } from '../nanos.js'
import { Reconciler } from '../reconciler.js'
import {
  dropStorage,
  HOUR_NS,
  insertEvents,
  MINUTE_NS,
  nanosAgo,
  testStorage,
} from '../testing/harness.js'
import { startPostgres, type TestPostgres } from '../testing/postgres.js'
import { breaksOf, EVENTS, found, ruleOf, runToEnd, type BreakRow } from '../testing/runs.js'
import { importCsv } from './csv-import.js'

let storage: Storage
let db: TestPostgres
beforeAll(async () => {
  ;[storage, db] = await Promise.all([testStorage(), startPostgres()])
})
afterAll(async () => {
  await Promise.all([db.stop(), dropStorage(storage)])
})

const importText = (source: string, config: SourceConfig, text: string) =>
  importCsv(storage, {
    source,
    config,
    stream: Readable.from([Buffer.from(text)]),
    fileName: `${source}.csv`,
    by: 'tester',
  })

const ids = (rows: BreakRow[]) =>
  rows
    .filter((r) => r.finding_id)
    .map((r) => r.finding_id)
    .sort()

/** A time as files write it: RFC 3339 in UTC, with an offset, or Unix milliseconds. */
const utc = (ns: bigint) => nanosText(ns)
const offset = (ns: bigint) =>
  new Date(Number(ns / 1_000_000n) + 2 * 3_600_000).toISOString().replace('Z', '+02:00')
const unixMs = (ns: bigint) => String(ns / 1_000_000n)

describe('a settlement file against the orders’ events (one-to-one)', () => {
  const now = nanosAgo()
  const from = now - 2n * HOUR_NS
  const to = now
  const hourAgo = now - HOUR_NS
  const SETTLEMENT: SourceConfig = {
    file: {
      format: 'csv',
      columns: { key: 'ref', amount: 'gross', currency: 'ccy', status: 'state', time: 'booked_at' },
    },
  }
  const rule = ruleOf(
    {
      left: 'orders',
      right: 'settlement',
      grace: '15m',
      status: { PAID: ['SETTLED'] },
      amount: { tolerance: '0.00', perCurrency: { JPY: '1' } },
    },
    { orders: EVENTS('order', 'order.paid'), settlement: SETTLEMENT },
  )
  const order = (key: string, at: bigint, amount = '10.00', currency = 'EUR') => ({
    system: 'order',
    type: 'order.paid',
    key,
    amount,
    currency,
    status: 'PAID',
    at,
  })
  const row = (key: string, time: string, gross = '10.00', state = 'SETTLED', ccy = 'EUR') =>
    `${key},${gross},${ccy},${state},${time}`
  const file = [
    'ref,gross,ccy,state,booked_at',
    row('ok-1', utc(hourAgo + MINUTE_NS)),
    row('big-1', offset(hourAgo), '99999999999999.99'),
    // orphan: settled, no order; and one too young to call
    row('orphan-1', unixMs(hourAgo), '3.00'),
    row('young-2', utc(now - 5n * MINUTE_NS), '4.00'),
    // settled late, within grace after the window
    row('late-1', utc(to + 5n * MINUTE_NS)),
    row('status-1', utc(hourAgo), '10.00', 'REFUNDED'),
    row('amount-1', utc(hourAgo), '10.01'),
    row('ccy-1', utc(hourAgo), '10.00', 'SETTLED', 'USD'),
    row('jpy-ok', utc(hourAgo), '1501', 'SETTLED', 'JPY'),
    row('jpy-off', utc(hourAgo), '1502', 'SETTLED', 'JPY'),
    // the same line twice: two settlements, not one re-sent
    row('dup-1', utc(hourAgo)),
    row('dup-1', utc(hourAgo)),
    row('bad-1', utc(hourAgo), '10,00'),
  ].join('\n')

  beforeAll(async () => {
    await insertEvents(storage, [
      order('ok-1', hourAgo),
      order('big-1', hourAgo, '99999999999999.99'),
      order('dropped-1', hourAgo, '25.50'),
      order('young-1', now - 5n * MINUTE_NS, '7.00'),
      order('late-1', to - MINUTE_NS),
      order('status-1', hourAgo),
      order('amount-1', hourAgo),
      order('ccy-1', hourAgo),
      order('jpy-ok', hourAgo, '1500', 'JPY'),
      order('jpy-off', hourAgo, '1500', 'JPY'),
      order('dup-1', hourAgo),
    ])
    const summary = await importText('settlement', SETTLEMENT, file)
    expect(summary).toMatchObject({ rows: 12, badRows: 1, problems: [{ line: 14 }] })
  })

  it('finds each break of the file once, pending ones apart, the rest matched', async () => {
    const rows = await breaksOf(storage, await runToEnd(storage, { rule, from, to, now }))
    expect(found(rows)).toEqual([
      'amount_mismatch amount-1',
      'amount_mismatch ccy-1',
      'amount_mismatch jpy-off',
      'dropped (pending) young-1',
      'dropped dropped-1',
      'duplicate dup-1',
      'orphan (pending) young-2',
      'orphan orphan-1',
      'status_mismatch status-1',
    ])
    const of = (key: string) => rows.find((r) => r.key === key)!
    expect([of('dup-1').right_count, of('orphan-1').right_amount]).toEqual(['2', '3'])
    expect([of('amount-1').left_amount, of('amount-1').right_amount]).toEqual(['10', '10.01'])
    const matched = rows.filter((r) => r.category === 'matched')
    const keys = Object.fromEntries(matched.map((r) => [r.left_currencies[0], Number(r.keys)]))
    expect(keys).toEqual({ EUR: 3, JPY: 1 })
    const eur = matched.find((r) => r.left_currencies[0] === 'EUR')!
    expect([eur.left_amount, eur.right_amount]).toEqual([
      '100000000000019.99',
      '100000000000019.99',
    ])
  })

  it('stores the file once when imported again, and names the same findings', async () => {
    const before = ids(await breaksOf(storage, await runToEnd(storage, { rule, from, to, now })))
    const again = await importText('settlement', SETTLEMENT, file)
    expect(again).toMatchObject({ alreadyImported: true, rows: 12 })
    const after = await breaksOf(storage, await runToEnd(storage, { rule, from, to, now }))
    expect(ids(after)).toHaveLength(9)
    expect(ids(after)).toEqual(before)
    expect(after.find((r) => r.key === 'dup-1')?.right_count).toBe('2')
  })
})

describe('a PostgreSQL table against a file of captures (one-to-many, composite keys)', () => {
  const at = nanosAgo(HOUR_NS)
  const CAPTURES: SourceConfig = {
    file: {
      format: 'csv',
      columns: {
        key: ['merchant', 'order_ref'],
        amount: 'amount',
        currency: 'currency',
        status: 'status',
        time: 'captured_at',
      },
    },
  }
  let config: ReconcilerConfig
  const BIG = 1000

  beforeAll(async () => {
    config = {
      reconcile: {
        sources: {
          'orders-db': {
            postgres: {
              url: db.url,
              query: 'SELECT merchant, ref, total, currency, status, updated_at FROM orders',
              columns: {
                key: ['merchant', 'ref'],
                amount: 'total',
                currency: 'currency',
                status: 'status',
                time: 'updated_at',
              },
            },
          },
          captures: CAPTURES,
        },
        rules: [
          {
            name: 'orders-captures',
            left: 'orders-db',
            right: 'captures',
            match: 'one-to-many',
            window: '2h',
            status: { PAID: ['CAPTURED'] },
            amount: { tolerance: '0.00' },
          },
        ],
      },
    }
    const time = new Date(Number(at / 1_000_000n)).toISOString()
    await db.sql(`CREATE TABLE orders (merchant text, ref text, total numeric(30, 2),
      currency text, status text, updated_at timestamptz)`)
    const orders: [string, string, string, string][] = [
      ['m1', 'o-1', '100.00', 'EUR'],
      ['m1', 'o-2', '100.00', 'EUR'],
      ['m1', 'o-3', '100.00', 'EUR'],
      // the same reference at another merchant is another order
      ['m2', 'o-1', '1500', 'JPY'],
      ['m2', 'o-4', '20.00', 'EUR'],
      // two rows of one order: the side that is not summed holds one per key
      ['m1', 'o-6', '5.00', 'EUR'],
      ['m1', 'o-6', '5.00', 'EUR'],
      ['big', 'b-1', '99999999999999990.00', 'EUR'],
      ['big', 'b-2', '99999999999999990.01', 'EUR'],
    ]
    for (const [merchant, ref, total, currency] of orders)
      await db.sql(`INSERT INTO orders VALUES ($1, $2, $3, $4, 'PAID', $5)`, [
        merchant,
        ref,
        total,
        currency,
        time,
      ])
    const capture = (
      merchant: string,
      ref: string,
      amount: string,
      status = 'CAPTURED',
      ccy = 'EUR',
    ) => `${merchant},${ref},${amount},${ccy},${status},${time}`
    const lines = [
      'merchant,order_ref,amount,currency,status,captured_at',
      capture('m1', 'o-1', '60.00'),
      capture('m1', 'o-1', '40.00'),
      capture('m1', 'o-2', '60.00'),
      capture('m1', 'o-2', '39.99'),
      capture('m1', 'o-3', '50.00'),
      capture('m1', 'o-3', '50.00', 'VOIDED'),
      capture('m2', 'o-1', '1500', 'CAPTURED', 'JPY'),
      capture('m3', 'o-5', '5.00'),
      capture('m1', 'o-6', '10.00'),
      ...Array.from({ length: BIG }, () => capture('big', 'b-1', '99999999999999.99')),
      ...Array.from({ length: BIG }, () => capture('big', 'b-2', '99999999999999.99')),
    ]
    const summary = await importText('captures', CAPTURES, lines.join('\n'))
    expect(summary).toMatchObject({ rows: 9 + 2 * BIG, badRows: 0 })
  })

  it('reads the table at the run and finds every break, summing captures exactly', async () => {
    const reconciler = new Reconciler({ storage, config })
    const { done } = await reconciler.run({ rule: 'orders-captures', by: 'tester' })
    const run = await done
    expect(run.error).toBe('')
    const rows = await breaksOf(storage, run)
    expect(found(rows)).toEqual([
      'amount_mismatch big|b-2',
      'amount_mismatch m1|o-2',
      'dropped m2|o-4',
      'duplicate m1|o-6',
      'orphan m3|o-5',
      'status_mismatch m1|o-3',
    ])
    const of = (key: string) => rows.find((r) => r.key === key)!
    expect(of('m1|o-2').key_parts).toEqual(['m1', 'o-2'])
    expect([of('m1|o-2').right_amount, of('m1|o-2').right_count]).toEqual(['99.99', '2'])
    // One cent on 10^17: a float sees these as equal.
    expect([of('big|b-2').left_amount, of('big|b-2').right_amount]).toEqual([
      '99999999999999990.01',
      '99999999999999990',
    ])
    const matched = rows.filter((r) => r.category === 'matched')
    const keys = Object.fromEntries(matched.map((r) => [r.left_currencies[0], Number(r.keys)]))
    // m1|o-1 and big|b-1 in EUR; m2|o-1 in JPY
    expect(keys).toEqual({ EUR: 2, JPY: 1 })
    expect(run.report?.left).toMatchObject({ source: 'orders-db', records: 9 })
    expect(run.report?.right).toMatchObject({ source: 'captures', records: 9 + 2 * BIG })

    const second = await (await reconciler.run({ rule: 'orders-captures', by: 'tester' })).done
    expect(ids(await breaksOf(storage, second))).toEqual(ids(rows))
    await reconciler.stop()
  })

  it('fails the run naming the source when PostgreSQL cannot be read', async () => {
    const broken: ReconcilerConfig = structuredClone(config)
    const source = broken.reconcile.sources['orders-db']!
    if ('postgres' in source) source.postgres.query = 'SELECT * FROM no_such_table'
    const reconciler = new Reconciler({ storage, config: broken })
    const run = await (await reconciler.run({ rule: 'orders-captures', by: 'tester' })).done
    expect(run.state).toBe('failed')
    expect(run.error).toMatch(
      /^orders-db \(PostgreSQL postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres\): relation "no_such_table" does not exist$/,
    )
    expect(run.error).not.toContain(db.password)
  })
})
