import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { convertBody } from '../ingest/convert.js'
import { SelfMetrics } from '../telemetry/self-metrics.js'
import { testApps, type TestApps } from '../testing/apps.js'
import { hex, nanosAgo } from '../testing/harness.js'
import { protobufSpans } from '../testing/otlp.js'
import { spoolFile, WritePipeline } from './pipeline.js'
import { spoolDir } from './insert.js'
import { spool, spoolName } from './spool.js'
import { TableWriter, type EncodedRows, type FlushOutcome, type Settled } from './writer.js'
import { silentLogger } from '../log.js'

let t: TestApps
beforeAll(async () => {
  t = await testApps()
})
afterAll(() => t.close())

/** One request's business events (order.paid for each key), as the collector encodes them. */
function paidEvents(system: string, keys: string[]): EncodedRows {
  const attr = (k: string, v: string) => ({ key: k, value: { stringValue: v } })
  const body = {
    resourceLogs: [
      {
        resource: { attributes: [attr('service.name', 'payment')] },
        scopeLogs: [
          {
            logRecords: keys.map((key) => ({
              timeUnixNano: nanosAgo(60_000).toString(),
              attributes: [
                attr('event.name', 'order.paid'),
                attr('reckon.system', system),
                attr('reckon.entity', 'order'),
                attr('reckon.entity.key', key),
                attr('reckon.amount', '42.10'),
                attr('reckon.currency', 'EUR'),
              ],
            })),
          },
        ],
      },
    ],
  }
  const c = convertBody('logs', Buffer.from(JSON.stringify(body)), true, nanosAgo().toString())
  if (c.kind !== 'converted' || !c.converted.batches.business_events) throw new Error('refused')
  return c.converted.batches.business_events
}

/** Replaces line `i` of `rows` with what `poison` makes of it. */
function poisoned(rows: EncodedRows, i: number, poison: (line: string) => string): EncodedRows {
  const lines = rows.data.toString().split('\n')
  lines[i] = poison(lines[i]!)
  return { data: Buffer.from(lines.join('\n')), rows: rows.rows }
}

/** A key no JS string can hold in UTF-8: what JSON.stringify makes of half a surrogate pair. */
const loneSurrogate = (line: string): string =>
  line.replace(/"entity_key":"[^"]*"/, '"entity_key":"\\ud800"')
/** A time no DateTime64(9) holds. */
const outOfRange = (line: string): string =>
  line.replace(/"timestamp":"\d+"/, '"timestamp":"9999-12-31 23:59:59"')

async function storedKeys(system: string): Promise<string[]> {
  const res = await t.api.inject({ url: `/api/events?system=${system}&limit=10000` })
  expect(res.statusCode).toBe(200)
  return (res.json().events as { key: string }[]).map((e) => e.key).sort()
}

interface Quarantined {
  table_name: string
  format: string
  reason: string
  rows: number
  data: string
}

async function quarantined(contains: string): Promise<Quarantined[]> {
  const rs = await t.context.storage.client.query({
    query: `SELECT table_name, format, reason, toUInt32(rows) AS rows, data FROM ${t.context.storage.database}.quarantined_rows
            WHERE position(data, {contains:String}) > 0 ORDER BY data`,
    query_params: { contains },
    format: 'JSONEachRow',
  })
  return rs.json<Quarantined>()
}

const quarantinedCount = async (table: string): Promise<number> => {
  const text = (await t.api.inject({ url: '/metrics' })).body
  const m = new RegExp(`^reckon_rows_quarantined_total\\{table="${table}"\\} (\\d+)$`, 'm').exec(
    text,
  )
  return Number(m?.[1] ?? 0)
}

const keysOf = (request: number): string[] =>
  Array.from({ length: 10 }, (_, i) => `R-${request}-${i}`)

