// npm run bench:stall — can a few expensive searches stall the query API and its health
// checks? Loads spans (BENCH_SPANS, default 500k, over the last hour), then runs HEAVY
// searches at once while /readyz and /healthz are asked one after another, then a burst of
// BURST searches at once to see how many are shed, and last health and queries under ingest.
import { mkdtempSync, rmSync } from 'node:fs'
import { Agent } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULTS, type Config } from '../src/config/index.js'
import { startReckon } from '../src/server.js'
import { get as getUrl, ms, pct, postExport, statuses } from './http.js'
import { convertRequest, insertConverted, spanBatch } from './spans.js'

const SPANS = Number(process.env.BENCH_SPANS ?? 500_000)
const HEAVY = Number(process.env.BENCH_HEAVY ?? 4)
const BURST = Number(process.env.BENCH_BURST ?? 32)
// attr. filters in each heavy search: the request of issue 16, which took seconds to plan.
const ATTRS = Number(process.env.BENCH_ATTRS ?? 1000)

const config: Config = {
  ...DEFAULTS,
  otlpPort: 0,
  apiPort: 0,
  dataDir: mkdtempSync(join(tmpdir(), 'reckon-bench-stall-')),
  clickhouse: { ...DEFAULTS.clickhouse, url: process.env.CLICKHOUSE_URL, database: 'bench_stall' },
  // So the searches of the issue (1000 filters) run instead of being refused.
  query: {
    ...DEFAULTS.query,
    maxAttributeFilters: Math.max(ATTRS, DEFAULTS.query.maxAttributeFilters),
  },
}
process.once('exit', () => rmSync(config.dataDir, { recursive: true, force: true }))
const reckon = await startReckon(config)
const { storage } = reckon.context
const nowNs = BigInt(Date.now()) * 1_000_000n
const PER_REQUEST = 1000
const requests = Math.ceil(SPANS / PER_REQUEST)
const stepNs = 3_600_000_000_000n / BigInt(requests)
for (let r = 0; r < requests; r += 50) {
  const batch = Array.from({ length: Math.min(50, requests - r) }, (_, i) =>
    convertRequest(spanBatch(PER_REQUEST, nowNs - BigInt(r + i + 1) * stepNs)),
  )
  await insertConverted(storage, batch)
}
console.log(`loaded ${requests * PER_REQUEST} spans over the last hour`)

const agent = new Agent({ keepAlive: true, maxSockets: 256 })
const api = new URL(reckon.apiUrl)
const get = async (path: string): Promise<{ status: number; ms: number; body: string }> => {
  const a = await getUrl(new URL(path, api), agent)
  return { status: a.status, ms: a.ms, body: a.body.toString() }
}

const heavyPath =
  process.env.BENCH_PATH ??
  `/api/traces?from=now-2h&${Array.from({ length: ATTRS }, (_, i) => `attr.k${i}=v`).join('&')}`
for (const route of ['/readyz', '/healthz']) {
  const idle: number[] = []
  for (let i = 0; i < 20; i++) idle.push((await get(route)).ms)
  console.log(`${route} idle: p50 ${ms(pct(idle, 50))}, max ${ms(Math.max(...idle))}`)
}
const alone = await get(heavyPath)
console.log(`${heavyPath.slice(0, 60)}… alone: ${alone.status} in ${ms(alone.ms)}`)

// HEAVY searches at once; /readyz and /healthz asked in turn until every search is answered.
let searching = true
const t0 = performance.now()
const searches = Promise.all(
  Array.from({ length: HEAVY }, () =>
    get(heavyPath).then((r) => ({ ...r, at: performance.now() - t0 })),
  ),
).finally(() => (searching = false))
const probes: Record<string, number[]> = { '/readyz': [], '/healthz': [] }
let firstReady: number | undefined
while (searching) {
  for (const route of ['/readyz', '/healthz'] as const) {
    const r = await get(route)
    probes[route]!.push(r.ms)
    if (route === '/readyz' && r.status === 200) firstReady ??= performance.now() - t0
  }
}
const done = await searches
console.log(
  `${HEAVY} searches at once: ${statuses(done)}, answered after ${done.map((d) => (d.at / 1000).toFixed(1)).join(', ')} s`,
)
for (const [route, xs] of Object.entries(probes)) {
  console.log(
    `${route} meanwhile: ${xs.length} answers, p50 ${ms(pct(xs, 50))}, p99 ${ms(pct(xs, 99))}, max ${ms(Math.max(...xs))}`,
  )
}
console.log(
  `first 200 from /readyz ${firstReady === undefined ? 'never' : `after ${ms(firstReady)}`}, the first search answered after ${ms(Math.min(...done.map((d) => d.at)))}`,
)

const burst = await Promise.all(Array.from({ length: BURST }, () => get(heavyPath)))
const shed = burst.find((b) => b.status === 503)
console.log(`burst of ${BURST} searches: ${statuses(burst)}${shed ? ` (${shed.body})` : ''}`)

// INGEST_SECONDS of 32 connections sending 1000-span exports as fast as they are answered,
// while /readyz, /api/services and a trace by ID are asked one after another.
const INGEST_SECONDS = Number(process.env.BENCH_INGEST_SECONDS ?? 20)
const exports = Array.from({ length: 64 }, (_, i) =>
  Buffer.from(spanBatch(PER_REQUEST, nowNs - BigInt(i) * 1_000_000_000n)),
)
const otlp = `${reckon.otlpUrl}/v1/traces`
const post = async (body: Buffer): Promise<number> => (await postExport(otlp, body, agent)).status
const { traces } = JSON.parse((await get('/api/traces?limit=1')).body) as {
  traces: { traceId: string }[]
}
const traceId = traces[0]?.traceId ?? '0'.repeat(32)
const until = performance.now() + INGEST_SECONDS * 1000
const sent: number[] = []
const senders = Array.from({ length: 32 }, async (_, c) => {
  for (let i = c; performance.now() < until; i += 32) sent.push(await post(exports[i % 64]!))
})
const during: Record<string, number[]> = { '/readyz': [], '/api/services': [], trace: [] }
while (performance.now() < until) {
  during['/readyz']!.push((await get('/readyz')).ms)
  during['/api/services']!.push((await get('/api/services')).ms)
  during.trace!.push((await get(`/api/traces/${traceId}`)).ms)
}
await Promise.all(senders)
console.log(
  `${INGEST_SECONDS} s of 32 connections of 1000-span exports: ${statuses(sent.map((status) => ({ status })))}`,
)
for (const [route, xs] of Object.entries(during)) {
  console.log(
    `${route} meanwhile: ${xs.length} answers, p50 ${ms(pct(xs, 50))}, p99 ${ms(pct(xs, 99))}, max ${ms(Math.max(...xs))}`,
  )
}
agent.destroy()
await reckon.close()
