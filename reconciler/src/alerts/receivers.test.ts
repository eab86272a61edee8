// Each receiver against a local HTTP server that checks what its published API defines,
// the outbox's retries (429 with Retry-After, 5xx, no answer) and refusals (other 4xx),
// and routing by label matchers.
import { createHmac } from 'node:crypto'
import type { Storage } from '@reckon/collector/storage'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { dropStorage, testStorage } from '../testing/harness.js'
import { startReceiver, type TestReceiver } from '../testing/receiver.js'
import type { AlertsConfig, ReceiverConfig, RouteConfig } from './config.js'
import { deliverDue } from './deliver.js'
import { snapshot, type Planned } from './notify.js'
import { deliveriesOf, enqueue } from './outbox.js'
import { Router } from './routing.js'
import { fingerprint, type AlertInstance } from './state.js'

let storage: Storage
let server: TestReceiver
beforeEach(async () => {
  storage = await testStorage()
  server = await startReceiver()
})
afterEach(async () => {
  await server.close()
  await dropStorage(storage)
})

// A whole second of now: the tables expire what is older than their TTLs.
const T0 = Math.floor(Date.now() / 1000) * 1000
const iso = (ms: number) => new Date(ms).toISOString()

function alert(labels: Record<string, string>, state: 'firing' | 'resolved' = 'firing') {
  const all: Record<string, string> = { alertname: 'breaker-open', severity: 'critical', ...labels }
  const a: AlertInstance = {
    fingerprint: fingerprint(all),
    rule: 'breaker-open',
    labels: all,
    annotations: { summary: `Breaker ${all.breaker ?? ''} is OPEN`, runbook_url: 'https://rb/x' },
    links: [{ href: 'http://ui.test/breakers?name=payment', text: 'Breaker timeline' }],
    state,
    value: 1,
    display: 'OPEN',
    activeAtMs: T0,
    firedAtMs: T0,
    lastSeenAtMs: T0,
    resolvedAtMs: state === 'resolved' ? T0 + 60_000 : null,
    evaluatedAtMs: T0,
  }
  return a
}

function routerOf(receivers: ReceiverConfig[], routes: RouteConfig[] = []): Router {
  const config: AlertsConfig = { alerts: { receivers, routes, rules: [] } }
  return new Router(config)
}

async function owe(receiver: string, a: AlertInstance, nowMs = T0): Promise<void> {
  const p: Planned = {
    receiver,
    fingerprint: a.fingerprint,
    event: a.state === 'resolved' ? 'resolved' : 'firing',
    reason: a.state === 'resolved' ? 'resolve' : 'trigger',
    alert: snapshot(a, 'http://ui.test'),
  }
  await enqueue(storage, [p], nowMs)
}

const deliver = (router: Router, nowMs: number) =>
  deliverDue(storage, router, {
    nowMs,
    firingValidMs: 240_000,
    externalUrl: 'http://ui.test',
    timeoutMs: 2000,
    backoff: { initialMs: 1000, maxMs: 1000 },
  })