describe('a batch the engine refuses', () => {
  it('costs no good row: the bad rows of ten requests are quarantined with the reason', async () => {
    const system = `pay-${hex(4)}`
    const before = await quarantinedCount('business_events')
    const requests = Array.from({ length: 10 }, (_, r) => paidEvents(system, keysOf(r)))
    requests[3] = poisoned(requests[3]!, 4, loneSurrogate)
    requests[7] = poisoned(requests[7]!, 9, outOfRange)
    const writer = t.context.pipeline.writers.business_events
    for (const rows of requests) writer.enqueue(rows)
    await t.flush()

    const good = Array.from({ length: 10 }, (_, r) => keysOf(r))
      .flat()
      .filter((k) => k !== 'R-3-4' && k !== 'R-7-9')
    expect(await storedKeys(system)).toEqual(good.sort())
    const lines = (rows: EncodedRows | undefined, i: number) =>
      `${rows?.data.toString().split('\n')[i]}\n`
    expect(await quarantined(system)).toEqual([
      {
        table_name: 'business_events',
        format: 'JSONEachRow',
        reason: expect.stringMatching(
          /^Cannot parse escape sequence: missing second part of surrogate pair/,
        ),
        rows: 1,
        data: lines(requests[3], 4),
      },
      {
        table_name: 'business_events',
        format: 'JSONEachRow',
        reason: expect.stringMatching(/overflow.*while reading the value of key timestamp/i),
        rows: 1,
        data: lines(requests[7], 9),
      },
    ])
    expect(await quarantinedCount('business_events')).toBe(before + 2)
  })

  it('costs no good row when the rows were spooled to files, which are then removed', async () => {
    const system = `pay-${hex(4)}`
    const { storage } = t.context
    const dir = spoolDir(t.config.dataDir)
    const files = Array.from({ length: 6 }, (_, r) => {
      let rows = paidEvents(system, keysOf(r))
      if (r === 2) rows = poisoned(rows, 0, loneSurrogate)
      const file = spoolFile(dir, hex(8), storage.database, 'business_events')
      return spool(file, [rows.data], rows.rows)
    })
    for (const f of files) t.context.pipeline.writers.business_events.enqueue(f)
    await t.flush()

    const good = Array.from({ length: 6 }, (_, r) => keysOf(r))
      .flat()
      .filter((k) => k !== 'R-2-0')
    expect(await storedKeys(system)).toEqual(good.sort())
    expect(await quarantined(system)).toEqual([
      expect.objectContaining({ rows: 1, data: expect.stringContaining('"\\ud800"') }),
    ])
    expect(files.filter((f) => existsSync(f.file))).toEqual([])
  })

  it('stores the other requests of a batch of Native blocks, and quarantines a broken block whole', async () => {
    const traces = Array.from({ length: 5 }, () => hex(16))
    const blocks = traces.map((id) => {
      const c = convertBody(
        'traces',
        protobufSpans('checkout', id, 40),
        false,
        nanosAgo().toString(),
      )
      if (c.kind !== 'converted' || !c.converted.batches.trace_spans) throw new Error('refused')
      return c.converted.batches.trace_spans
    })
    // A block cut short, as a disk that filled half-way leaves it.
    const whole = blocks[2]!.data
    blocks[2] = { data: Buffer.from(whole.subarray(0, whole.length >> 1)), rows: 40 }
    for (const b of blocks) t.context.pipeline.writers.trace_spans.enqueue(b)
    await t.flush()

    for (const [i, id] of traces.entries()) {
      const res = await t.api.inject({ url: `/api/traces/${id}` })
      if (i === 2) expect(res.statusCode).toBe(404)
      else expect(res.json().spans).toHaveLength(40)
    }
    const rs = await t.context.storage.client.query({
      query: `SELECT table_name, format, toUInt32(rows) AS rows, toUInt32(length(data)) AS bytes FROM ${t.context.storage.database}.quarantined_rows
              WHERE table_name = 'trace_spans'`,
      format: 'JSONEachRow',
    })
    expect(await rs.json()).toEqual([
      { table_name: 'trace_spans', format: 'Native', rows: 40, bytes: whole.length >> 1 },
    ])
    expect(await quarantinedCount('trace_spans')).toBe(40)
  })
})

describe('rows the dead-letter table refuses too', () => {
  it('go to a file under the data directory, with the reasons, never dropped', async () => {
    const { storage } = t.context
    const table = `${storage.database}.quarantined_rows`
    const system = `pay-${hex(4)}`
    await storage.client.command({ query: `RENAME TABLE ${table} TO ${table}_aside` })
    try {
      const rows = poisoned(paidEvents(system, keysOf(1)), 5, loneSurrogate)
      t.context.pipeline.writers.business_events.enqueue(rows)
      await t.flush()
    } finally {
      await storage.client.command({ query: `RENAME TABLE ${table}_aside TO ${table}` })
    }
    expect(await storedKeys(system)).toEqual(keysOf(1).filter((k) => k !== 'R-1-5'))
    const dir = join(t.config.dataDir, 'quarantined')
    const names = readdirSync(dir).filter((n) => n.endsWith('.business_events.JSONEachRow'))
    const kept = names
      .map((n) => readFileSync(join(dir, n), 'utf8'))
      .filter((d) => d.includes(system))
    expect(kept).toHaveLength(1)
    expect(kept[0]).toMatch(/"entity_key":"\\ud800"/)
    const name = names.find((n) => readFileSync(join(dir, n), 'utf8').includes(system))!
    const mode = (path: string): number => statSync(path).mode & 0o777
    expect([mode(dir), mode(join(dir, name)), mode(join(dir, `${name}.reason`))]).toEqual([
      0o700, 0o600, 0o600,
    ])
    expect(readFileSync(join(dir, `${name}.reason`), 'utf8')).toMatch(
      /^Cannot parse escape sequence.*\n.*quarantined_rows.*does not exist.*\nrows: 1\n$/,
    )
  })
})

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('an engine that cannot store for a while', () => {
  it('keeps the rows queued, quarantines none, and /readyz says why until it can', async () => {
    const { storage } = t.context
    const table = `${storage.database}.business_events`
    const system = `pay-${hex(4)}`
    const before = await quarantinedCount('business_events')
    // What the engine says when the disk is short of the room an insert needs.
    await storage.client.command({
      query: `ALTER TABLE ${table} MODIFY SETTING min_free_disk_bytes_to_perform_insert = 1000000000000000`,
    })
    try {
      const rows = poisoned(paidEvents(system, keysOf(1)), 5, loneSurrogate)
      t.context.pipeline.writers.business_events.enqueue(rows)
      const until = performance.now() + 10_000
      let ready = await t.api.inject({ url: '/readyz' })
      while (ready.statusCode === 200 && performance.now() < until) {
        await sleep(50)
        ready = await t.api.inject({ url: '/readyz' })
      }
      expect([ready.statusCode, ready.json()]).toEqual([
        503,
        {
          status: 'not ready',
          storage: true,
          migrations: true,
          recovering: false,
          reason: expect.stringMatching(/^writing to business_events: .*enough free space/),
        },
      ])
      expect(await quarantinedCount('business_events')).toBe(before)
      expect(await storedKeys(system)).toEqual([])
    } finally {
      await storage.client.command({
        query: `ALTER TABLE ${table} RESET SETTING min_free_disk_bytes_to_perform_insert`,
      })
    }
    await t.flush()
    expect(await storedKeys(system)).toEqual(keysOf(1).filter((k) => k !== 'R-1-5'))
    expect(await quarantinedCount('business_events')).toBe(before + 1)
    expect((await t.api.inject({ url: '/readyz' })).statusCode).toBe(200)
  })
})

