import { existsSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { convertBody } from '../ingest/convert.js'
import { DecodePool } from '../ingest/decode-pool.js'
import { buildApps, createContext } from '../server.js'
import { SelfMetrics } from '../telemetry/self-metrics.js'
import { testApps, type TestApps } from '../testing/apps.js'
import { dropDatabase, hex, nanosAgo, testConfig, testStorage } from '../testing/harness.js'
import { protobufSpans } from '../testing/otlp.js'
import { rowInserter, spoolDir } from './insert.js'
import { migrate } from './migrate.js'
import { spoolFile, WritePipeline } from './pipeline.js'
import { describeRecovery, leftoverSpool, rejectedDir, type Recovery } from './recover.js'
import { spool, writingName } from './spool.js'
import { silentLogger, type Logger } from '../log.js'
import { captureLog } from '../testing/log.js'

let t: TestApps
let pool: DecodePool
let dir: string
beforeAll(async () => {
  t = await testApps()
  // The engine's spool directory: this test's files there are what a process that died
  // left behind (the apps' own writers take only the files they are given).
  dir = spoolDir(t.config.dataDir)
  pool = new DecodePool(1, silentLogger, { dir, database: t.config.clickhouse.database })
})

/** The files `names` in the spool, stored as the next process to start stores them. */
async function recoverSpool(
  names: readonly string[],
  metrics = new SelfMetrics(),
  log: Logger = silentLogger,
): Promise<Recovery> {
  const pipeline = new WritePipeline(t.context.storage, t.config, metrics, log)
  const recovery = await pipeline.recover(names, log)
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

/** One request's events, one per key. */
function paidEvents(keys: string[]): Buffer {
  type Body = { resourceLogs: [{ scopeLogs: [{ logRecords: unknown[] }] }] }
  const bodies = keys.map((key) => JSON.parse(paidEvent(key).toString()) as Body)
  const records = bodies.flatMap((b) => b.resourceLogs[0].scopeLogs[0].logRecords)
  bodies[0]!.resourceLogs[0].scopeLogs[0].logRecords = records
  return Buffer.from(JSON.stringify(bodies[0]))
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
  it('stores what a dead process acknowledged, isolating refused rows as the live path does', async () => {
    const traceId = hex(16)
    const spanFiles = await spoolOnly('traces', protobufSpans('checkout', traceId, 40), false)
    const eventFiles = await spoolOnly('logs', paidEvent('R-1'), true)
    // A request's events, one of them with a key the engine refuses.
    const [poisoned] = await spoolOnly('logs', paidEvents(['P-1', 'P-2', 'P-3']), true)
    const lines = readFileSync(poisoned!, 'utf8').split('\n')
    lines[1] = lines[1]!.replace(/"entity_key":"P-2"/, '"entity_key":"\\ud800"')
    writeFileSync(poisoned!, lines.join('\n'))
    // A block broken half-way (a disk that failed under it): refused whole.
    const [broken, ...restOfIt] = await spoolOnly(
      'traces',
      protobufSpans('checkout', hex(16), 40),
      false,
    )
    const whole = readFileSync(broken!)
    writeFileSync(broken!, whole.subarray(0, whole.length >> 1))
    writeFileSync(join(dir, 'notes.txt'), 'not a spool file')
    // A spool file the crash cut short is still under the name it is written under.
    const cut = spoolFile(dir, hex(8), t.config.clickhouse.database, 'business_events')
    writeFileSync(writingName(cut), '{"entity_key":"cut sh')

    const recovery = await recoverSpool(leftoverSpool(dir))

    const files = spanFiles.length + eventFiles.length + 1 + 1 + restOfIt.length
    expect([recovery.stored, recovery.quarantined, recovery.rejected]).toEqual([files, 2, []])
    expect(readdirSync(dir)).toEqual([])
    expect(existsSync(recovery.rejectedDir)).toBe(false)
    expect(describeRecovery(recovery)).toEqual([
      expect.stringMatching(/^stored \d+ spooled inserts \(0\.0 MiB\) that the previous run/),
      '2 of them held rows the engine refused, kept in quarantined_rows (reckon_rows_quarantined_total)',
    ])

    const trace = await t.api.inject({ url: `/api/traces/${traceId}` })
    expect(trace.statusCode).toBe(200)
    expect(trace.json().spans).toHaveLength(40)
    const events = await t.api.inject({ url: '/api/events?entity=order&key=R-1' })
    expect(events.json().events).toEqual([
      expect.objectContaining({ type: 'order.paid', amount: '42.10', currency: 'EUR' }),
    ])
    const stored = async (key: string): Promise<number> =>
      (await t.api.inject({ url: `/api/events?entity=order&key=${key}` })).json<{
        events: unknown[]
      }>().events.length
    expect([await stored('P-1'), await stored('P-2'), await stored('P-3')]).toEqual([1, 0, 1])
    const rs = await t.context.storage.client.query({
      query: `SELECT table_name, toUInt32(rows) AS rows, position(data, 'ud800') > 0 AS surrogate
              FROM ${t.context.storage.database}.quarantined_rows ORDER BY table_name`,
      format: 'JSONEachRow',
    })
    expect(await rs.json()).toEqual([
      { table_name: 'business_events', rows: 1, surrogate: 1 },
      { table_name: basename(broken!).split('.')[2], rows: 40, surrogate: 0 },
    ])
  })

  it('sets aside a file it cannot read, on its own: the others are stored', async () => {
    const eventFiles = await spoolOnly('logs', paidEvent('U-1'), true)
    // Sparse, it takes no room; at 3 GiB, it is more than a file can be read into memory.
    const huge = spoolFile(dir, hex(8), t.config.clickhouse.database, 'business_events')
    writeFileSync(huge, '')
    truncateSync(huge, 3 * 1024 ** 3)
    const metrics = new SelfMetrics()
    const log = captureLog()
    try {
      const recovery = await recoverSpool(leftoverSpool(dir), metrics, log.logger)
      expect(recovery.stored).toBe(eventFiles.length)
      expect(recovery.rejected).toEqual([
        { name: basename(huge), error: expect.stringMatching(/greater than 2 GiB/) },
      ])
      expect(readdirSync(dir)).toEqual([])
      expect(readdirSync(recovery.rejectedDir)).toContain(basename(huge))
      expect(log.messages()).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^cannot read the spooled insert ${basename(huge)} .*: moved to .*inserts-rejected`,
          ),
        ),
      )
      expect(describeRecovery(recovery)).toContainEqual(
        expect.stringMatching(/^1 spooled insert left by the previous run could not be read/),
      )
      expect(await metrics.registry.metrics()).toMatch(
        /^reckon_spool_recovered_total\{outcome="rejected"\} 1$/m,
      )
      const events = await t.api.inject({ url: '/api/events?entity=order&key=U-1' })
      expect(events.json().events).toHaveLength(1)
    } finally {
      rmSync(join(rejectedDir(dir), basename(huge)), { force: true })
    }
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
    await rowInserter(storage)(table, 'JSONEachRow', [events('B-0')])
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
    const context = await createContext(config, { storage, leftovers: names })
    const apps = await buildApps(context)
    try {
      const ready = await apps.api.inject({ url: '/readyz' })
      expect([ready.statusCode, ready.json()]).toEqual([
        503,
        expect.objectContaining({
          status: 'not ready',
          storage: true,
          migrations: true,
          recovering: true,
        }),
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
