import { afterAll, describe, expect, it } from 'vitest'
import type { SpanView } from '../api/queries/span-view.js'
import { getTrace, summaries } from '../api/queries/traces.js'
import { convertTraces } from '../otlp/traces.js'
import { dropDatabase, hex, nanosAgo, testConfig, testStorage } from '../testing/harness.js'
import { latestVersion, migrate } from './migrate.js'
import { MIGRATIONS } from './migrations.js'

const storage = testStorage(testConfig())
const fresh = testStorage(testConfig())
afterAll(() => Promise.all([dropDatabase(storage), dropDatabase(fresh)]))

/** A trace as the API sends it. */
async function spansOf(s: typeof storage, traceId: string) {
  const trace = await getTrace(s, traceId, 100, 30)
  return trace && (JSON.parse(trace.body) as { spans: SpanView[] })
}

const tableNames = async (s: typeof storage): Promise<string[]> =>
  s.client
    .query({
      query: `SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name`,
      query_params: { db: s.database },
      format: 'JSONEachRow',
    })
    .then((r) => r.json<{ name: string }>())
    .then((rows) => rows.map((r) => r.name))

describe('migrate', () => {
  it('upgrades a store from before the trace tables: old spans still open as traces', async () => {
    await migrate(
      storage,
      MIGRATIONS.filter((m) => m.version <= 2),
    )
    const traceId = hex(16)
    const root = hex(8)
    const start = nanosAgo(60_000)
    await storage.client.command({
      query: `INSERT INTO ${storage.database}.spans
        (timestamp, trace_id, span_id, parent_span_id, service_name, span_name, duration_ns, status_code, span_attributes)
        VALUES
        (fromUnixTimestamp64Nano(${start}, 'UTC'), '${traceId}', '${root}', '', 'order', 'POST /orders', 5000000, 'Unset', map('http.route', '/orders')),
        (fromUnixTimestamp64Nano(${start + 1000n}, 'UTC'), '${traceId}', '${hex(8)}', '${root}', 'payment', 'POST /payments', 2000000, 'Error', map())`,
    })

    const report = await migrate(storage)
    expect(report.applied.map((m) => m.version)).toEqual([3, 4, 5, 6, 7, 8])
    // The old copy still holds these spans: it stays until retention empties it.
    expect(report.retired).toEqual([])
    expect(report.current).toBe(latestVersion())

    const trace = await spansOf(storage, traceId)
    expect(trace?.spans.map((s) => [s.service, s.name, s.startTimeUnixNano])).toEqual([
      ['order', 'POST /orders', start.toString()],
      ['payment', 'POST /payments', (start + 1000n).toString()],
    ])
    expect(trace?.spans[0]?.attributes).toEqual({ 'http.route': '/orders' })
    const [summary] = await summaries(storage, [traceId], 30)
    expect(summary).toMatchObject({ rootService: 'order', spanCount: 2, errorCount: 1 })
    const tables = await storage.client
      .query({
        query: `SELECT name FROM system.tables WHERE database = {db:String} AND name LIKE 'trace%'`,
        query_params: { db: storage.database },
        format: 'JSONEachRow',
      })
      .then((r) => r.json<{ name: string }>())
    expect(tables.map((t) => t.name).sort()).toEqual([
      'trace_spans',
      'trace_summaries',
      'trace_summaries_mv',
    ])

    // Step 5: the copy is written with the cheaper codec from now on.
    const codecs = await storage.client
      .query({
        query: `SELECT DISTINCT compression_codec AS codec FROM system.columns
                WHERE database = {db:String} AND table = 'spans_by_trace' AND name != 'timestamp'`,
        query_params: { db: storage.database },
        format: 'JSONEachRow',
      })
      .then((r) => r.json<{ codec: string }>())
    expect(codecs).toEqual([{ codec: 'CODEC(LZ4)' }])

    // Running it again changes nothing.
    expect((await migrate(storage)).applied).toEqual([])

    // A span of the same trace arriving after the upgrade goes to trace_spans: the trace
    // shows the spans from both sides.
    const late = convertTraces({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shipping' } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId,
                  spanId: hex(8),
                  parentSpanId: root,
                  name: 'POST /shipments',
                  startTimeUnixNano: (start + 2000n).toString(),
                  endTimeUnixNano: (start + 9000n).toString(),
                },
              ],
            },
          ],
        },
      ],
    })
    await storage.insertRows(`${storage.database}.trace_spans`, 'Native', [late.traceSpans.data])
    const both = await spansOf(storage, traceId)
    expect(both?.spans.map((s) => [s.service, s.name])).toEqual([
      ['order', 'POST /orders'],
      ['payment', 'POST /payments'],
      ['shipping', 'POST /shipments'],
    ])
  })

  it('creates a new store without the retired copy, and an unknown trace is simply not found', async () => {
    const report = await migrate(fresh)
    expect(report.current).toBe(latestVersion())
    expect(report.retired).toEqual(['spans_by_trace'])
    const tables = await tableNames(fresh)
    expect(tables).toContain('trace_spans')
    expect(tables).not.toContain('spans_by_trace')
    expect(await getTrace(fresh, hex(16), 100, 30)).toBeUndefined()
    expect((await migrate(fresh)).retired).toEqual([])
  })

  it('writes a fresh part of spans as one compact part, even past the default 10 MiB', async () => {
    await migrate(fresh)
    const traceId = hex(16)
    const start = nanosAgo(60_000)
    const note = 'x'.repeat(400)
    const request = convertTraces({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'order' } }] },
          scopeSpans: [
            {
              spans: Array.from({ length: 25_000 }, (_, i) => ({
                traceId,
                spanId: hex(8),
                name: 'POST /orders',
                startTimeUnixNano: (start + BigInt(i)).toString(),
                endTimeUnixNano: (start + BigInt(i) + 5000n).toString(),
                attributes: [{ key: 'note', value: { stringValue: `${note}${i}` } }],
              })),
            },
          ],
        },
      ],
    })
    await fresh.insertRows(`${fresh.database}.spans`, 'Native', [request.encoded.data])
    const parts = await fresh.client
      .query({
        query: `SELECT part_type AS type, data_uncompressed_bytes AS bytes FROM system.parts
                WHERE database = {db:String} AND table = 'spans' AND active`,
        query_params: { db: fresh.database },
        format: 'JSONEachRow',
      })
      .then((r) => r.json<{ type: string; bytes: string }>())
    expect(parts).toHaveLength(1)
    expect(parts[0]?.type).toBe('Compact')
    expect(Number(parts[0]?.bytes)).toBeGreaterThan(10 * 1024 * 1024)
  })
})
