// A reconciler in a process of its own, for the test that kills one mid-call: chDB binds its
// data directory to one process, so this process owns it and reports what it sees as JSON
// lines on stdout. Plain JavaScript over the built package (dist), so no TypeScript loader
// is needed to spawn it.
//   first:  migrate, write orders never paid, run the rule, compensate (the test kills it)
//   second: compensate until no finding is left to do, let the payments arrive, run again
import { env, exit, stdout, stderr } from 'node:process'
import { setTimeout as sleep } from 'node:timers/promises'
import { DEFAULTS } from '@reckon/collector/config'
import { COLLECTOR, migrate, openStorage } from '@reckon/collector/storage'
import { getFinding } from '../../dist/src/finding-reads.js'
import { nanosText } from '../../dist/src/nanos.js'
import { Reconciler } from '../../dist/src/reconciler.js'
import { RECONCILER } from '../../dist/src/schema.js'

const say = (event) => stdout.write(`${JSON.stringify(event)}\n`)
const keys = env.KEYS.split(',')
const storage = openStorage({
  dataDir: env.DATA_DIR,
  retentionDays: DEFAULTS.retentionDays,
  clickhouse: { ...DEFAULTS.clickhouse, url: env.CLICKHOUSE_URL, database: env.DATABASE },
})
const config = {
  reconcile: {
    sources: {
      orders: { events: { system: 'order', type: 'order.created' } },
      payments: { events: { system: 'payment', type: 'payment.captured' } },
    },
    rules: [
      {
        name: 'order-payment',
        left: 'orders',
        right: 'payments',
        window: '2h',
        compensate: {
          dropped: {
            maxAttempts: 3,
            backoff: { initial: '100ms', max: '200ms' },
            action: {
              method: 'POST',
              url: `${env.ENDPOINT}/orders/{{key}}/mark-paid`,
              body: { order: '{{key}}', amount: '{{left.amount}}' },
            },
          },
        },
      },
    ],
  },
}
const reconciler = new Reconciler({
  storage,
  config,
  compensation: { timeoutMs: Number(env.TIMEOUT_MS), leaseMs: Number(env.LEASE_MS) },
  log: (message, err) => stderr.write(`${message} ${err?.stack ?? ''}\n`),
})

async function insert(system, type) {
  const at = nanosText(BigInt(env.AT))
  await storage.client.insert({
    table: `${storage.database}.business_events`,
    format: 'JSONEachRow',
    values: keys.map((key) => ({
      timestamp: at,
      observed_timestamp: at,
      event_name: type,
      system,
      entity: 'order',
      entity_key: key,
      amount: '30',
      amount_text: '30',
      currency: 'EUR',
      service_name: system,
    })),
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  })
}

async function run() {
  const { done } = await reconciler.run({ rule: 'order-payment', by: 'test' })
  const r = await done
  if (r.state !== 'done') throw new Error(r.error)
  const rs = await storage.client.query({
    query: `SELECT key, finding_id FROM ${storage.database}.reconcile_breaks WHERE run_id = {run:String}`,
    query_params: { run: r.id },
    format: 'JSONEachRow',
  })
  return Object.fromEntries((await rs.json()).map((b) => [b.key, b.finding_id]))
}

async function findings(ids) {
  return Promise.all(Object.values(ids).map((id) => getFinding(storage, id)))
}

if (env.MODE === 'first') {
  await migrate(storage, [COLLECTOR, RECONCILER])
  await insert('order', 'order.created')
  say({ event: 'found', ids: await run() })
  // The test kills this process while the endpoint holds the calls unanswered.
  await reconciler.compensateOnce()
  say({ event: 'unexpectedly finished' })
} else {
  const rs = await storage.client.query({
    query: `SELECT DISTINCT key, finding_id FROM ${storage.database}.reconcile_findings`,
    format: 'JSONEachRow',
  })
  const ids = Object.fromEntries((await rs.json()).map((b) => [b.key, b.finding_id]))
  say({ event: 'restarted', findings: await findings(ids) })
  const end = Date.now() + 30_000
  for (;;) {
    const tick = await reconciler.compensateOnce()
    const now = await findings(ids)
    if (now.every((f) => !['open', 'compensating'].includes(f.state))) break
    if (Date.now() > end) throw new Error('still compensating after 30 s')
    await sleep(tick.busy.length > 0 ? 250 : 50)
  }
  say({ event: 'compensated', findings: await findings(ids) })
  // What the compensation did shows up on the other side; the next run sees no break.
  await insert('payment', 'payment.captured')
  await run()
  say({ event: 'checked', findings: await findings(ids) })
}
await storage.close()
exit(0)