describe('PagerDuty Events API v2', () => {
  const pd = (url: string): ReceiverConfig => ({
    name: 'pager',
    pagerduty: { url, routingKey: 'R0UT1NGK3Y' },
  })

  it('triggers with the fingerprint as dedup_key and resolves the same key', async () => {
    const router = routerOf([pd(server.url)])
    const firing = alert({ service: 'order', instance: 'order-1', breaker: 'payment' })
    await owe('pager', firing)
    expect(await deliver(router, T0)).toMatchObject({ sent: 1 })
    const [trigger] = server.requests
    expect(trigger!.path).toBe('/v2/enqueue')
    expect(trigger!.headers['content-type']).toBe('application/json')
    expect(trigger!.json).toEqual({
      routing_key: 'R0UT1NGK3Y',
      event_action: 'trigger',
      dedup_key: firing.fingerprint,
      payload: {
        summary: 'Breaker payment is OPEN',
        source: 'order-1',
        severity: 'critical',
        timestamp: iso(T0),
        component: 'order',
        class: 'breaker-open',
        custom_details: {
          value: 'OPEN',
          labels: firing.labels,
          annotations: firing.annotations,
        },
      },
      links: [{ href: 'http://ui.test/breakers?name=payment', text: 'Breaker timeline' }],
      client: 'Reckon',
      client_url: `http://ui.test/alerts?alert=${firing.fingerprint}`,
    })

    await owe('pager', { ...firing, state: 'resolved', resolvedAtMs: T0 + 60_000 }, T0 + 60_000)
    expect(await deliver(router, T0 + 60_000)).toMatchObject({ sent: 1 })
    expect(server.requests[1]!.json).toEqual({
      routing_key: 'R0UT1NGK3Y',
      event_action: 'resolve',
      dedup_key: firing.fingerprint,
    })
  })

  it('waits out a 429 for its Retry-After, then sends; the log keeps both attempts', async () => {
    const router = routerOf([pd(server.url)])
    const firing = alert({ service: 'order', breaker: 'payment' })
    await owe('pager', firing)
    server.answers.push({
      status: 429,
      headers: { 'retry-after': '30' },
      body: '{"status":"throttled"}',
    })
    const first = await deliver(router, T0)
    expect(first).toMatchObject({ sent: 0, retrying: 1, nextDueMs: T0 + 30_000 })
    expect(await deliver(router, T0 + 29_999)).toMatchObject({ sent: 0, retrying: 0 })
    expect(server.requests).toHaveLength(1)
    expect(await deliver(router, T0 + 30_000)).toMatchObject({ sent: 1 })
    expect(server.requests).toHaveLength(2)
    const [d] = await deliveriesOf(storage, firing.fingerprint)
    expect(d).toMatchObject({ state: 'sent', attempts: 2 })
    expect(d!.log.map((l) => [l.outcome, l.httpStatus])).toEqual([
      ['retry', 429],
      ['sent', 202],
    ])
    expect(d!.log[0]!.error).toBe('429 Too Many Requests: {"status":"throttled"}')
  })

  it('retries a 5xx and no answer with backoff, never another 4xx', async () => {
    const gone = await startReceiver()
    await gone.close()
    const down = routerOf([pd(gone.url)])
    await owe('pager', alert({ breaker: 'a' }))
    const refused = await deliver(down, T0)
    expect(refused.retrying).toBe(1)
    // Half the step fixed, half random.
    expect(refused.nextDueMs).toBeGreaterThanOrEqual(T0 + 500)
    expect(refused.nextDueMs).toBeLessThanOrEqual(T0 + 1000)

    const router = routerOf([pd(server.url)])
    server.answers.push(
      { status: 503 },
      { status: 400, body: '{"message":"Event object is invalid"}' },
    )
    expect(await deliver(router, T0 + 1000)).toMatchObject({ retrying: 1 })
    expect(await deliver(router, T0 + 2000)).toMatchObject({ failed: 1, retrying: 0 })
    expect(await deliver(router, T0 + 60_000)).toMatchObject({ sent: 0, retrying: 0 })
    expect(server.requests.map((r) => r.path)).toEqual(['/v2/enqueue', '/v2/enqueue'])
    const [d] = await deliveriesOf(storage, alert({ breaker: 'a' }).fingerprint)
    expect(d!.state).toBe('failed')
    expect(d!.log.map((l) => l.httpStatus)).toEqual([null, 503, 400])
    expect(d!.log[0]!.error).toMatch(/ECONNREFUSED/)
  })
})

describe('Slack incoming webhook', () => {
  it('sends one message per group, with a fallback text and links', async () => {
    const router = routerOf([{ name: 'chat', slack: { url: `${server.url}/services/T/B/X` } }])
    await owe('chat', alert({ service: 'order', breaker: 'payment' }))
    await owe('chat', alert({ service: 'order', breaker: 'stock' }))
    expect(await deliver(router, T0)).toMatchObject({ sent: 2 })
    expect(server.requests).toHaveLength(1)
    const [msg] = server.requests
    expect(msg!.path).toBe('/services/T/B/X')
    const body = msg!.json as { text: string; blocks: { type: string; text: { text: string } }[] }
    expect(body.text).toBe(
      '[FIRING:2] breaker-open\nBreaker payment is OPEN\nBreaker stock is OPEN',
    )
    expect(body.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: '[FIRING:2] breaker-open' },
    })
    expect(body.blocks[1]!.text.text).toBe(
      ':red_circle: *Breaker payment is OPEN*\n<http://ui.test/breakers?name=payment|Breaker timeline> · <https://rb/x|Runbook>',
    )
  })
})

