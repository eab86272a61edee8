import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testApps, type TestApps } from '../testing/apps.js'

let t: TestApps
beforeAll(async () => {
  t = await testApps()
})
afterAll(() => t.close())

const post = (payload: string, type = 'application/json') =>
  t.ingest.inject({ method: 'POST', url: '/v1/events', payload, headers: { 'content-type': type } })

async function eventsFor(key: string) {
  await t.flush()
  const res = await t.api.inject({ url: `/api/events?entity=order&key=${key}` })
  expect(res.statusCode).toBe(200)
  return res.json().events as {
    type: string
    system: string
    amount: string | null
    timeUnixNano: string
  }[]
}

describe('POST /v1/events', () => {
  it('keeps the good rows and names each bad one by index and field', async () => {
    // An hour ago, to the nanosecond: inside every default time window and the retention.
    const second = Math.floor(Date.now() / 1000) - 3600
    const rows = [
      {
        type: 'order.created',
        system: 'shop',
        entity: 'order',
        key: 'A-1',
        amount: '19.99',
        currency: 'EUR',
        timestamp: new Date(second * 1000).toISOString().replace('.000Z', '.123456789Z'),
      },
      {
        type: 'order.paid',
        system: 'payment',
        entity: 'order',
        key: 'A-1',
        amount: 19.99,
        currency: 'EUR',
      },
      { type: 'order.paid', system: 'payment', entity: 'order', key: 'A-1', amount: '19.99' },
      { type: 'order.shipped', entity: 'order', key: 'A-1' },
      { type: 'order.paid', system: 'payment', entity: 'order', key: 'A-1', colour: 'red' },
    ]
    const res = await post(JSON.stringify(rows))
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({
      accepted: 1,
      rejected: [
        { index: 1, error: expect.stringMatching(/^amount must be string/) },
        { index: 2, error: expect.stringMatching(/currency must be an ISO 4217 code/) },
        { index: 3, error: 'system is required' },
        { index: 4, error: 'unknown field "colour"' },
      ],
    })
    const stored = await eventsFor('A-1')
    expect(stored).toEqual([
      expect.objectContaining({
        type: 'order.created',
        system: 'shop',
        amount: '19.99',
        timeUnixNano: `${second}123456789`,
      }),
    ])
  })

  it('accepts NDJSON and reports a line that is not JSON', async () => {
    const body = [
      JSON.stringify({ type: 'order.created', system: 'shop', entity: 'order', key: 'B-2' }),
      '{not json',
      JSON.stringify({
        type: 'order.paid',
        system: 'payment',
        entity: 'order',
        key: 'B-2',
        amount: '0.10',
        currency: 'USD',
      }),
    ].join('\n')
    const res = await post(body, 'application/x-ndjson')
    expect(res.json()).toEqual({
      accepted: 2,
      rejected: [{ index: 1, error: 'line 2 is not valid JSON' }],
    })
    // Both arrived in the same millisecond: their order is not defined, their content is.
    const stored = (await eventsFor('B-2')).map((e) => [e.type, e.amount]).sort()
    expect(stored).toEqual([
      ['order.created', null],
      ['order.paid', '0.10'],
    ])
  })

  it('reads NDJSON whatever the case of its media type', async () => {
    const line = (type: string) =>
      JSON.stringify({ type, system: 'shop', entity: 'order', key: 'C-3' })
    const body = [line('order.created'), line('order.packed')].join('\n')
    const res = await post(body, 'Application/X-NDJSON; Charset=UTF-8')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ accepted: 2, rejected: [] })
    const stored = (await eventsFor('C-3')).map((e) => e.type).sort()
    expect(stored).toEqual(['order.created', 'order.packed'])
  })

  it('answers 400 when nothing in the body is usable', async () => {
    expect((await post('{"oops": 1}')).statusCode).toBe(400)
    const allBad = await post(JSON.stringify([{ type: 'x' }]))
    expect(allBad.statusCode).toBe(400)
    expect(allBad.json().rejected[0].index).toBe(0)
  })
})
