// npm run bench:overload — `reckon up` (embedded engine, default configuration) under
// CONNECTIONS connections sending 1000-span OTLP/protobuf exports as fast as they are
// answered, for OVERLOAD_SECONDS (60). Meanwhile /readyz and a trace by ID are each asked 10
// times a second on a connection of their own, and the process's RSS is sampled. Baselines
// from the same run: the probes with no load, and the same exports on one connection. At the
// end every acknowledged span must be in `spans` once the write queue has drained.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent } from 'node:http'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULTS } from '../src/config/index.js'
import { openStorage, type Storage } from '../src/storage/client.js'
import { get, ms, pct, postExport, rejectedSpans, statuses } from './http.js'
import { exited, reckonUp } from './reckon-up.js'
import { spanBatch } from './spans.js'

const SECONDS = Number(process.env.OVERLOAD_SECONDS ?? 60)
const CONNECTIONS = Number(process.env.OVERLOAD_CONNECTIONS ?? 32)
const BASELINE_SECONDS = Number(
  process.env.OVERLOAD_BASELINE_SECONDS ?? Math.max(5, Math.round(SECONDS / 4)),
)
const IDLE_SECONDS = 5
const PROBE_HZ = 10
// A refused sender waits this long before its next export: a careless client, far sooner
// than the 2 s of Retry-After an OpenTelemetry exporter would wait.
const RETRY_MS = Number(process.env.OVERLOAD_RETRY_MS ?? 100)
// For the profiling pass: Node flags (e.g. --heap-prof) and reckon.yaml lines to add.
const NODE_ARGS = (process.env.OVERLOAD_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)
const EXTRA_YAML = process.env.OVERLOAD_YAML ?? ''
// reckon's stderr is written there at the end (its log, and what a profiling flag prints).
const LOG = process.env.OVERLOAD_LOG
const SPANS = 1000
const MB = 1e6

const GOALS = { rssMb: 400, readyzP99: 100, traceP99: 500 }

const work = mkdtempSync(join(tmpdir(), 'reckon-bench-overload-'))
process.once('exit', () => rmSync(work, { recursive: true, force: true }))
const sleep = (msec: number): Promise<void> => new Promise((r) => setTimeout(r, msec))
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')
const loadAtStart = load()

const reckon = await reckonUp(work, `otlpPort: 0\napiPort: 0\n${EXTRA_YAML}`, {
  nodeArgs: NODE_ARGS,
})
const pid = reckon.child.pid!
// The banner says localhost; the address it binds spares a lookup per connection.
const otlpUrl = `${reckon.otlpUrl.replace('localhost', '127.0.0.1')}/v1/traces`
const apiUrl = reckon.apiUrl.replace('localhost', '127.0.0.1')

/**
 * The reckon process's memory from /proc, in bytes: resident (VmRSS) split into anonymous
 * and file-backed pages (the engine's 566 MB library is mapped, and what of it runs is
 * resident), and the peak resident (VmHWM).
 */
interface Memory {
  rss: number
  anon: number
  file: number
  hwm: number
}
function memoryOf(): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (key: string): number =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), hwm: kb('VmHWM') }
}

/** What the process says of its memory in /metrics (main thread's heap; RSS is all threads). */
interface Breakdown {
  rss: number
  heapUsed: number
  heapTotal: number
  external: number
  queueBytes: number
}
const metricsAgent = new Agent({ keepAlive: true, maxSockets: 1 })
async function scrape(): Promise<{ text: string; breakdown: Breakdown }> {
  const text = (await get(`${apiUrl}/metrics`, metricsAgent)).body.toString()
  const one = (name: string): number =>
    Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN)
  const queueBytes = [...text.matchAll(/^reckon_storage_queue_bytes\{[^}]*\} (\S+)$/gm)].reduce(
    (s, m) => s + Number(m[1]),
    0,
  )
  return {
    text,
    breakdown: {
      rss: one('reckon_process_resident_memory_bytes'),
      heapUsed: one('reckon_nodejs_heap_size_used_bytes'),
      heapTotal: one('reckon_nodejs_heap_size_total_bytes'),
      external: one('reckon_nodejs_external_memory_bytes'),
      queueBytes,
    },
  }
}

// Distinct exports (the IDs are random), stamped over the last minute.
const nowNs = BigInt(Date.now()) * 1_000_000n
const exports = Array.from({ length: 64 }, (_, i) =>
  spanBatch(SPANS, nowNs - BigInt(i) * 1_000_000_000n),
)
let acknowledged = 0

