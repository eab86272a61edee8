// npm run bench:reconcile — N orders against N payments with injected breaks of every kind,
// reconciled by a Reckon run (the engine's join and grouping, findings recorded, the report
// written) and, for the same rows, by PostgreSQL running the same comparison as one query.
// BENCH_SIZES (default 1000000,10000000). Prints per size Reckon's time, PostgreSQL's and
// their ratio; ends `reconcile: 10M x 10M in X s, postgres Y s, ratio R`.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULTS } from '@reckon/collector/config'
import { COLLECTOR, migrate, openStorage } from '@reckon/collector/storage'
import type { Category } from '../src/config.js'
import { Reconciler } from '../src/reconciler.js'
import { RECONCILER } from '../src/schema.js'
import { startPostgres } from '../src/testing/postgres.js'
import { BREAKS, chGenerator, pgComparison, pgGenerator } from './reconcile-data.js'

const SIZES = (process.env.BENCH_SIZES ?? '1000000,10000000').split(',').map(Number)
const HOUR_NS = 3_600_000_000_000n

const dataDir = mkdtempSync(join(tmpdir(), 'reckon-bench-reconcile-'))
process.once('exit', () => rmSync(dataDir, { recursive: true, force: true }))
const storage = openStorage({
  ...DEFAULTS,
  dataDir,
  clickhouse: {
    ...DEFAULTS.clickhouse,
    url: process.env.CLICKHOUSE_URL,
    database: 'bench_reconcile',
  },
})
const pg = await startPostgres()
// Room for PostgreSQL's hash joins and aggregates in memory, both cores on one query: the
// comparison should be its best, not its defaults'.
for (const setting of [
  "ALTER SYSTEM SET work_mem = '1GB'",
  'ALTER SYSTEM SET hash_mem_multiplier = 4',
  'ALTER SYSTEM SET max_parallel_workers_per_gather = 2',
  'ALTER SYSTEM SET jit = off',
  'SELECT pg_reload_conf()',
])
  await pg.sql(setting)

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9
const fmt = (s: number) => s.toFixed(2)
const short = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n))

let last = ''
try {
  for (const n of SIZES) {
    await storage.client.command({ query: `DROP DATABASE IF EXISTS ${storage.database}` })
    await migrate(storage, [COLLECTOR, RECONCILER])
    const now = BigInt(Date.now()) * 1_000_000n
    const from = now - 24n * HOUR_NS
    let t0 = process.hrtime.bigint()
    for (const query of chGenerator(storage.database, n, now))
      await storage.client.command({ query, clickhouse_settings: { max_insert_threads: '2' } })
    const genCh = seconds(t0)
    t0 = process.hrtime.bigint()
    await pg.sql(pgGenerator(n, now))
    const genPg = seconds(t0)

    const reconciler = new Reconciler({
      storage,
      config: {
        reconcile: {
          sources: {
            orders: { events: { system: 'order', type: 'order.paid' } },
            payments: { events: { system: 'payment', type: 'payment.captured' } },
          },
          rules: [
            {
              name: 'order-payment',
              left: 'orders',
              right: 'payments',
              window: '24h',
              grace: '15m',
              status: { PAID: ['CAPTURED'] },
            },
          ],
        },
      },
    })
    t0 = process.hrtime.bigint()
    const { done } = await reconciler.run({ rule: 'order-payment', from, to: now, by: 'bench' })
    const run = await done
    const reckonS = seconds(t0)
    if (run.state !== 'done' || !run.report) throw new Error(`run failed: ${run.error}`)
    const found = Object.fromEntries(
      Object.entries(run.report.breaks).map(([c, t]) => [c, t.findings]),
    ) as Record<Category, number>

    t0 = process.hrtime.bigint()
    const pgRows = (await pg.sql(pgComparison(from, now))).rows as { category: string; n: string }[]
    const pgS = seconds(t0)
    const pgFound = Object.fromEntries(pgRows.map((r) => [r.category, Number(r.n)]))
    const expected = BREAKS(n)
    for (const c of Object.keys(expected) as Category[]) {
      if (found[c] !== expected[c] || pgFound[c] !== expected[c])
        throw new Error(
          `${c}: expected ${expected[c]}, Reckon found ${found[c]}, PostgreSQL ${pgFound[c]}`,
        )
    }
    const ratio = pgS / reckonS
    console.log(
      `${short(n)} orders x ${short(n)} payments: generated in ${fmt(genCh)} s (ClickHouse), ${fmt(genPg)} s (PostgreSQL); ` +
        `findings ${JSON.stringify(found)}, matched ${run.report.matched.keys} keys; ` +
        `Reckon run ${fmt(reckonS)} s, PostgreSQL query ${fmt(pgS)} s, ratio ${ratio.toFixed(1)}`,
    )
    last = `reconcile: ${short(n)} x ${short(n)} in ${fmt(reckonS)} s, postgres ${fmt(pgS)} s, ratio ${ratio.toFixed(1)}`
    await pg.sql('DROP TABLE IF EXISTS orders, payments')
  }
  console.log(last)
} finally {
  await storage.close()
  await pg.stop()
}
