import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { convertBody } from '../ingest/convert.js'
import { DecodePool } from '../ingest/decode-pool.js'
import { buildApps, createContext } from '../server.js'
import { SelfMetrics } from '../telemetry/self-metrics.js'
import { testApps, type TestApps } from '../testing/apps.js'
import { dropDatabase, hex, nanosAgo, testConfig, testStorage } from '../testing/harness.js'
import { protobufSpans } from '../testing/otlp.js'
import { spoolDir } from './insert.js'
import { migrate } from './migrate.js'
import { spoolFile, WritePipeline } from './pipeline.js'
import { describeRecovery, leftoverSpool, type Recovery } from './recover.js'
import { spool } from './spool.js'

let t: TestApps
let pool: DecodePool
let dir: string
beforeAll(async () => {
  t = await testApps()
  // The engine's spool directory: this test's files there are what a process that died
  // left behind (the apps' own writers take only the files they are given).
  dir = spoolDir(t.config.dataDir)
  pool = new DecodePool(1, () => {}, { dir, database: t.config.clickhouse.database })
})

/** The files `names` in the spool, stored as the next process to start stores them. */
async function recoverSpool(names: readonly string[]): Promise<Recovery> {
  const pipeline = new WritePipeline(t.context.storage, t.config, new SelfMetrics(), () => {})
  const recovery = await pipeline.recover(names, () => {})
  await pipeline.shutdown()
  return recovery
}
afterAll(async () => {
  await pool.close()
  await t.close()
})

function paidEvent(key: string, timeUnixNano = nanosAgo(60_000)): Buffer {
  const attr = (k: string, v: string) => ({ key: k, value: { stringValue: v } })
  return Buffer.from(
    JSON.stringify({
      resourceLogs: [
        {
          resource: { attributes: [attr('service.name', 'payment')] },
          scopeLogs: [
            {
              logRecords: [
                {
                  timeUnixNano: timeUnixNano.toString(),
                  attributes: [
                    attr('event.name', 'order.paid'),
                    attr('reckon.system', 'payment'),
                    attr('reckon.entity', 'order'),
                    attr('reckon.entity.key', key),
                    attr('reckon.amount', '42.10'),
                    attr('reckon.currency', 'EUR'),
                  ],
                },
              ],
            },
          ],
        },
      ],
    }),
  )
}

/** Converts a request as the collector does, leaving its rows spooled and never inserted. */
async function spoolOnly(signal: 'traces' | 'logs', body: Buffer, json: boolean) {
  const result = await pool.convert(signal, body, json, nanosAgo().toString())
  if (result.kind !== 'converted') throw new Error(`refused: ${result.message}`)
  const batches = Object.values(result.converted.batches).filter((rows) => rows.rows > 0)
  return batches.map((rows) => {
    if (!('file' in rows)) throw new Error('rows were not spooled')
    return rows.file
  })
}

describe('recovering spooled inserts', () => {
  it('stores what a dead process acknowledged, sets aside files cut short, removes strays', async () => {
    const traceId = hex(16)
    const spanFiles = await spoolOnly('traces', protobufSpans('checkout', traceId, 40), false)
    const eventFiles = await spoolOnly('logs', paidEvent('R-1'), true)
    // A file the crash cut short: half of one table's rows of another request.
    const [cutFrom, ...restOfIt] = await spoolOnly(
      'traces',
      protobufSpans('checkout', hex(16), 40),
      false,
    )
    const whole = readFileSync(cutFrom!)
    writeFileSync(cutFrom!, whole.subarray(0, whole.length >> 1))
    writeFileSync(join(dir, 'notes.txt'), 'not a spool file')

    const recovery = await recoverSpool(leftoverSpool(dir))

    expect(recovery.stored).toBe(spanFiles.length + eventFiles.length + restOfIt.length)
    expect(recovery.rejected.map((r) => r.name)).toEqual([basename(cutFrom!)])
    expect(readdirSync(dir)).toEqual([])
    expect(readdirSync(recovery.rejectedDir)).toEqual([basename(cutFrom!)])
    expect(describeRecovery(recovery)).toEqual([
      expect.stringMatching(/^stored \d+ spooled inserts \(0\.0 MiB\) that the previous run/),
      expect.stringMatching(/^1 spooled insert left by the previous run could not be stored/),
    ])

    const trace = await t.api.inject({ url: `/api/traces/${traceId}` })
    expect(trace.statusCode).toBe(200)
    expect(trace.json().spans).toHaveLength(40)
    const events = await t.api.inject({ url: '/api/events?entity=order&key=R-1' })
    expect(events.json().events).toEqual([
      expect.objectContaining({ type: 'order.paid', amount: '42.1', currency: 'EUR' }),
    ])
  })

  it('has nothing to say after a clean stop', async () => {
    const empty = join(t.config.dataDir, `clean-${hex(4)}`, 'inserts')
    const names = leftoverSpool(empty)
    expect(names).toEqual([])
    const recovery = await recoverSpool(names)
    expect(describeRecovery(recovery)).toEqual([])
  })
})