// A trace of its own to read meanwhile, sent and stored before any load.
const seedAgent = new Agent({ keepAlive: true, maxSockets: 1 })
const seed = await postExport(otlpUrl, spanBatch(SPANS, nowNs), seedAgent)
if (seed.status !== 200) throw new Error(`the seed export got ${seed.status}`)
acknowledged += SPANS - rejectedSpans(seed)
let traceId: string | undefined
while (!traceId) {
  await sleep(200)
  const list = JSON.parse(
    (await get(`${apiUrl}/api/traces?limit=1`, seedAgent)).body.toString(),
  ) as {
    traces: { traceId: string }[]
  }
  traceId = list.traces[0]?.traceId
}
seedAgent.destroy()

interface Phase {
  name: string
  seconds: number
  answers: { status: number }[]
  accepted: number
  /** The sample with the highest RSS. */
  top: Memory
  peak: Breakdown | undefined
  readyz: { ms: number[]; answers: { status: number }[] }
  trace: { ms: number[]; answers: { status: number }[] }
}

async function probe(url: string, until: number, into: Phase['readyz']): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  let next = performance.now()
  while (performance.now() < until) {
    const a = await get(url, agent)
    into.ms.push(a.ms)
    into.answers.push(a)
    next += 1000 / PROBE_HZ
    const wait = next - performance.now()
    if (wait > 0) await sleep(wait)
    else next = performance.now() // late: the next one goes now, not a burst to catch up
  }
  agent.destroy()
}

async function run(name: string, seconds: number, connections: number): Promise<Phase> {
  const phase: Phase = {
    name,
    seconds,
    answers: [],
    accepted: 0,
    top: { rss: 0, anon: 0, file: 0, hwm: 0 },
    peak: undefined,
    readyz: { ms: [], answers: [] },
    trace: { ms: [], answers: [] },
  }
  const t0 = performance.now()
  const until = t0 + seconds * 1000
  let running = true
  const sampler = (async () => {
    while (running) {
      const m = memoryOf()
      if (m.rss > phase.top.rss) phase.top = m
      await sleep(100)
    }
  })()
  const scraper = (async () => {
    while (running) {
      const { breakdown } = await scrape()
      if (!phase.peak || breakdown.rss > phase.peak.rss) phase.peak = breakdown
      await sleep(1000)
    }
  })()
  const agent = new Agent({ keepAlive: true, maxSockets: connections || 1 })
  const senders = Array.from({ length: connections }, async (_, c) => {
    for (let i = c; performance.now() < until; i += connections) {
      let a
      try {
        a = await postExport(otlpUrl, exports[i % exports.length]!, agent)
      } catch {
        phase.answers.push({ status: 0 }) // the connection failed
        await sleep(RETRY_MS)
        continue
      }
      phase.answers.push(a)
      if (a.status === 200) phase.accepted += SPANS - rejectedSpans(a)
      else await sleep(RETRY_MS)
    }
  })
  await Promise.all([
    ...senders,
    probe(`${apiUrl}/readyz`, until, phase.readyz),
    probe(`${apiUrl}/api/traces/${traceId}`, until, phase.trace),
  ])
  phase.seconds = (performance.now() - t0) / 1000
  running = false
  await Promise.all([sampler, scraper])
  agent.destroy()
  acknowledged += phase.accepted
  return phase
}

const idle = await run('no load', IDLE_SECONDS, 0)
const one = await run('1 connection', BASELINE_SECONDS, 1)
const many = await run(`${CONNECTIONS} connections`, SECONDS, CONNECTIONS)

// Drained: nothing left in any write queue (rows leave it once stored or quarantined).
const DRAIN_LIMIT_S = 300
const t0 = performance.now()
let drained = false
while (!drained && performance.now() - t0 < DRAIN_LIMIT_S * 1000) {
  const { text } = await scrape()
  const queued = [...text.matchAll(/^reckon_storage_queue_rows\{[^}]*\} (\S+)$/gm)]
  drained = queued.length > 0 && queued.every((m) => Number(m[1]) === 0)
  if (!drained) await sleep(100)
}
const drainSeconds = (performance.now() - t0) / 1000
const { hwm } = memoryOf()
reckon.child.kill('SIGTERM')
await exited(reckon.child)
metricsAgent.destroy()
if (LOG) writeFileSync(LOG, reckon.stderr())

const storage: Storage = openStorage({
  ...DEFAULTS,
  dataDir: join(work, '.reckon', 'data'),
  clickhouse: { ...DEFAULTS.clickhouse, url: undefined },
})
async function count(table: string): Promise<number> {
  const rs = await storage.client.query({
    query: `SELECT count() AS n FROM ${storage.database}.${table}`,
    format: 'JSONEachRow',
  })
  return Number((await rs.json<{ n: string }>())[0]?.n)
}
const stored = await count('spans')
const storedByTrace = await count('trace_spans')
await storage.close()

