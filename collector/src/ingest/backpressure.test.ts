import { readdirSync, renameSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { spoolDir } from '../storage/insert.js'
import { parseSpoolName } from '../storage/spool.js'
import { testApps, type TestApps } from '../testing/apps.js'
import { hex } from '../testing/harness.js'
import { jsonTrace } from '../testing/otlp.js'

let t: TestApps
beforeAll(async () => {
  t = await testApps()
})
afterAll(() => t.close())

describe('a collector that cannot keep more', () => {
  it('answers 503 with Retry-After when the write queue is full, keeping what it acknowledged', async () => {
    const tiny = await testApps({
      ingest: { queueBytes: 4096, flushIntervalMs: 60_000, batchRows: 1_000_000 },
    })
    try {
      const first = hex(16)
      const ok = await tiny.postJson(
        '/v1/traces',
        jsonTrace(first, [{ spanId: hex(8), name: 'kept' }]),
      )
      expect(ok.statusCode).toBe(200)
      const many = jsonTrace(
        hex(16),
        Array.from({ length: 20 }, (_, i) => ({ spanId: hex(8), name: `s${i}` })),
      )
      const full = await tiny.postJson('/v1/traces', many)
      expect(full.statusCode).toBe(503)
      expect(full.headers['retry-after']).toBe('2')
      await tiny.flush()
      const got = await tiny.api.inject({ url: `/api/traces/${first}` })
      expect(got.json().spans.map((s: { name: string }) => s.name)).toEqual(['kept'])
      // Neither the stored rows nor the refused ones are left to be stored again: their
      // files are kept under names recovery deletes, for reuse, until shutdown.
      const spooled = spoolDir(tiny.config.dataDir)
      const pending = () => readdirSync(spooled).filter((name) => parseSpoolName(name))
      await vi.waitFor(() => expect(pending()).toEqual([]))
    } finally {
      await tiny.close()
    }
    // Shut down, it deletes the files it kept.
    expect(readdirSync(spoolDir(tiny.config.dataDir))).toEqual([])
  })

  it('answers 503 when it cannot write rows to its disk, and keeps none of them', async () => {
    // The spool directory gone stands for a disk that refuses writes (root ignores modes).
    const spooled = spoolDir(t.config.dataDir)
    const aside = `${spooled}-aside-${hex(4)}`
    const traceId = hex(16)
    const body = jsonTrace(traceId, [{ spanId: hex(8), name: 'lost' }])
    const event = [{ type: 'order.created', system: 'shop', entity: 'order', key: traceId }]
    renameSync(spooled, aside)
    try {
      for (const [url, payload] of [
        ['/v1/traces', body],
        ['/v1/events', event],
      ] as const) {
        const res = await t.postJson(url, payload)
        expect(res.statusCode, url).toBe(503)
        expect(res.headers['retry-after']).toBe('2')
        expect(res.json().message).toMatch(/cannot write to its disk/)
      }
    } finally {
      renameSync(aside, spooled)
    }
    await t.flush()
    expect((await t.api.inject({ url: `/api/traces/${traceId}` })).statusCode).toBe(404)
    // The sender's retry, once the disk takes writes again, is stored.
    const retry = await t.postJson('/v1/traces', body)
    expect(retry.statusCode).toBe(200)
    await t.flush()
    expect((await t.api.inject({ url: `/api/traces/${traceId}` })).json().spans).toHaveLength(1)
  })
})
