// Seeded fuzz of the whole ingest path (issue 16): a few thousand generated OTLP and event
// bodies, good items mixed with poisons and random byte changes, sent through the real
// ingest app, then read back through the query API and the tables. Nothing may answer 5xx,
// and every item acknowledged must be stored once, read back as sent, and the same in
// both span tables; no refused item may cost its neighbours.
// A failure prints its seed: FUZZ_SEED=<seed> npx vitest run src/ingest/fuzz.test.ts, and
// FUZZ_REPORT=<file> writes every problem found to the file.
import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest'
import { testApps, type TestApps } from '../testing/apps.js'
import { fuzzBodies, fuzzSeed, type FuzzBody } from '../testing/fuzz-bodies.js'
import {
  bodyProblems,
  clean,
  sent,
  tableProblems,
  type Answer,
  type Read,
  type SpanRow,
  type Stored,
  type ViewSpan,
} from '../testing/fuzz-checks.js'

const seed = fuzzSeed()
let t: TestApps
beforeAll(async () => {
  // One address sending as fast as it can: what is checked here is what storage keeps, not
  // the per-sender limit (rate-limits tests do), which a fast machine would otherwise reach.
  t = await testApps({ rateLimit: { ingestPerSecond: 1_000_000 } })
})
afterAll(() => t.close())

/** Requests in flight at once: enough that one batch of a table holds rows of many. */
const SENDS = 16
/** Reads at once: what the API's pools take (query.traceReads, query.searches). */
const READS = 4
const WINDOW = 'from=now-8d&to=2262-04-11T23:47:16Z'

interface PartialResponse {
  partialSuccess?: Record<string, unknown>
}
type ResponseCodecs = Record<
  string,
  { v1: Record<string, { decode(b: Uint8Array): PartialResponse }> }
>
const responses = (
  createRequire(import.meta.url)('otlp-proto-definitions/build/src/generated/root.js') as {
    opentelemetry: { proto: { collector: ResponseCodecs } }
  }
).opentelemetry.proto.collector
const RESPONSE = {
  traces: responses.trace!.v1.ExportTraceServiceResponse!,
  logs: responses.logs!.v1.ExportLogsServiceResponse!,
  metrics: responses.metrics!.v1.ExportMetricsServiceResponse!,
}

async function send(b: FuzzBody): Promise<Answer> {
  const res = await t.ingest.inject({
    method: 'POST',
    url: `/v1/${b.signal}`,
    payload: b.payload,
    headers: { 'content-type': b.contentType },
  })
  const answer: Answer = {
    status: res.statusCode,
    rejected: 0,
    rejectedRows: [],
    accepted: undefined,
    text: res.body.slice(0, 300),
  }
  if (b.signal === 'events') {
    const body = res.json<{ accepted?: number; rejected?: { index: number }[] }>()
    answer.accepted = body.accepted ?? 0
    answer.rejectedRows = (body.rejected ?? []).map((r) => r.index)
    answer.rejected = answer.rejectedRows.length
  } else if (res.statusCode === 200) {
    const partial = b.contentType.includes('json')
      ? res.json<PartialResponse>().partialSuccess
      : RESPONSE[b.signal].decode(res.rawPayload).partialSuccess
    const n = partial?.rejectedSpans ?? partial?.rejectedLogRecords ?? partial?.rejectedDataPoints
    // A number in JSON; from protobuf, a Long (or a number when it fits).
    answer.rejected = n ? Number((n as { toString(): string }).toString()) : 0
  }
  return answer
}

/** Runs `f` over `items`, `width` at a time. */
async function each<T>(
  width: number,
  items: readonly T[],
  f: (item: T, i: number) => Promise<void>,
) {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      await f(items[i]!, i)
    }
  }
  await Promise.all(Array.from({ length: width }, worker))
}

const query = async <T>(sql: string): Promise<T[]> => {
  const rs = await t.context.storage.client.query({
    query: sql.replaceAll('$db', t.config.clickhouse.database),
    format: 'JSONEachRow',
  })
  return rs.json<T>()
}

