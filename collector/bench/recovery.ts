// npm run bench:recovery — `reckon up` killed (SIGKILL) with N MiB of acknowledged spans
// spooled, then started again: time to listening, to accepting spans again, to ready (the
// backlog stored), and the replay rate against the raw insert rate of the same files
// straight into the engine, measured in the same run. BENCH_RECOVERY_MIB sets N (256).
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { Agent } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULTS, type Config } from '../src/config/index.js'
import { openStorage } from '../src/storage/client.js'
import { rowInserter, spoolDir } from '../src/storage/insert.js'
import { migrate } from '../src/storage/migrate.js'
import { readLeftovers, type Leftover } from '../src/storage/recover.js'
import { parseSpoolName } from '../src/storage/spool.js'
import { postExport } from './http.js'
import { exited, reckonUp, type Started } from './reckon-up.js'
import { spanBatch } from './spans.js'

const MIB = 1024 * 1024
const TARGET_BYTES = Number(process.env.BENCH_RECOVERY_MIB ?? 256) * MIB
const SPANS_PER_REQUEST = 1000
const CONCURRENCY = 4

const work = mkdtempSync(join(tmpdir(), 'reckon-bench-recovery-'))
process.once('exit', () => rmSync(work, { recursive: true, force: true }))
const spool = join(work, '.reckon', 'data', 'inserts')
const seconds = (from: number): number => (performance.now() - from) / 1000

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
const post = async (url: string, body: Uint8Array): Promise<number> =>
  (await postExport(url, body, agent)).status

/** `reckon up` in the work directory, noting when stderr said the spool is being stored. */
async function up(yaml: string): Promise<Started & { storingAt: () => number | undefined }> {
  let storingAt: number | undefined
  const started = await reckonUp(work, yaml, {
    onStderr: (err) => {
      if (storingAt === undefined && err.includes('spooled inserts the previous run left')) {
        storingAt = performance.now()
      }
    },
  })
  return { ...started, storingAt: () => storingAt }
}

const spooledBytes = (): number =>
  readdirSync(spool)
    .filter((n) => parseSpoolName(n))
    .reduce((sum, n) => sum + statSync(join(spool, n)).size, 0)

// 1. A run that acknowledges spans and writes none of them (nothing flushes on its own),
// killed once N MiB are spooled.
const first = await up(
  `otlpPort: 0\napiPort: 0\ningest:\n  flushIntervalMs: 600000\n  batchRows: 100000000\n  queueBytes: ${2 * TARGET_BYTES + 64 * MIB}\n`,
)
const now = BigInt(Date.now()) * 1_000_000n
let sent = 0
let bytes = 0
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (bytes < TARGET_BYTES) {
      const i = sent++
      const status = await post(
        `${first.otlpUrl}/v1/traces`,
        spanBatch(SPANS_PER_REQUEST, now - BigInt(i) * 1_000_000_000n),
      )
      if (status !== 200) throw new Error(`HTTP ${status}`)
      if (i % 8 === 0) bytes = spooledBytes()
    }
  }),
)
first.child.kill('SIGKILL')
await exited(first.child)

// The same files, set aside for the raw insert.
const names = readdirSync(spool).filter((n) => parseSpoolName(n))
const copy = join(work, 'copy')
mkdirSync(copy)
for (const n of names) copyFileSync(join(spool, n), join(copy, n))
const { leftovers } = await readLeftovers(copy, names)
const total = leftovers.reduce((s, l) => s + l.rows.bytes, 0)
const rows = leftovers.reduce((s, l) => s + l.rows.rows, 0)
console.log(
  `backlog: ${names.length} spool files, ${(total / MIB).toFixed(1)} MiB, ${rows} rows (${sent} requests of ${SPANS_PER_REQUEST} spans, spans + trace_spans)`,
)