describe('a bisection the engine stops taking part-way', () => {
  it('sends no stored part again: a stop ends soon, and keeps the rest in the spool for the next start', async () => {
    const { storage } = t.context
    const name = `parted_${hex(4)}`
    const table = `${storage.database}.${name}`
    await storage.client.command({
      query: `CREATE TABLE ${table} (n UInt32) ENGINE = MergeTree ORDER BY n`,
    })
    // Every insert after the first is refused "not now" (too many parts) until told otherwise.
    await storage.client.command({ query: `SYSTEM STOP MERGES ${table}` })
    await storage.client.command({
      query: `ALTER TABLE ${table} MODIFY SETTING parts_to_throw_insert = 1`,
    })
    const dir = spoolDir(t.config.dataDir)
    const spooled = (ns: (number | string)[]) => {
      const data = Buffer.from(ns.map((n) => `${JSON.stringify({ n })}\n`).join(''))
      return spool(join(dir, spoolName(hex(8), table, 'JSONEachRow')), [data], ns.length)
    }
    // Refused for "x": its half [1, 2] is stored, then [3] of the other meets the pushback.
    const first = spooled([1, 2, 3, 'x'])
    const behind = Array.from({ length: 6 }, (_, i) =>
      spooled([0, 1, 2, 3].map((j) => 10 + 4 * i + j)),
    )
    const outcomes: FlushOutcome[] = []
    const settled: Settled[] = []
    const writer = new TableWriter({
      storage,
      table: name,
      format: 'JSONEachRow',
      batchRows: 4,
      flushIntervalMs: 60_000,
      maxQueueBytes: 1 << 20,
      onFlush: (o) => outcomes.push(o),
      onSettled: (_, s) => settled.push(s),
    })
    for (const f of [first, ...behind]) writer.enqueue(f)
    while (!outcomes.some((o) => o.kind === 'retrying')) await sleep(20)

    const stopping = performance.now()
    await writer.shutdown()
    // A few tries, not a few for each of the seven batches.
    expect(performance.now() - stopping).toBeLessThan(6000)
    expect(settled).toEqual(Array(7).fill('left'))
    expect(outcomes.map((o) => o.kind)).not.toContain('dropped')
    const rowsOf = async (): Promise<(number | string)[]> =>
      (
        await storage.client
          .query({ query: `SELECT n FROM ${table} ORDER BY n`, format: 'JSONEachRow' })
          .then((r) => r.json<{ n: number }>())
      ).map((r) => r.n)
    expect(await rowsOf()).toEqual([1, 2])
    expect(readFileSync(first.file, 'utf8')).toBe('{"n":3}\n{"n":"x"}\n')
    expect(behind.filter((f) => !existsSync(f.file))).toEqual([])

    // The next start, with the engine taking inserts again: every row once, "x" quarantined.
    await storage.client.command({
      query: `ALTER TABLE ${table} RESET SETTING parts_to_throw_insert`,
    })
    const next = new WritePipeline(storage, t.config, new SelfMetrics(), silentLogger)
    const recovery = await next.recover(
      [first, ...behind].map((f) => basename(f.file)),
      silentLogger,
    )
    await next.shutdown()
    expect([recovery.stored, recovery.quarantined, recovery.rejected]).toEqual([7, 1, []])
    expect(await rowsOf()).toEqual([1, 2, 3, ...Array.from({ length: 24 }, (_, i) => 10 + i)])
    const rs = await storage.client.query({
      query: `SELECT toUInt32(rows) AS rows, data FROM ${storage.database}.quarantined_rows WHERE table_name = {name:String}`,
      query_params: { name },
      format: 'JSONEachRow',
    })
    expect(await rs.json()).toEqual([{ rows: 1, data: '{"n":"x"}\n' }])
  })
})
