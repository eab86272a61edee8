import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DecodePool } from '../ingest/decode-pool.js'
import { testApps, type TestApps } from '../testing/apps.js'
import { hex, nanosAgo } from '../testing/harness.js'
import { protobufSpans } from '../testing/otlp.js'
import { describeRecovery, leftoverSpool, recoverSpool } from './recover.js'

let t: TestApps
let pool: DecodePool
let dir: string
beforeAll(async () => {
  t = await testApps()
  // A spool directory of its own: what a process that died left behind.
  dir = join(t.config.dataDir, `crashed-${hex(4)}`, 'inserts')
  mkdirSync(dir, { recursive: true })
  pool = new DecodePool(1, () => {}, { dir, database: t.config.clickhouse.database })
})
afterAll(async () => {
  await pool.close()
  await t.close()
})

function paidEvent(key: string): Buffer {
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
                  timeUnixNano: nanosAgo(60_000).toString(),
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

    const recovery = await recoverSpool(t.context.storage.client, dir, leftoverSpool(dir))

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
      expect.objectContaining({ type: 'order.paid', amount: '42.10', currency: 'EUR' }),
    ])
  })

  it('has nothing to say after a clean stop', async () => {
    const empty = join(t.config.dataDir, `clean-${hex(4)}`, 'inserts')
    const names = leftoverSpool(empty)
    expect(names).toEqual([])
    const recovery = await recoverSpool(t.context.storage.client, empty, names)
    expect(describeRecovery(recovery)).toEqual([])
  })
})
