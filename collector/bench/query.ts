// npm run bench:query — trace-by-ID and search latency over a large span table (10M spans by
// default, BENCH_SPANS to change), loaded straight into storage (no HTTP) by the collector's
// own conversion.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getTrace, searchTraces } from '../src/api/queries/traces.js'
import { DEFAULTS, type Config } from '../src/config/index.js'
import { openStorage } from '../src/storage/client.js'
import { migrate } from '../src/storage/migrate.js'
import { convertRequest, insertConverted, spanBatch } from './spans.js'

const SPANS = Number(process.env.BENCH_SPANS ?? 10_000_000)
const PER_REQUEST = 1000
const BATCH_REQUESTS = 100
const SAMPLES = 200
const config: Config = {
  ...DEFAULTS,
  // BENCH_DATA_DIR keeps the loaded spans between runs (loading 10M takes minutes).
  dataDir: process.env.BENCH_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'reckon-bench-query-')),
  clickhouse: { ...DEFAULTS.clickhouse, url: process.env.CLICKHOUSE_URL, database: 'bench_query' },
}
// Without BENCH_DATA_DIR the 10M spans (~1.5 GB) go when the run ends.
if (!process.env.BENCH_DATA_DIR) {
  process.once('exit', () => rmSync(config.dataDir, { recursive: true, force: true }))
}
const storage = openStorage(config)
await migrate(storage)
const db = storage.database
const nowNs = BigInt(Date.now()) * 1_000_000n
// Export requests of 1000 spans (traces of 10 across 5 services, 7 operations, 1 in 20
// failed; see spans.ts) spread over the last 24 hours, stored by the collector's own
// conversion into the same tables ingest writes.
const requests = SPANS / PER_REQUEST
const stepNs = 86_400_000_000_000n / BigInt(requests)

const t0 = performance.now()
const count = async (table: string): Promise<number> => {
  const [row] = await storage.client
    .query({ query: `SELECT count() AS n FROM ${db}.${table}`, format: 'JSONEachRow' })
    .then((r) => r.json<{ n: number | string }>())
  return Number(row?.n)
}
const already = await count('spans')
if (already !== SPANS || (await count('trace_spans')) !== SPANS) {
  // A store from a run of another size or an older layout: start again.
  for (const t of ['spans', 'trace_summaries', 'trace_spans']) {
    await storage.client.command({ query: `TRUNCATE TABLE ${db}.${t}` })
  }
  for (let r = 0; r < requests; r += BATCH_REQUESTS) {
    const batch = Array.from({ length: Math.min(BATCH_REQUESTS, requests - r) }, (_, i) =>
      convertRequest(spanBatch(PER_REQUEST, nowNs - BigInt(r + i) * stepNs)),
    )
    await insertConverted(storage, batch)
  }
  // Settled means written too: the load leaves up to a gigabyte of dirty pages, whose
  // writeback would compete with the reads measured below.
  execFileSync('sync')
}
const loadSeconds = (performance.now() - t0) / 1000
console.log(`loaded ${SPANS} spans in ${loadSeconds.toFixed(1)} s`)

// Measure a settled store, not one busy merging what was just loaded: wait until no merge
// has run for 10 s in a row (at most 15 min), as would be the case long before anyone
// looks. One idle moment is not enough: the next merge is often scheduled right after.
const settle = performance.now()
let idleSince: number | undefined
for (;;) {
  const [m] = await storage.client
    .query({
      query: `SELECT count() AS n FROM system.merges WHERE database = {db:String}`,
      query_params: { db },
      format: 'JSONEachRow',
    })
    .then((r) => r.json<{ n: string }>())
  const now = performance.now()
  idleSince = Number(m?.n) === 0 ? (idleSince ?? now) : undefined
  if ((idleSince !== undefined && now - idleSince >= 10_000) || now - settle > 900_000) break
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

const ids = await storage.client
  .query({
    query: `SELECT trace_id FROM ${db}.trace_summaries ORDER BY rand() LIMIT {n:UInt32}`,
    query_params: { n: SAMPLES },
    format: 'JSONEachRow',
  })
  .then((r) => r.json<{ trace_id: string }>())
const byId: number[] = []
for (const { trace_id: id } of ids) {
  byId.push(
    await timed(async () => {
      const t = await getTrace(storage, id, 10_000, 30)
      if (!t || t.spanCount !== 10)
        throw new Error(`trace ${id} came back with ${t?.spanCount ?? 0} spans`)
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
