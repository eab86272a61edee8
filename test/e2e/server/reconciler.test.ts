// `reckon reconciler` as a process of its own against a ClickHouse server: it migrates its
// tables, runs its rules on schedule over the events another process stored, and records
// what it found where the query API and finance read it.
import { afterEach, describe, expect, it } from 'vitest'
import { exited, running } from '../cli.js'
import { spawnReckon } from '@reckon/shop/reckon-process'
import { onServer as onServerAt, until, workDir } from './helpers.js'

afterEach(async () => {
  for (const child of running.splice(0)) {
    child.kill('SIGTERM')
    await exited(child)
  }
})

const server = (): string => {
  const url = process.env.CLICKHOUSE_URL
  if (!url) throw new Error('CLICKHOUSE_URL is not set: run through vitest.server.config.ts')
  return url
}

const RULES = `reconcile:
  sources:
    orders: { events: { system: order, type: order.paid } }
    payments: { events: { system: payment, type: payment.captured } }
  rules:
    - name: order-payment
      left: orders
      right: payments
      grace: 1s
      schedule: "*/2 * * * * *"
`

describe('reckon reconciler against a ClickHouse server', () => {
  it('runs its rules on schedule and records the breaks it finds', async () => {
    const { dir, database } = workDir(RULES)
    const child = spawnReckon(['reconciler'], {
      cwd: dir,
      env: { ...process.env, CLICKHOUSE_URL: server() },
    })
    running.push(child)
    let out = ''
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
    await until('it says it is running', async () => out.includes('Ctrl-C stops it'))
    expect(out).toContain(`Reckon reconciler is running (ClickHouse server ${server()})`)
    expect(out).toMatch(/order-payment\s+orders ↔ payments, schedule "\*\/2 \* \* \* \* \*"/)

    // Stored as the collector stores events: one paid order without its payment.
    const at = new Date(Date.now() - 60_000).toISOString().replace('T', ' ').replace('Z', '')
    await onServer(
      `INSERT INTO ${database}.business_events (timestamp, observed_timestamp, event_name, system, entity, entity_key, status, amount, amount_text, currency, service_name, event_id)
       VALUES ('${at}', '${at}', 'order.paid', 'order', 'order', 'O-1', 'paid', 19.99, '19.99', 'EUR', 'order', 'e-1')`,
    )
    await until(
      'a scheduled run finds the dropped order',
      async () =>
        (await onServer(
          `SELECT count() FROM ${database}.reconcile_breaks WHERE category = 'dropped' AND key = 'O-1' AND pending = 0`,
        )) !== '0',
      30_000,
    )
    // Its breaks are written before the run is marked done.
    const run = (): Promise<string> =>
      onServer(
        `SELECT state, trigger, started_by FROM ${database}.reconcile_runs FINAL
         WHERE rule = 'order-payment' AND id IN (SELECT run_id FROM ${database}.reconcile_breaks WHERE key = 'O-1')
         ORDER BY started_at LIMIT 1 FORMAT TSV`,
      )
    await until('that run is done', async () => !(await run()).startsWith('running'))
    expect(await run()).toBe('done\tschedule\tschedule')
    const state = await onServer(
      `SELECT argMax(state, at) FROM ${database}.reconcile_findings WHERE key = 'O-1' AND category = 'dropped'`,
    )
    expect(state).toBe('open')

    child.kill('SIGTERM')
    expect(await exited(child)).toBe(0)
  })
})

const onServer = (sql: string): Promise<string> => onServerAt(server(), sql)
