import { afterAll, describe, expect, it } from 'vitest'
import type { SpanView } from '../api/queries/span-view.js'
import { getTrace, summaries } from '../api/queries/traces.js'
import { convertTraces } from '../otlp-to-native/traces.js'
import { dropDatabase, hex, nanosAgo, testConfig, testStorage } from '../testing/harness.js'
import { COLLECTOR_MIGRATIONS } from './collector-schema.js'
import { isMigrated, migrate } from './migrate.js'
import { rowInserter } from './insert.js'

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

/** Trace spans as the write path stores them, in both span tables. */
async function storeTrace(s: typeof storage, traceId: string): Promise<void> {
  const start = nanosAgo(60_000)
  const converted = convertTraces({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'order' } }] },
        scopeSpans: [
          {
            spans: ['POST /orders', 'charge'].map((name, i) => ({
              traceId,
              spanId: hex(8),
              name,
              startTimeUnixNano: (start + BigInt(i)).toString(),
              endTimeUnixNano: (start + BigInt(i) + 5000n).toString(),
            })),
          },
        ],
      },
    ],
  })
  await rowInserter(s)(`${s.database}.spans`, 'Native', [converted.encoded.data])
  await rowInserter(s)(`${s.database}.trace_spans`, 'Native', [converted.traceSpans.data])
}

/**
 * A store as the development builds before the baseline left it: their migrations table had
 * no component column, and recorded steps `versions`.
 */
async function developmentStore(s: typeof storage, versions: number[]): Promise<void> {
  await s.client.command({ query: `CREATE DATABASE IF NOT EXISTS ${s.database}` })
  await s.client.command({
    query: `CREATE TABLE ${s.database}.schema_migrations (
      version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree ORDER BY version`,
  })
  const [baseline] = COLLECTOR_MIGRATIONS
  for (const statement of baseline?.statements(s.database, 7) ?? []) {
    await s.client.command({ query: statement })
  }
  await s.client.insert({
    table: `${s.database}.schema_migrations`,
    values: versions.map((version) => ({ version, name: `step ${version}` })),
    format: 'JSONEachRow',
  })
}

describe('migrate', () => {
  it('opens a store made before the baseline squash, brings it up to date and reads its traces', async () => {
    await developmentStore(storage, [1, 2, 3, 4, 5, 6, 7, 8, 9])
    const traceId = hex(16)
    await storeTrace(storage, traceId)
    const report = await migrate(storage)
    expect(report.applied.map((m) => m.version)).toEqual([10, 11])
    expect(report.current).toEqual({ collector: 11 })
    expect(await isMigrated(storage)).toBe(true)
    const trace = await spansOf(storage, traceId)
    expect(trace?.spans.map((x) => x.name)).toEqual(['POST /orders', 'charge'])
    const [summary] = await summaries(storage, [traceId], 30)
    expect(summary).toMatchObject({ traceId, rootService: 'order', spanCount: 2 })
  })

  it('refuses a store part-way through the squashed steps, naming its version', async () => {
    const old = testStorage(testConfig())
    try {
      await developmentStore(old, [1, 2, 3, 4, 5, 6, 7, 8])
      await expect(migrate(old)).rejects.toThrow(
        /collector schema version 8, from a development build before its baseline \(9\); remove the data directory/,
      )
    } finally {
      await dropDatabase(old)
    }
  })

  it('creates a new store at the baseline and the steps after it once, and an unknown trace is simply not found', async () => {
    const report = await migrate(fresh)
    expect(report.applied).toEqual([
      { component: 'collector', version: 9, name: expect.stringMatching(/^baseline/) },
      { component: 'collector', version: 10, name: expect.stringMatching(/^auth/) },
      {
        component: 'collector',
        version: 11,
        name: expect.stringMatching(/^spans: a bloom filter/),
      },
    ])
    expect(await tableNames(fresh)).toEqual([
      'api_key_revocations',
      'api_key_uses',
      'api_keys',
      'audit_log',
      'auth_secrets',
      'business_events',
      'logs',
      'metric_points',
      'quarantined_rows',
      'schema_migrations',
      'spans',
      'switch_changes',
      'trace_spans',
      'trace_summaries',
      'trace_summaries_mv',
    ])
    expect(await getTrace(fresh, hex(16), 100, 30)).toBeUndefined()
    expect((await migrate(fresh)).applied).toEqual([])
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
    await rowInserter(fresh)(`${fresh.database}.spans`, 'Native', [request.encoded.data])
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