/** A query API read; one shed with 503 (the pool full, by design) is asked again. */
async function get<T>(url: string): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const res = await t.api.inject({ url })
    if (res.statusCode === 503 && attempt < 50) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      continue
    }
    if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode} ${res.body}`)
    return res.json<T>()
  }
}

const groupBy = <T>(list: T[], key: (x: T) => string): Map<string, T[]> => {
  const out = new Map<string, T[]>()
  for (const x of list) out.set(key(x), [...(out.get(key(x)) ?? []), x])
  return out
}
const counts = async (table: string, column: string): Promise<Map<string, number>> =>
  new Map(
    (
      await query<{ k: string; n: string }>(
        `SELECT ${column} AS k, count() AS n FROM $db.${table} GROUP BY k`,
      )
    ).map((r) => [r.k, Number(r.n)]),
  )

/** A listing of everything stored, which must not have been cut at its limit. */
async function all(path: string, field: string, limit: number): Promise<Read[]> {
  const list = (await get<Record<string, Read[]>>(`${path}?${WINDOW}&limit=${limit}`))[field]!
  expect(list.length, `${path} listed up to its limit`).toBeLessThan(limit)
  return list
}

it(
  `stores every acknowledged item of generated and mutated bodies and answers no 5xx (seed ${seed})`,
  { timeout: 120_000 },
  async () => {
    onTestFailed(() => {
      console.error(
        `ingest fuzz failed; reproduce with FUZZ_SEED=${seed} npx vitest run src/ingest/fuzz.test.ts`,
      )
    })
    const started = Date.now()
    const bodies = fuzzBodies(seed, Date.now())
    const answers: Answer[][] = bodies.map(() => [])
    await each(SENDS, bodies, async (b, i) => {
      answers[i]!.push(await send(b))
      if (b.resend) answers[i]!.push(await send(b))
    })
    await t.flush()
    const sentMs = Date.now() - started

    const problems: string[] = []
    bodies.forEach((b, i) => {
      const [first, again] = answers[i]!
      for (const a of answers[i]!)
        if (a.status >= 500) problems.push(`${b.label}: answered ${a.status}: ${a.text}`)
      if (again && String(again.rejectedRows) !== String(first!.rejectedRows)) {
        problems.push(
          `${b.label}: sent again, refused rows ${again.rejectedRows.join()}, first ${first!.rejectedRows.join()}`,
        )
      }
    })

    // Both span tables, and every trace stored as its view reads it.
    const spanRows = groupBy(
      await query<SpanRow>(
        `SELECT trace_id, span_id, span_name, toString(toUnixTimestamp64Nano(timestamp)) AS start,
           toString(duration_ns) AS duration_ns, span_attributes, span_attribute_types FROM $db.spans`,
      ),
      (r) => r.trace_id,
    )
    const kept = await counts('trace_spans', 'trace_id')
    for (const id of new Set([...spanRows.keys(), ...kept.keys()])) {
      const [n, m] = [spanRows.get(id)?.length ?? 0, kept.get(id) ?? 0]
      if (n !== m) problems.push(`trace ${id}: ${n} rows in spans, ${m} in trace_spans`)
    }
    const views = new Map<string, ViewSpan[]>()
    await each(READS, [...spanRows.keys()], async (id) => {
      const { spans } = await get<{ spans: ViewSpan[] }>(`/api/traces/${id}`)
      views.set(id, spans)
      const rows = spanRows.get(id)!
      if (spans.length !== new Set(rows.map((r) => r.span_id)).size) {
        problems.push(`trace ${id}: its view has ${spans.length} spans, spans ${rows.length} rows`)
      }
      for (const s of spans) {
        const row = rows.find((r) => r.span_id === s.spanId)
        const found = [
          ...(s.decodeWarning ? [s.decodeWarning] : []),
          ...(row ? tableProblems(s, row) : ['not in spans']),
        ]
        for (const p of found) problems.push(`trace ${id} span ${s.spanId}: ${p}`)
      }
    })
    const readMs = Date.now() - started - sentMs

    const stored: Stored = {
      spanRows,
      views,
      logRows: await counts('logs', 'trace_id'),
      logs: groupBy(await all('/api/logs', 'logs', 10_000), (l) => String(l.traceId)),
      events: groupBy(await all('/api/events', 'events', 10_000), (e) => String(e.flowId)),
      pointRows: await counts('metric_points', 'service_name'),
      points: groupBy(await all('/api/metrics', 'points', 100_000), (p) => String(p.service)),
    }
    bodies.forEach((b, i) => {
      for (const p of bodyProblems(b, answers[i]![0]!, stored)) problems.push(`${b.label}: ${p}`)
    })

    // The whole, mutated bodies included: what the collector counted as acknowledged is
    // what the tables hold, and nothing went to quarantine.
    const metrics = (await t.api.inject({ url: '/metrics' })).body
    const metric = (name: string, labels: string): number =>
      [...metrics.matchAll(new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'gm'))].reduce(
        (sum, m) => sum + Number(m[1]),
        0,
      )
    const accepted = (signal: string): number =>
      metric('reckon_ingest_items_total', `signal="${signal}",outcome="accepted"`)
    const [totals] = await query<Record<string, string>>(
      `SELECT (SELECT count() FROM $db.spans) AS spans, (SELECT count() FROM $db.trace_spans) AS traceSpans,
         (SELECT count() FROM $db.logs) + (SELECT count() FROM $db.business_events) AS logsAndEvents,
         (SELECT count() FROM $db.metric_points) AS points, (SELECT count() FROM $db.quarantined_rows) AS quarantined`,
    )
    const whole = Object.fromEntries(Object.entries(totals!).map(([k, v]) => [k, Number(v)]))
    // Every problem, where the assertion below shows the first 40.
    if (process.env.FUZZ_REPORT) writeFileSync(process.env.FUZZ_REPORT, problems.join('\n'))
    expect(
      problems.slice(0, 40),
      `${problems.length} problems; FUZZ_SEED=${seed} reproduces`,
    ).toEqual([])
    expect(whole).toEqual({
      spans: accepted('traces'),
      traceSpans: accepted('traces'),
      logsAndEvents: accepted('logs') + accepted('events'),
      points: accepted('metrics'),
      quarantined: 0,
    })
    expect(metric('reckon_rows_quarantined_total', '[^}]*')).toBe(0)

    const items = bodies.reduce((n, b) => n + sent(b), 0)
    const good = bodies.reduce((n, b) => n + clean(b), 0)
    const refused = answers.filter((a) => a[0]!.status >= 400).length
    console.info(
      `ingest fuzz, seed ${seed}: ${bodies.length} bodies (${refused} refused whole), ${items} items checked one by one (${good} good); ` +
        `stored ${JSON.stringify(whole)}; sent in ${sentMs} ms, traces read in ${readMs} ms, all in ${Date.now() - started} ms`,
    )
  },
)
