import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nanosAgo } from '../testing/harness.js'
import { testApps, type TestApps } from '../testing/apps.js'

let t: TestApps
beforeAll(async () => {
  t = await testApps()
})
afterAll(() => t.close())

const attr = (key: string, value: string) => ({ key, value: { stringValue: value } })
const resource = (service: string, instance: string) => ({
  attributes: [attr('service.name', service), attr('service.instance.id', instance)],
})

/** OTLP JSON gauges: [metric, value, attributes, msAgo]. */
function gauges(
  service: string,
  instance: string,
  points: [string, number, Record<string, string>, number][],
) {
  return {
    resourceMetrics: [
      {
        resource: resource(service, instance),
        scopeMetrics: [
          {
            metrics: points.map(([name, value, attrs, ago]) => ({
              name,
              gauge: {
                dataPoints: [
                  {
                    timeUnixNano: nanosAgo(ago).toString(),
                    asDouble: value,
                    attributes: Object.entries(attrs).map(([k, v]) => attr(k, v)),
                  },
                ],
              },
            })),
          },
        ],
      },
    ],
  }
}

async function send(path: string, body: unknown) {
  const res = await t.ingest.inject({ method: 'POST', url: path, payload: body as object })
  expect(res.statusCode).toBe(200)
  expect(res.json().partialSuccess ?? {}).toEqual({})
}

describe('GET /api/breakers', () => {
  it('shows a Java service’s Prometheus-named Resilience4j series the same way', async () => {
    const states = ['closed', 'open', 'half_open', 'disabled', 'forced_open', 'metrics_only']
    // An older report says closed, the newer one says open: the newest wins.
    await send(
      '/v1/metrics',
      gauges('billing-java', 'billing-1', [
        ...states.map((s): [string, number, Record<string, string>, number] => [
          'resilience4j_circuitbreaker_state',
          s === 'closed' ? 1 : 0,
          { name: 'ledger', state: s },
          20_000,
        ]),
        ...states.map((s): [string, number, Record<string, string>, number] => [
          'resilience4j_circuitbreaker_state',
          s === 'open' ? 1 : 0,
          { name: 'ledger', state: s },
          1_000,
        ]),
        ['resilience4j_circuitbreaker_failure_rate', 62.5, { name: 'ledger' }, 1_000],
        ['resilience4j_circuitbreaker_slow_call_rate', -1, { name: 'ledger' }, 1_000],
        ['resilience4j_circuitbreaker_not_permitted_calls_total', 7, { name: 'ledger' }, 1_000],
      ]),
    )
    await t.flush()
    const res = await t.api.inject({ url: '/api/breakers?service=billing-java' })
    expect(res.statusCode).toBe(200)
    const [b, ...rest] = res.json().breakers
    expect(rest).toEqual([])
    expect(b).toMatchObject({
      service: 'billing-java',
      instance: 'billing-1',
      name: 'ledger',
      state: 'OPEN',
      failureRate: 62.5,
      slowCallRate: null,
      calls: { notPermitted: 7 },
      lastTransitionUnixNano: null,
    })
    expect(b.metrics['resilience4j_circuitbreaker_state{state="open"}']).toBe(1)
  })

  it('reads the timeline from breaker transition events, filtered by service and name', async () => {
    const at = nanosAgo(5_000).toString()
    const event = (key: string, from: string, to: string, time: string) => ({
      timeUnixNano: time,
      eventName: 'breaker.transition',
      attributes: [
        attr('event.name', 'breaker.transition'),
        attr('reckon.entity', 'circuit_breaker'),
        attr('reckon.entity.key', key),
        attr('reckon.status', to),
        attr('circuitbreaker.state.from', from),
        attr('reckon.cause.trace_id', '5b8efff798038103d269b633813fc60c'),
      ],
    })
    await send('/v1/logs', {
      resourceLogs: [
        {
          resource: resource('order', 'order-1'),
          scopeLogs: [
            {
              logRecords: [
                event('payment', 'CLOSED', 'OPEN', at),
                event('payment', 'OPEN', 'HALF_OPEN', nanosAgo(1_000).toString()),
                event('inventory', 'CLOSED', 'OPEN', at),
              ],
            },
          ],
        },
      ],
    })
    await t.flush()
    const res = await t.api.inject({ url: '/api/breakers/transitions?service=order&name=payment' })
    expect(res.statusCode).toBe(200)
    expect(res.json().transitions).toEqual([
      {
        timeUnixNano: at,
        service: 'order',
        instance: 'order-1',
        breaker: 'payment',
        from: 'CLOSED',
        to: 'OPEN',
        causeTraceId: '5b8efff798038103d269b633813fc60c',
      },
      expect.objectContaining({ from: 'OPEN', to: 'HALF_OPEN' }),
    ])
  })
})

describe('GET /api/health', () => {
  it('marks each instance up, stale or down by the age of its last heartbeat', async () => {
    const beat = (ago: number): [string, number, Record<string, string>, number][] => [
      ['reckon.health.up', 1, {}, ago],
      ['reckon.health.memory.rss', 123_456_789, {}, ago],
      ['reckon.health.eventloop.delay.p99', 12.5, {}, ago],
    ]
    await send('/v1/metrics', gauges('stock', 'stock-up', beat(2_000)))
    await send('/v1/metrics', gauges('stock', 'stock-stale', beat(60_000)))
    await send('/v1/metrics', gauges('stock', 'stock-down', beat(600_000)))
    await t.flush()
    const res = await t.api.inject({ url: '/api/health?service=stock' })
    expect(res.statusCode).toBe(200)
    const instances = res.json().instances as {
      instance: string
      status: string
      figures: Record<string, number | null>
    }[]
    expect(instances.map((i) => [i.instance, i.status])).toEqual([
      ['stock-down', 'down'],
      ['stock-stale', 'stale'],
      ['stock-up', 'up'],
    ])
    expect(instances[2]?.figures).toMatchObject({
      rssBytes: 123_456_789,
      eventLoopDelayP99Ms: 12.5,
      cpuUtilization: null,
    })
  })
})

describe('/api/switches', () => {
  it('records each change and why (by local, auth being off), and serves its latest value', async () => {
    const put = (body: object) =>
      t.api.inject({ method: 'PUT', url: '/api/switches/payment.async-capture', payload: body })
    let res = await put({ on: true, by: 'alice', reason: 'PSP latency', flowPinned: true })
    expect(res.statusCode).toBe(200)
    res = await put({ on: false, reason: 'PSP recovered' })
    expect(res.json()).toMatchObject({ on: false, flowPinned: true, updatedBy: 'local' })

    res = await t.api.inject({ url: '/api/switches' })
    expect(res.json().switches).toEqual([
      expect.objectContaining({ name: 'payment.async-capture', on: false, flowPinned: true }),
    ])
    res = await t.api.inject({ url: '/api/switches/payment.async-capture/history' })
    expect(
      res.json().changes.map((c: { reason: string; on: boolean }) => [c.reason, c.on]),
    ).toEqual([
      ['PSP recovered', false],
      ['PSP latency', true],
    ])
  })

  it('refuses a change without a value or with a bad name, naming the problem', async () => {
    let res = await t.api.inject({ method: 'PUT', url: '/api/switches/x', payload: {} })
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toBe('body: on is required')
    res = await t.api.inject({
      method: 'PUT',
      url: '/api/switches/has%20space',
      payload: { on: true, by: 'alice' },
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toContain('params: name must match pattern')
  })
})