describe('generic webhook', () => {
  it('signs the body with HMAC-SHA256 over timestamp.body', async () => {
    const router = routerOf([
      {
        name: 'hook',
        webhook: { url: `${server.url}/in`, secret: 's3cret', headers: { 'x-team': 'pay' } },
      },
    ])
    const a = alert({ service: 'order', breaker: 'payment' })
    await owe('hook', a)
    await deliver(router, T0)
    const [req] = server.requests
    const ts = req!.headers['x-reckon-timestamp'] as string
    expect(ts).toBe(String(T0 / 1000))
    const expected = createHmac('sha256', 's3cret').update(`${ts}.${req!.body}`).digest('hex')
    expect(req!.headers['x-reckon-signature']).toBe(`sha256=${expected}`)
    expect(req!.headers['x-team']).toBe('pay')
    expect(req!.json).toMatchObject({
      version: '1',
      receiver: 'hook',
      status: 'firing',
      groupLabels: { alertname: 'breaker-open' },
      commonLabels: a.labels,
      alerts: [
        {
          status: 'firing',
          fingerprint: a.fingerprint,
          startsAt: iso(T0),
          endsAt: null,
          value: 1,
          display: 'OPEN',
        },
      ],
    })
  })

  it('sends no resolve to a receiver its trigger never reached', async () => {
    const router = routerOf([{ name: 'hook', webhook: { url: server.url } }])
    const a = alert({ breaker: 'p' })
    await owe('hook', a)
    await owe('hook', { ...a, state: 'resolved', resolvedAtMs: T0 }, T0 + 1)
    expect(await deliver(router, T0 + 1)).toMatchObject({ sent: 0, superseded: 2 })
    expect(server.requests).toEqual([])
  })
})

describe('Alertmanager API v2', () => {
  it('posts the due alerts as one array; endsAt ahead while firing, the end once resolved', async () => {
    const router = routerOf([{ name: 'am', alertmanager: { url: `${server.url}/` } }])
    const firing = alert({ breaker: 'a' })
    const resolved = alert({ breaker: 'b' }, 'resolved')
    await owe('am', firing)
    await owe('am', resolved)
    expect(await deliver(router, T0 + 5000)).toMatchObject({ sent: 2 })
    expect(server.requests.map((r) => r.path)).toEqual(['/api/v2/alerts'])
    const posted = server.requests[0]!.json as { labels: { breaker: string } }[]
    posted.sort((x, y) => x.labels.breaker.localeCompare(y.labels.breaker))
    expect(posted).toEqual([
      {
        labels: firing.labels,
        annotations: firing.annotations,
        startsAt: iso(T0),
        endsAt: new Date(T0 + 5000 + 240_000).toISOString(),
        generatorURL: 'http://ui.test/breakers?name=payment',
      },
      {
        labels: resolved.labels,
        annotations: resolved.annotations,
        startsAt: iso(T0),
        endsAt: iso(T0 + 60_000),
        generatorURL: 'http://ui.test/breakers?name=payment',
      },
    ])
  })
})

describe('routes', () => {
  it('takes the first route that matches, else the first receiver', () => {
    const receivers: ReceiverConfig[] = [
      { name: 'chat', slack: { url: 'http://x' } },
      { name: 'pager', pagerduty: { routingKey: 'k' } },
      { name: 'am', alertmanager: { url: 'http://y' } },
    ]
    const router = routerOf(receivers, [
      { receiver: 'pager', match: { severity: 'critical', team: 'payments' } },
      { receiver: 'am', matchRe: { service: 'order|payment' } },
      { receiver: 'chat', match: { severity: 'critical' } },
    ])
    const to = (labels: Record<string, string>) => router.routeOf(labels)?.receiver
    expect(to({ severity: 'critical', team: 'payments', service: 'order' })).toBe('pager')
    expect(to({ severity: 'critical', service: 'payment' })).toBe('am')
    expect(to({ severity: 'critical', service: 'payments' })).toBe('chat')
    expect(to({ severity: 'warning', service: 'stock' })).toBe('chat')
    expect(routerOf([]).routeOf({})).toBeUndefined()
  })
})