// 2. Raw: the same files inserted straight into a fresh store, batched as the writers batch
// (batchRows rows per INSERT … FROM INFILE, both tables at once), by this process.
const config: Config = {
  ...DEFAULTS,
  dataDir: join(work, 'raw'),
  clickhouse: { ...DEFAULTS.clickhouse, url: undefined, database: 'bench_recovery' },
}
const storage = openStorage(config)
await migrate(storage)
const rawSpool = spoolDir(config.dataDir)
async function raw(): Promise<number> {
  for (const l of leftovers)
    copyFileSync(l.rows.file, join(rawSpool, l.rows.file.split('/').pop()!))
  const byTable = new Map<string, Leftover[]>()
  for (const l of leftovers) byTable.set(l.table, [...(byTable.get(l.table) ?? []), l])
  const t0 = performance.now()
  await Promise.all(
    [...byTable.entries()].map(async ([table, files]) => {
      const name = `${storage.database}.${table.split('.')[1]}`
      for (let at = 0; at < files.length;) {
        const batch = []
        let n = 0
        while (
          at < files.length &&
          (batch.length === 0 || n + files[at]!.rows.rows <= config.ingest.batchRows)
        ) {
          const f = files[at++]!
          n += f.rows.rows
          batch.push({ ...f.rows, file: join(rawSpool, f.rows.file.split('/').pop()!) })
        }
        await rowInserter(storage)(name, 'Native', batch)
      }
    }),
  )
  const s = seconds(t0)
  for (const table of byTable.keys()) {
    await storage.client.command({
      query: `TRUNCATE TABLE ${storage.database}.${table.split('.')[1]}`,
    })
  }
  for (const n of readdirSync(rawSpool)) rmSync(join(rawSpool, n))
  return s
}
// Half before the replay, half after: the machine's load drifts over a run.
const rawBefore = await raw()

// 3. The restart, with the default configuration: how soon it listens, takes spans again,
// and has stored the backlog.
const t0 = performance.now()
const second = await up('otlpPort: 0\napiPort: 0\n')
const listening = seconds(t0)
const probe = spanBatch(1, now)
let accepting: number | undefined
let ready: number | undefined
while (ready === undefined) {
  if (accepting === undefined && (await post(`${second.otlpUrl}/v1/traces`, probe)) === 200) {
    accepting = seconds(t0)
  }
  const res = await fetch(`${second.apiUrl}/readyz`)
  if (res.status === 200) ready = seconds(t0)
  else await new Promise((r) => setTimeout(r, 20))
}
accepting ??= ready
const left = readdirSync(spool).filter((n) => parseSpoolName(n)).length
const metrics = await (await fetch(`${second.apiUrl}/metrics`)).text()
const written = [
  ...metrics.matchAll(
    /^reckon_storage_rows_total\{table="(spans|trace_spans)",outcome="written"\} (\d+)$/gm,
  ),
].reduce((s, m) => s + Number(m[2]), 0)
second.child.kill('SIGTERM')
await exited(second.child)
const storedLine = /stored \d+ spooled inserts? \([\d.]+ MiB\)/.exec(second.stderr())?.[0]
const rawAfter = await raw()
await storage.close()
agent.destroy()

const storingAt = second.storingAt()
const replay = ready - (storingAt === undefined ? listening : (storingAt - t0) / 1000)
const rawSeconds = (rawBefore + rawAfter) / 2
console.log(
  `restart: listening after ${listening.toFixed(2)} s, accepting spans after ${accepting.toFixed(2)} s, ready (backlog stored) after ${ready.toFixed(2)} s; spool files left: ${left}`,
)
console.log(
  `stderr: ${storedLine ?? 'no "stored" line'}; rows written: ${written} of ${rows} (+ probes)`,
)
console.log(
  `raw insert: ${rawBefore.toFixed(2)} s and ${rawAfter.toFixed(2)} s: ${(total / MIB / rawSeconds).toFixed(1)} MiB/s, ${Math.round(rows / rawSeconds)} rows/s`,
)
console.log(
  `replay: ${replay.toFixed(2)} s: ${(total / MIB / replay).toFixed(1)} MiB/s, ${Math.round(rows / replay)} rows/s, ratio: ${(rawSeconds / replay).toFixed(2)} (down for ${ready.toFixed(2)} s from start to ready)`,
)
