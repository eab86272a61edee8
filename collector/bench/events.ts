// npm run bench:events — what reading each business event once costs: a listing with its
// copies dropped after a top-N read (what the API does), with `LIMIT 1 BY` in the query, and
// from a ReplacingMergeTree copy read with FINAL, against the same listing with no dedupe.
// BENCH_EVENTS events (default 2M) over the last day, 1 in 100 stored twice.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULTS } from '../src/config/index.js'
import { openStorage } from '../src/storage/client.js'
import { migrate } from '../src/storage/migrate.js'

const N = Number(process.env.BENCH_EVENTS ?? 2_000_000)
const RUNS = 15
const dataDir = mkdtempSync(join(tmpdir(), 'reckon-bench-events-'))
process.once('exit', () => rmSync(dataDir, { recursive: true, force: true }))
const storage = openStorage({
  ...DEFAULTS,
  dataDir,
  clickhouse: { ...DEFAULTS.clickhouse, url: process.env.CLICKHOUSE_URL, database: 'bench_events' },
})
await migrate(storage)
const db = storage.database
const command = (query: string) => storage.client.command({ query })

const nowNs = BigInt(Date.now()) * 1_000_000n
const stepNs = 86_400_000_000_000n / BigInt(N)
const generated = `SELECT
  fromUnixTimestamp64Nano(toInt64(${nowNs} - number * ${stepNs}), 'UTC') AS timestamp,
  timestamp AS observed_timestamp,
  ['order.created', 'order.paid', 'payment.captured', 'order.shipped'][number % 4 + 1] AS event_name,
  concat('flow-', toString(intDiv(number, 4))) AS flow_id,
  ['shop', 'payment', 'shipping'][number % 3 + 1] AS system,
  ['order', 'payment'][number % 2 + 1] AS entity,
  concat('K-', toString(intDiv(number, 4))) AS entity_key,
  toDecimal128(number % 1000, 9) AS amount, 'EUR' AS currency, system AS service_name,
  map('n', toString(number)) AS attributes, toString(number) AS event_id`
const columns = `timestamp, observed_timestamp, event_name, flow_id, system, entity, entity_key,
  amount, currency, service_name, attributes, event_id`
await command(`CREATE TABLE IF NOT EXISTS ${db}.events_replacing AS ${db}.business_events
  ENGINE = ReplacingMergeTree PARTITION BY toDate(timestamp)
  ORDER BY (entity, system, event_name, event_id)`)
for (const table of ['business_events', 'events_replacing']) {
  await command(`TRUNCATE TABLE ${db}.${table}`)
  await command(`INSERT INTO ${db}.${table} (${columns}) ${generated} FROM numbers(${N})`)
  await command(
    `INSERT INTO ${db}.${table} (${columns}) ${generated} FROM numbers(${N}) WHERE number % 100 = 0`,
  )
}

async function p50(sql: string): Promise<string> {
  const ms: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now()
    await (await storage.client.query({ query: sql, format: 'JSONEachRow' })).json()
    ms.push(performance.now() - t0)
  }
  ms.sort((a, b) => a - b)
  return `${ms[Math.floor(RUNS / 2)]!.toFixed(1)} ms`.padStart(9)
}

const columnsRead =
  'event_id, timestamp, event_name, system, entity, entity_key, amount, attributes'
const order = 'ORDER BY timestamp, observed_timestamp'
const cases: Record<string, string> = {
  'by key': `entity = 'order' AND entity_key = 'K-12345'`,
  'by flow': `flow_id = 'flow-23456'`,
  'last hour': `timestamp >= now64(9) - INTERVAL 1 HOUR`,
  'last day, one entity': `entity = 'payment'`,
}
console.log(`${N} events over a day, 1% sent twice; p50 of ${RUNS} reads of up to 1000 events`)
console.log('listing               no dedupe  top-N+drop  LIMIT 1 BY  Replacing FINAL')
for (const [name, where] of Object.entries(cases)) {
  const from = (table: string) => `SELECT ${columnsRead} FROM ${db}.${table} WHERE ${where}`
  const figures = [
    await p50(`${from('business_events')} ${order} LIMIT 1000`),
    await p50(`${from('business_events')} ${order} LIMIT 2001`),
    await p50(`${from('business_events')} ${order} LIMIT 1 BY system, event_id LIMIT 1000`),
    await p50(`${from('events_replacing FINAL')} ${order} LIMIT 1000`),
  ]
  console.log(`${name.padEnd(22)}${figures.join('   ')}`)
}
await storage.close()