const mb = (b: number): string => `${(b / MB).toFixed(0)} MB`
const spansPerSecond = (p: Phase): number => p.accepted / p.seconds
const kinds = (p: Phase): string => {
  const n = (f: (s: number) => boolean): number => p.answers.filter((a) => f(a.status)).length
  return `${n((s) => s === 503)} × 503, ${n((s) => s === 413)} × 413, ${n((s) => ![200, 413, 503].includes(s))} other (${statuses(p.answers) || 'none'})`
}
const kib = (exports[0]!.length / 1024).toFixed(0)
console.log(
  `reckon up (embedded chDB, defaults${EXTRA_YAML ? ` + ${JSON.stringify(EXTRA_YAML)}` : ''}), ${SPANS}-span exports of ${kib} KiB, load average ${loadAtStart} at the start, ${load()} at the end`,
)
for (const p of [idle, one, many]) {
  const line = [
    `${p.name}, ${p.seconds.toFixed(1)} s:`,
    p === idle ? '' : `${Math.round(spansPerSecond(p))} spans/s accepted; ${kinds(p)};`,
    `max RSS ${mb(p.top.rss)} (${mb(p.top.anon)} anonymous, ${mb(p.top.file)} file-backed);`,
    `/readyz p50 ${ms(pct(p.readyz.ms, 50))} p99 ${ms(pct(p.readyz.ms, 99))} (${statuses(p.readyz.answers)});`,
    `trace by ID p50 ${ms(pct(p.trace.ms, 50))} p99 ${ms(pct(p.trace.ms, 99))} (${statuses(p.trace.answers)})`,
  ]
  console.log(line.filter(Boolean).join(' '))
}
const peak = many.peak
if (peak) {
  console.log(
    `at the highest RSS /metrics saw under load (${mb(peak.rss)}): main-thread heap ${mb(peak.heapUsed)} used of ${mb(peak.heapTotal)}, external ${mb(peak.external)}, the rest ${mb(peak.rss - peak.heapTotal - peak.external)} (decode threads' heaps, chDB, code); write queue ${mb(peak.queueBytes)}`,
  )
}
const ratio = (a: number, b: number): string => (a / b).toFixed(2)
console.log(
  `ratio ${CONNECTIONS} connections / baseline: spans/s ${ratio(spansPerSecond(many), spansPerSecond(one))} (vs 1 connection), max RSS ${ratio(many.top.rss, one.top.rss)} (vs 1 connection) and ${ratio(many.top.rss, idle.top.rss)} (vs no load), /readyz p99 ${ratio(pct(many.readyz.ms, 99), pct(idle.readyz.ms, 99))} and trace p99 ${ratio(pct(many.trace.ms, 99), pct(idle.trace.ms, 99))} (vs no load)`,
)
console.log(
  `${drained ? 'drained' : `NOT drained within ${DRAIN_LIMIT_S} s`} ${drainSeconds.toFixed(1)} s after the load stopped; peak RSS of the run (VmHWM) ${mb(hwm)}`,
)
console.log(
  `stored: ${stored} spans (trace_spans ${storedByTrace}), acknowledged ${acknowledged} (sum over 200s of spans sent minus partial_success rejected)`,
)
const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED')
const rss = Math.max(many.top.rss, hwm)
const allStored = drained && stored === acknowledged && storedByTrace === acknowledged
// A fast 503 is no answer: a probe goal is met only if every probe got 200 in time.
const within = (p: Phase['readyz'], goal: number): string => {
  const refused = p.answers.filter((a) => a.status !== 200).length
  return `${ms(pct(p.ms, 99))}${refused ? ` (${refused} not 200)` : ''} ${verdict(pct(p.ms, 99) <= goal && refused === 0)}`
}
console.log(
  [
    `goals: RSS ≤ ${GOALS.rssMb} MB: ${mb(rss)} ${verdict(rss <= GOALS.rssMb * MB)}`,
    `/readyz p99 ≤ ${GOALS.readyzP99} ms: ${within(many.readyz, GOALS.readyzP99)}`,
    `trace-by-ID p99 ≤ ${GOALS.traceP99} ms: ${within(many.trace, GOALS.traceP99)}`,
    `every acknowledged span stored: ${verdict(allStored)}`,
  ].join('; '),
)
// A lost acknowledged span is a broken promise, not a slow figure: the run fails.
if (!allStored) process.exitCode = 1
