// npm run bench:query — trace-by-ID and search latency over a large span table (10M spans by
// default, BENCH_SPANS to change), loaded with SQL so loading does not dominate the run.
import { createHash } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getTrace, searchTraces } from '../src/api/queries/traces.js'
import { DEFAULTS, type Config } from '../src/config/index.js'
import { openStorage } from '../src/storage/client.js'
import { migrate } from '../src/storage/migrate.js'

const SPANS = Number(process.env.BENCH_SPANS ?? 10_000_000)
const CHUNK = 2_000_000
const SAMPLES = 200
const config: Config = {
  ...DEFAULTS,
  // BENCH_DATA_DIR keeps the loaded spans between runs (loading 10M takes minutes).
  dataDir: process.env.BENCH_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'reckon-bench-query-')),
  clickhouse: { ...DEFAULTS.clickhouse, url: process.env.CLICKHOUSE_URL, database: 'bench_query' },
}
const storage = openStorage(config)
await migrate(storage)
const db = storage.database
const nowNs = BigInt(Date.now()) * 1_000_000n
// Spread over the last 24 hours: 10 spans per trace, 5 services, 7 operations, 1 in 20 failed.
const stepNs = (86_400_000_000_000n / BigInt(SPANS)).toString()

const t0 = performance.now()
const [{ n } = { n: 0 }] = await storage.client
  .query({ query: `SELECT count() AS n FROM ${db}.spans`, format: 'JSONEachRow' })
  .then((r) => r.json<{ n: number | string }>())
const already = Number(n)
if (already !== 0 && already !== SPANS) {
  // A store from a run of another size: start again.
  for (const t of ['spans', 'trace_summaries', 'spans_by_trace']) {
    await storage.client.command({ query: `TRUNCATE TABLE ${db}.${t}` })
  }
}
for (let offset = already === SPANS ? SPANS : 0; offset < SPANS; offset += CHUNK) {
  await storage.client.command({
    query: `INSERT INTO ${db}.spans (timestamp, trace_id, span_id, parent_span_id, service_name, span_name, span_kind,
        duration_ns, status_code, flow_id, resource_attributes, span_attributes, span_attribute_types)
      SELECT
        fromUnixTimestamp64Nano(toInt64({now:Int64}) - toInt64(intDiv(n, 10) * 10) * {step:Int64} + toInt64(n % 10) * 1000, 'UTC'),
        lower(hex(MD5(toString(intDiv(n, 10))))),
        lower(hex(substring(MD5(toString(n)), 1, 8))),
        if(n % 10 = 0, '', lower(hex(substring(MD5(toString(n - 1)), 1, 8)))),
        ['order', 'payment', 'inventory', 'shipping', 'gateway'][n % 5 + 1],
        ['GET /orders/:id', 'POST /orders', 'POST /charge', 'POST /reserve', 'GET /stock', 'SELECT orders', 'INSERT payments'][n % 7 + 1],
        if(n % 10 = 0, 'Server', 'Client'),
        1000000 + (n * 7919) % 50000000,
        if(n % 20 = 7, 'Error', 'Unset'),
        toString(1000000000 + intDiv(n, 10)),
        map('service.version', '1.8.0', 'host.name', 'bench-host-1'),
        map('http.route', '/orders/:id', 'http.response.status_code', if(n % 20 = 7, '503', '200'), 'url.full', concat('https://shop.example/orders/', toString(n))),
        map('http.response.status_code', 'int')
      FROM (SELECT number + {offset:UInt64} AS n FROM numbers({count:UInt64}))`,
    query_params: {
      now: nowNs.toString(),
      step: stepNs,
      offset,
      count: Math.min(CHUNK, SPANS - offset),
    },
  })
}
const loadSeconds = (performance.now() - t0) / 1000
console.log(`loaded ${SPANS} spans in ${loadSeconds.toFixed(1)} s`)

// Measure a settled store, not one busy merging what was just loaded: wait
// until the background merges are done (at most 15 min), as they would be long before
// anyone looks.
const settle = performance.now()
for (;;) {
  const [m] = await storage.client
    .query({
      query: `SELECT count() AS n FROM system.merges WHERE database = {db:String}`,
      query_params: { db },
      format: 'JSONEachRow',
    })
    .then((r) => r.json<{ n: string }>())
  if (Number(m?.n) === 0 || performance.now() - settle > 900_000) break
  await new Promise((r) => setTimeout(r, 1000))
}
console.log(`merges settled after ${((performance.now() - settle) / 1000).toFixed(1)} s`)

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!
}
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now()
  await fn()
  return performance.now() - t
}

// Baseline: the engine's own round trip for a trivial query, same process, same moment.
const baseline: number[] = []
for (let i = 0; i < SAMPLES; i++)
  baseline.push(
    await timed(() =>
      storage.client.query({ query: 'SELECT 1', format: 'JSONEachRow' }).then((r) => r.json()),
    ),
  )

const traces = SPANS / 10
const byId: number[] = []
for (let i = 0; i < SAMPLES; i++) {
  const k = Math.floor(Math.random() * traces)
  const id = createHash('md5').update(String(k)).digest('hex')
  byId.push(
    await timed(async () => {
      const t = await getTrace(storage, id, 10_000, 30)
      if (!t || t.spans.length !== 10)
        throw new Error(`trace ${id} came back with ${t?.spans.length ?? 0} spans`)
    }),
  )
}

const services = ['order', 'payment', 'inventory', 'shipping', 'gateway']
const search: number[] = []
for (let i = 0; i < SAMPLES / 4; i++) {
  const to = nowNs - BigInt(i) * 60_000_000_000n
  search.push(
    await timed(() =>
      searchTraces(
        storage,
        {
          service: services[i % 5],
          operation: 'POST /charge',
          minDurationMs: 20,
          attributes: [],
          window: { from: (to - 3_600_000_000_000n).toString(), to: to.toString() },
          limit: 20,
        },
        30,
      ),
    ),
  )
}
await storage.close()

const f = (n: number): string => n.toFixed(1)
console.log(`baseline (SELECT 1 round trip): p50 ${f(pct(baseline, 50))} ms`)
console.log(
  `trace-by-id vs baseline: p50 ${(pct(byId, 50) / pct(baseline, 50)).toFixed(1)}x; search vs baseline: p50 ${(pct(search, 50) / pct(baseline, 50)).toFixed(1)}x`,
)
console.log(
  `trace-by-id: p50 ${f(pct(byId, 50))} ms, p99 ${f(pct(byId, 99))} ms; search: p50 ${f(pct(search, 50))} ms`,
)
