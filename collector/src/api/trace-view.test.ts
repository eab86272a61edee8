import { describe, expect, it } from 'vitest'
import { testApps } from '../testing/apps.js'
import { hex } from '../testing/harness.js'
import { jsonTrace } from '../testing/otlp.js'

describe('GET /api/traces/:traceId', () => {
  it('shows a span an exporter sent twice once, and says when a trace has more spans than shown', async () => {
    const capped = await testApps({ query: { maxSpansPerTrace: 3 } })
    try {
      const send = (body: unknown) => capped.postJson('/v1/traces', body)
      const [small, large] = [hex(16), hex(16)]
      const twice = jsonTrace(small, [
        { spanId: hex(8), name: 'first' },
        { spanId: hex(8), name: 'second' },
      ])
      // The retry of a request whose answer was lost.
      for (const body of [twice, twice]) expect((await send(body)).statusCode).toBe(200)
      const names = Array.from({ length: 5 }, (_, i) => ({ spanId: hex(8), name: `s${i}` }))
      expect((await send(jsonTrace(large, names))).statusCode).toBe(200)
      await capped.flush()

      const got = await capped.api.inject({ url: `/api/traces/${small}` })
      expect(got.headers['content-type']).toBe('application/json; charset=utf-8')
      expect(got.json()).toMatchObject({ traceId: small, truncated: false })
      expect(got.json().spans.map((s: { name: string }) => s.name)).toEqual(['first', 'second'])
      const cut = (await capped.api.inject({ url: `/api/traces/${large}` })).json()
      expect(cut.truncated).toBe(true)
      // The earliest spans, in start order.
      expect(cut.spans.map((s: { name: string }) => s.name)).toEqual(['s0', 's1', 's2'])
    } finally {
      await capped.close()
    }
  })
})