describe('a collector started with a backlog from the previous run', () => {
  it('listens meanwhile: not ready, and senders told to retry, until the backlog is stored', async () => {
    const config = testConfig({ ingest: { queueBytes: 4096 } })
    const storage = testStorage(config)
    await migrate(storage)
    const time = nanosAgo(60_000)
    const events = (key: string): Buffer => {
      const c = convertBody('logs', paidEvent(key, time), true, nanosAgo().toString())
      if (c.kind !== 'converted' || !c.converted.batches.business_events) throw new Error('refused')
      return c.converted.batches.business_events.data
    }
    // The engine says "not now" (too many parts) until told otherwise: recovery cannot end.
    const table = `${storage.database}.business_events`
    await storage.insertRows(table, 'JSONEachRow', [events('B-0')])
    await storage.client.command({ query: `SYSTEM STOP MERGES ${table}` })
    await storage.client.command({
      query: `ALTER TABLE ${table} MODIFY SETTING parts_to_throw_insert = 1`,
    })
    // More than the queue's cap: 20 requests' events, 20 spool files.
    const keys = Array.from({ length: 20 }, (_, i) => `B-${i + 1}`)
    const names = keys.map((key) => {
      const file = spoolFile(dir, hex(8), storage.database, 'business_events')
      spool(file, [events(key)], 1)
      return basename(file)
    })
    const context = await createContext(config, {
      storage: { ...storage, takeLeftovers: () => names },
    })
    const apps = await buildApps(context)
    try {
      const ready = await apps.api.inject({ url: '/readyz' })
      expect([ready.statusCode, ready.json()]).toEqual([
        503,
        { status: 'not ready', storage: true, migrations: true, recovering: true },
      ])
      const send = () =>
        apps.ingest.inject({
          method: 'POST',
          url: '/v1/events',
          payload: [{ type: 'order.paid', system: 'payment', entity: 'order', key: 'B-new' }],
        })
      const refused = await send()
      expect(refused.statusCode).toBe(503)
      expect(refused.headers['retry-after']).toBe('2')

      await storage.client.command({
        query: `ALTER TABLE ${table} RESET SETTING parts_to_throw_insert`,
      })
      while ((await apps.api.inject({ url: '/readyz' })).statusCode !== 200) {
        await new Promise((r) => setTimeout(r, 50))
      }
      expect((await apps.api.inject({ url: '/readyz' })).json()).toMatchObject({
        recovering: false,
      })
      expect((await send()).statusCode).toBe(200)
      await context.pipeline.flush()
      const stored = await apps.api.inject({ url: '/api/events?entity=order&limit=100' })
      expect((stored.json().events as { key: string }[]).map((e) => e.key).sort()).toEqual(
        ['B-0', ...keys, 'B-new'].sort(),
      )
      const metrics = (await apps.api.inject({ url: '/metrics' })).body
      expect(metrics).toContain('reckon_spool_recovered_total{outcome="stored"} 20')
    } finally {
      await Promise.all([apps.ingest.close(), apps.api.close()])
      await context.pipeline.shutdown()
      await dropDatabase(storage)
    }
  })
})
