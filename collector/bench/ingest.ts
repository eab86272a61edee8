// npm run bench:ingest — OTLP protobuf over HTTP into the collector, against the raw insert
// rate of the same rows straight into the engine, measured in the same run.
import { mkdtempSync, rmSync } from 'node:fs'
import { Agent } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULTS, type Config } from '../src/config/index.js'
import { startReckon } from '../src/server.js'
import { postExport } from './http.js'
import { convertRequest, insertConverted, spanBatch } from './spans.js'

const SPANS_PER_REQUEST = 1000
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 400)
const CONCURRENCY = 8
const WARMUP_REQUESTS = 40

const config: Config = {
  ...DEFAULTS,
  otlpPort: 0,
  apiPort: 0,
  dataDir: mkdtempSync(join(tmpdir(), 'reckon-bench-ingest-')),
  clickhouse: { ...DEFAULTS.clickhouse, url: process.env.CLICKHOUSE_URL, database: 'bench_ingest' },
  ingest: { ...DEFAULTS.ingest, batchRows: 100_000 },
}
process.once('exit', () => rmSync(config.dataDir, { recursive: true, force: true }))
const reckon = await startReckon(config)
const { storage } = reckon.context
const now = BigInt(Date.now()) * 1_000_000n
// Distinct requests (up to 400k spans), so the stored rows are as unlike each other as real
// ones: with 20 requests sent over and over, parts held each span 20 times and compressed
// 30-fold, which made the engine's work on them unrealistically light.
const DISTINCT = Math.min(REQUESTS, 400)
const payloads = Array.from({ length: DISTINCT }, (_, i) =>
  Buffer.from(spanBatch(SPANS_PER_REQUEST, now - BigInt(i) * 1_000_000_000n)),
)
console.log(
  `payload: ${SPANS_PER_REQUEST} spans, ${(payloads[0]!.length / 1024).toFixed(0)} KiB protobuf per request`,
)

async function rowCount(table: string): Promise<number> {
  const rs = await storage.client.query({
    query: `SELECT count() AS n FROM ${storage.database}.${table}`,
    format: 'JSONEachRow',
  })
  return Number((await rs.json<{ n: string }>())[0]?.n)
}

// Raw: the same rows, already encoded, inserted straight into the same tables (`spans` with
// the trace summaries it feeds, and `trace_spans`) by the storage module's insert path,
// with no HTTP or decoding.
const converted = payloads.map(convertRequest)
const perBatch = config.ingest.batchRows / SPANS_PER_REQUEST
async function truncate(): Promise<void> {
  for (const table of ['spans', 'trace_summaries', 'trace_spans']) {
    await storage.client.command({ query: `TRUNCATE TABLE ${storage.database}.${table}` })
  }
}
async function raw(batches: number): Promise<{ rows: number; seconds: number; cpu: number }> {
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  for (let b = 0; b < batches; b++) {
    const parts = Array.from(
      { length: perBatch },
      (_, i) => converted[(b * perBatch + i) % converted.length]!,
    )
    await insertConverted(storage, parts)
  }
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const rows = await rowCount('spans')
  await truncate()
  return { rows, seconds, cpu: cpu.user + cpu.system }
}

// Ingest: HTTP requests from the same process, CONCURRENCY at a time, then wait for storage.
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
const url = `${reckon.otlpUrl}/v1/traces`
const send = async (body: Buffer): Promise<number> => (await postExport(url, body, agent)).status
let refused = 0
async function ingest(
  requests: number,
): Promise<{ stored: number; seconds: number; cpu: NodeJS.CpuUsage }> {
  let next = 0
  const t0 = performance.now()
  // CPU of the whole process (JS and engine threads): how close it runs to the machine's cores.
  const cpu0 = process.cpuUsage()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < requests) {
        const i = next++
        const status = await send(payloads[i % payloads.length]!)
        if (status === 503) {
          refused++
          next-- // resend later, as an exporter would after Retry-After
          await new Promise((r) => setTimeout(r, 20))
        } else if (status !== 200) throw new Error(`HTTP ${status}`)
      }
    }),
  )
  await reckon.context.pipeline.flush()
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const stored = await rowCount('spans')
  await truncate()
  return { stored, seconds, cpu }
}

// Warm-up, untimed: the decode threads' JIT compiles the conversion (about a second of CPU
// per thread) and the engine loads its tables, so neither side's cold start is counted.
await ingest(WARMUP_REQUESTS)
await raw(1)
refused = 0

// Raw runs half before and half after ingest: the machine's load drifts over a run, and
// the ratio is fairest when both sides see the same stretch of it.
const rawBatches = Math.ceil((REQUESTS * SPANS_PER_REQUEST) / config.ingest.batchRows)
const rawBefore = await raw(Math.ceil(rawBatches / 2))
const { stored, seconds: ingestSeconds, cpu } = await ingest(REQUESTS)
const rawAfter = await raw(Math.floor(rawBatches / 2))
const rawRows = rawBefore.rows + rawAfter.rows
const rawSeconds = rawBefore.seconds + rawAfter.seconds
const rawRate = rawRows / rawSeconds
const ingestRate = stored / ingestSeconds
agent.destroy()
await reckon.close()

console.log(
  `raw insert: ${rawRows} rows in ${rawSeconds.toFixed(2)} s, ${((rawBefore.cpu + rawAfter.cpu) / rawRows).toFixed(1)} µs of CPU per row`,
)
const cpuSeconds = (cpu.user + cpu.system) / 1e6
// CPU per span varies less than spans/s on a shared machine: the better figure to compare.
console.log(
  `ingest used ${(cpuSeconds / ingestSeconds).toFixed(2)} CPU cores, ${((cpuSeconds / stored) * 1e6).toFixed(1)} µs of CPU per span (system ${((cpu.system / 1e6 / stored) * 1e6).toFixed(1)})`,
)
console.log(
  `ingest: ${stored} spans in ${ingestSeconds.toFixed(2)} s over HTTP (${refused} requests told to retry)`,
)
console.log(
  `ingest: ${Math.round(ingestRate)} spans/s, raw: ${Math.round(rawRate)} rows/s, ratio: ${(ingestRate / rawRate).toFixed(2)}`,
)
