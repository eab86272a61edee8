// Expensive requests cost the one who sends them: health checks answer meanwhile, searches
// beyond the pool are turned away at once, and a query past its cap is told what to narrow.
import { describe, expect, it } from 'vitest'
import { testApps } from '../testing/apps.js'
import { hex } from '../testing/harness.js'
import { protobufSpans } from '../testing/otlp.js'

/** A search the engine takes seconds to plan: a thousand attr. filters. */
const heavy = (filters: number) =>
  `/api/traces?${Array.from({ length: filters }, (_, i) => `attr.k${i}=v`).join('&')}`
const HEAVY = heavy(1000)

describe('expensive searches', () => {
  it('do not hold up /readyz or /healthz, which answer before any of them is done', async () => {
    const t = await testApps({ query: { maxAttributeFilters: 1000 } })
    try {
      let finished = 0
      const searches = [1, 2, 3].map(() =>
        t.api.inject({ url: HEAVY }).then((r) => {
          finished++
          return r
        }),
      )
      const ready = await t.api.inject({ url: '/readyz' })
      const healthy = await t.api.inject({ url: '/healthz' })
      const ingestHealthy = await t.ingest.inject({ url: '/healthz' })
      expect(finished).toBe(0)
      expect(ready.statusCode).toBe(200)
      expect(ready.json()).toEqual({
        status: 'ready',
        storage: true,
        migrations: true,
        recovering: false,
      })
      expect([healthy.statusCode, ingestHealthy.statusCode]).toEqual([200, 200])
      expect((await Promise.all(searches)).map((s) => s.statusCode)).toEqual([200, 200, 200])
    } finally {
      await t.close()
    }
  }, 60_000)

  it('beyond the pool and its waiting line are answered 503 with Retry-After at once', async () => {
    // One search runs, one waits, the rest are turned away.
    const t = await testApps({ query: { searches: 1, maxAttributeFilters: 1000 } })
    try {
      const answers = await Promise.all([1, 2, 3, 4].map(() => t.api.inject({ url: HEAVY })))
      expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 200, 503, 503])
      const shed = answers.find((a) => a.statusCode === 503)!
      expect(shed.headers['retry-after']).toBe('1')
      expect(shed.json().message).toMatch(/^too many searches in progress/)
      // Trace views have a pool of their own, and so do switches.
      expect((await t.api.inject({ url: `/api/traces/${hex(16)}` })).statusCode).toBe(404)
    } finally {
      await t.close()
    }
  }, 60_000)
})

describe('a query past its cost cap', () => {
  it('is answered 422 naming the cap and what to narrow when it would read too many rows', async () => {
    const t = await testApps({ query: { maxRowsToRead: 1000 } })
    try {
      expect(
        (await t.postProtobuf('/v1/traces', protobufSpans('big', hex(16), 3000))).statusCode,
      ).toBe(200)
      await t.flush()
      for (const url of ['/api/traces?service=big', '/api/services']) {
        const res = await t.api.inject({ url })
        expect(res.statusCode, url).toBe(422)
        expect(res.json()).toEqual({
          statusCode: 422,
          error: 'Unprocessable Entity',
          message:
            'the query would read more than 1000 rows (query.maxRowsToRead): narrow the time window (from/to) or add filters',
        })
      }
    } finally {
      await t.close()
    }
  })

  it('is answered 503 with Retry-After when it runs past query.timeoutSeconds', async () => {
    // Well past the 1 s limit on a fast machine too, where a thousand filters take about 1.5 s.
    const t = await testApps({ query: { timeoutSeconds: 1, maxAttributeFilters: 2000 } })
    try {
      const res = await t.api.inject({ url: heavy(2000) })
      expect(res.statusCode).toBe(503)
      expect(res.headers['retry-after']).toBe('1')
      expect(res.json().message).toBe(
        'the query ran longer than 1 s (query.timeoutSeconds): narrow the time window (from/to) or add filters, or retry when the collector is less busy',
      )
    } finally {
      await t.close()
    }
  })
})
