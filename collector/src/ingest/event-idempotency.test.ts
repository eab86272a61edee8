import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testApps, type TestApps } from '../testing/apps.js'
import { hex, nanosAgo } from '../testing/harness.js'
import { protobufLogs } from '../testing/otlp.js'

let t: TestApps
beforeAll(async () => {
  t = await testApps()
})
afterAll(() => t.close())

const kv = (key: string, value: string) => ({ key, value: { stringValue: value } })

/** One payment event as an OTel logs exporter sends it. */
function paymentLog(key: string, flowId: string, extra: { key: string; value: object }[] = []) {
  return protobufLogs({
    resourceLogs: [
      {
        resource: { attributes: [kv('service.name', 'payment')] },
        scopeLogs: [
          {
            logRecords: [
              {
                timeUnixNano: nanosAgo(10_000).toString(),
                observedTimeUnixNano: nanosAgo(9_000).toString(),
                eventName: 'payment.captured',
                attributes: [
                  kv('reckon.entity', 'payment'),
                  kv('reckon.entity.key', key),
                  kv('reckon.flow.id', flowId),
                  kv('reckon.amount', '25.00'),
                  kv('reckon.currency', 'EUR'),
                  ...extra,
                ],
              },
            ],
          },
        ],
      },
    ],
  })
}

async function events(query: string) {
  await t.flush()
  const res = await t.api.inject({ url: `/api/events?${query}` })
  expect(res.statusCode, res.body).toBe(200)
  return res.json().events as { id: string; key: string; amount: string }[]
}

describe('business events are idempotent', () => {
  it('reads the same OTLP log payload, sent twice, as one event, in events and in its flow', async () => {
    const [key, flowId] = [`PAY-${hex(4)}`, `flow-${hex(4)}`]
    const body = paymentLog(key, flowId)
    for (let i = 0; i < 2; i++)
      expect((await t.postProtobuf('/v1/logs', body)).statusCode).toBe(200)
    const found = await events(`entity=payment&key=${key}`)
    expect(found).toHaveLength(1)
    const flow = await t.api.inject({ url: `/api/flows/${flowId}` })
    expect(flow.json().events).toHaveLength(1)
    expect(flow.json().events[0].id).toBe(found[0]!.id)
  })

  it('takes the ID the SDK sets (reckon.event.id), and keeps equal events with different IDs apart', async () => {
    const [key, flowId] = [`PAY-${hex(4)}`, `flow-${hex(4)}`]
    const withId = (id: string) =>
      paymentLog(key, flowId, [{ key: 'reckon.event.id', value: { stringValue: id } }])
    for (const id of ['evt-1', 'evt-2', 'evt-1']) {
      expect((await t.postProtobuf('/v1/logs', withId(id))).statusCode).toBe(200)
    }
    const found = await events(`entity=payment&key=${key}`)
    expect(found.map((e) => e.id).sort()).toEqual(['evt-1', 'evt-2'])
  })

  it('refuses an event ID that is not a string', async () => {
    const json = await t.postJson('/v1/logs', {
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                {
                  timeUnixNano: nanosAgo(1000).toString(),
                  eventName: 'payment.captured',
                  attributes: [
                    kv('reckon.entity', 'payment'),
                    kv('reckon.entity.key', 'K'),
                    { key: 'reckon.event.id', value: { intValue: '5' } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    })
    expect(json.json().partialSuccess).toMatchObject({
      rejectedLogRecords: 1,
      errorMessage: expect.stringMatching(/reckon.event.id must be a string attribute/),
    })
  })

  it('reads the same /v1/events row, posted twice, once; with an ID, rows of equal content twice', async () => {
    const key = `ORD-${hex(4)}`
    const row = {
      type: 'order.created',
      system: 'shop',
      entity: 'order',
      key,
      amount: '9.90',
      currency: 'EUR',
    }
    // Without a timestamp: the row gets its arrival time, which differs between the copies.
    for (let i = 0; i < 2; i++)
      expect((await t.postJson('/v1/events', [row])).json().accepted).toBe(1)
    const timed = {
      ...row,
      type: 'order.paid',
      timestamp: new Date(Date.now() - 1000).toISOString(),
    }
    for (let i = 0; i < 2; i++)
      expect((await t.postJson('/v1/events', [timed])).json().accepted).toBe(1)
    const distinct = [
      { ...row, type: 'order.viewed', id: 'view-1' },
      { ...row, type: 'order.viewed', id: 'view-2' },
    ]
    expect((await t.postJson('/v1/events', distinct)).json().accepted).toBe(2)
    expect((await t.postJson('/v1/events', distinct)).json().accepted).toBe(2)
    const found = await events(`entity=order&key=${key}`)
    expect(found.map((e) => (e as unknown as { type: string }).type).sort()).toEqual([
      'order.created',
      'order.paid',
      'order.viewed',
      'order.viewed',
    ])
    expect(
      found
        .filter((e) => e.id.startsWith('view-'))
        .map((e) => e.id)
        .sort(),
    ).toEqual(['view-1', 'view-2'])
  })

  it('lists the events asked for even when copies of one outnumber them', async () => {
    const key = `ORD-${hex(4)}`
    const start = Date.now() - 10_000
    const row = (type: string, second: number) => ({
      type,
      system: 'shop',
      entity: 'order',
      key,
      timestamp: new Date(start + second * 1000).toISOString(),
    })
    const copies = Array.from({ length: 6 }, () => row('order.created', 0))
    expect(
      (await t.postJson('/v1/events', [...copies, row('order.paid', 1)])).json().accepted,
    ).toBe(7)
    const found = await events(`entity=order&key=${key}&limit=2`)
    expect(found.map((e) => (e as unknown as { type: string }).type)).toEqual([
      'order.created',
      'order.paid',
    ])
  })

  it('counts an ID once within its system only: the same ID from two systems is two events', async () => {
    const key = `ORD-${hex(4)}`
    const row = (system: string) => ({
      type: 'order.synced',
      system,
      entity: 'order',
      key,
      id: '1',
    })
    expect((await t.postJson('/v1/events', [row('erp'), row('shop')])).json().accepted).toBe(2)
    expect(await events(`entity=order&key=${key}`)).toHaveLength(2)
  })

  it('counts copies stored before events had IDs once, and reads their amounts', async () => {
    const key = `OLD-${hex(4)}`
    // Rows as an earlier version wrote them (and a spool file left by one replays them):
    // no event_id, amount_text or type maps.
    const old = {
      timestamp: nanosAgo(20_000).toString().padStart(19, '0'),
      observed_timestamp: nanosAgo(20_000).toString().padStart(19, '0'),
      event_name: 'order.created',
      flow_id: '',
      system: 'shop',
      entity: 'order',
      entity_key: key,
      status: '',
      amount: '3.50',
      currency: 'EUR',
      service_name: 'shop',
      trace_id: '',
      span_id: '',
      attributes: { n: '3' },
      resource_attributes: {},
    }
    const noMoney = { ...old, event_name: 'order.viewed', amount: null, currency: '' }
    await t.context.storage.client.insert({
      table: `${t.context.storage.database}.business_events`,
      values: [old, old, noMoney],
      format: 'JSONEachRow',
    })
    const found = await events(`entity=order&key=${key}`)
    expect(found.map((e) => [e.amount, e.id.length])).toEqual([
      ['3.5', 32],
      [null, 32],
    ])
  })
})
