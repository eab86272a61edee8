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

describe('GET /api/traces summaries', () => {
  interface Summary {
    traceId: string
    rootService: string
    rootOperation: string
    rootMissing: boolean
    spanCount: number
    services: string[]
  }
  const summary = async (traceId: string): Promise<Summary | undefined> => {
    const res = await search('service=payment')
    expect(res.statusCode).toBe(200)
    return res.json<{ traces: Summary[] }>().traces.find((x) => x.traceId === traceId)
  }

  it('name the earliest span while the root has not arrived, and say so; the root once it has', async () => {
    const traceId = hex(16)
    const [root, charge] = [hex(8), hex(8)]
    // The payment service's spans arrive first; their parent, the checkout's root, later.
    const payment = jsonTrace(traceId, [
      { spanId: charge, parent: root, name: 'charge card', service: 'payment' },
      { spanId: hex(8), parent: charge, name: 'ledger write' },
      { spanId: hex(8), parent: charge, name: 'audit' },
    ])
    expect((await t.postJson('/v1/traces', payment)).statusCode).toBe(200)
    const fraud = jsonTrace(traceId, [
      { spanId: hex(8), parent: charge, name: 'score', service: 'fraud' },
    ])
    // A second after the charge began, whatever the clock read between the two requests.
    const score = fraud.resourceSpans[0]!.scopeSpans[0]!.spans[0]!
    const later = (n: string) => (BigInt(n) + 1_000_000_000n).toString()
    score.startTimeUnixNano = later(
      payment.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.startTimeUnixNano,
    )
    score.endTimeUnixNano = later(score.startTimeUnixNano)
    expect((await t.postJson('/v1/traces', fraud)).statusCode).toBe(200)
    await t.flush()
    expect(await summary(traceId)).toMatchObject({
      rootService: 'payment',
      rootOperation: 'charge card',
      rootMissing: true,
      spanCount: 4,
      services: ['fraud', 'payment'],
    })

    const checkout = jsonTrace(traceId, [
      { spanId: root, name: 'POST /checkout', service: 'checkout' },
    ])
    expect((await t.postJson('/v1/traces', checkout)).statusCode).toBe(200)
    await t.flush()
    expect(await summary(traceId)).toMatchObject({
      rootService: 'checkout',
      rootOperation: 'POST /checkout',
      rootMissing: false,
      spanCount: 5,
    })
  })
})
