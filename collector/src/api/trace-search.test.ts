import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testApps, type TestApps } from '../testing/apps.js'
import { hex } from '../testing/harness.js'
import { jsonTrace } from '../testing/otlp.js'
import { DEFAULTS } from '../config/index.js'

const MAX_ATTRIBUTE_FILTERS = DEFAULTS.query.maxAttributeFilters
let t: TestApps
const [tagged, untagged] = [hex(16), hex(16)]
beforeAll(async () => {
  t = await testApps()
  const body = jsonTrace(tagged, [{ spanId: hex(8), name: 'tagged' }])
  const span = body.resourceSpans[0]!.scopeSpans[0]!.spans[0]! as Record<string, unknown>
  span.attributes = [{ key: 'tenant', value: { stringValue: 'acme' } }]
  expect((await t.postJson('/v1/traces', body)).statusCode).toBe(200)
  const plain = jsonTrace(untagged, [{ spanId: hex(8), name: 'untagged' }])
  expect((await t.postJson('/v1/traces', plain)).statusCode).toBe(200)
  await t.flush()
})
afterAll(() => t.close())

const search = (query: string) => t.api.inject({ url: `/api/traces?${query}` })
const ids = async (query: string): Promise<string[]> =>
  (await search(query)).json<{ traces: { traceId: string }[] }>().traces.map((x) => x.traceId)

describe('GET /api/traces attr. filters', () => {
  it('match the attribute value, and refuse an empty value instead of matching traces without the key', async () => {
    expect(await ids('attr.tenant=acme')).toEqual([tagged])
    const empty = await search('attr.tenant=')
    expect(empty.statusCode).toBe(400)
    expect(empty.json().message).toBe('querystring: attr.tenant must not be empty')
  })

  it(`take at most ${MAX_ATTRIBUTE_FILTERS} filters and say so beyond`, async () => {
    const filters = (n: number) =>
      ['attr.tenant=acme', ...Array.from({ length: n - 1 }, (_, i) => `attr.k${i}=v`)].join('&')
    // The most filters one search may have all apply: no span has k0…, so nothing matches.
    const most = await search(filters(MAX_ATTRIBUTE_FILTERS))
    expect(most.statusCode).toBe(200)
    expect(most.json()).toEqual({ traces: [] })
    const more = await search(filters(1000))
    expect(more.statusCode).toBe(400)
    expect(more.json().message).toBe(
      `at most ${MAX_ATTRIBUTE_FILTERS} attr. filters in one search (query.maxAttributeFilters), got 1000`,
    )
  })
})
