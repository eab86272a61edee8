// /api/alerts through the query API as `reckon up` serves it, with API keys: the firing
// alert with its links and delivery, its delivery log, the rules with the shipped defaults,
// and a silence recorded under the caller's key (never a body's say-so), audited.
import type { Storage } from '@reckon/collector/storage'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Reconciler } from '../reconciler.js'
import { testApi, type TestApi } from '../testing/api.js'
import { dropStorage, nanosAgo, testStorage } from '../testing/harness.js'
import { startReceiver, type TestReceiver } from '../testing/receiver.js'
import { insertBreakerState } from '../testing/telemetry.js'
import { Alerts } from './alerts.js'
import { alertRoutes } from './routes.js'

let storage: Storage
let apps: TestApi
let alerts: Alerts
let hook: TestReceiver
const tokens = new Map<string, string>()

beforeAll(async () => {
  storage = await testStorage()
  hook = await startReceiver()
  alerts = new Alerts({
    storage,
    externalUrl: 'http://ui.test',
    config: {
      alerts: {
        receivers: [{ name: 'hook', webhook: { url: hook.url } }],
        routes: [],
        rules: [{ name: 'heartbeat-missing', enabled: false }],
      },
    },
  })
  const reconciler = new Reconciler({ storage, config: { reconcile: { sources: {}, rules: [] } } })
  apps = await testApi(
    storage,
    reconciler,
    {},
    { auth: { mode: 'keys', users: [], sessionHours: 1 } },
    [alertRoutes(alerts)],
  )
  for (const role of ['viewer', 'operator', 'admin'] as const) {
    const { token } = await apps.context.auth.keys.create({ name: role, role, by: 'test' })
    tokens.set(role, token)
  }
  await insertBreakerState(storage, {
    service: 'order',
    instance: 'order-1',
    name: 'payment',
    state: 'OPEN',
    at: nanosAgo(),
  })
  // The shipped breaker-open waits a minute: evaluate now and a minute on.
  await alerts.tick()
  await insertBreakerState(storage, {
    service: 'order',
    instance: 'order-1',
    name: 'payment',
    state: 'OPEN',
    at: nanosAgo(-61_000_000_000n),
  })
  await alerts.tick(Date.now() + 61_000)
})
afterAll(async () => {
  await apps.close()
  await hook.close()
  await dropStorage(storage)
})

const as = (role: string) => ({ authorization: `Bearer ${tokens.get(role)}` })

interface AlertBody {
  id: string
  state: string
  labels: Record<string, string>
  silence: { by: string; reason: string; until: string } | null
  deliveries: { receiver: string; event: string; state: string }[]
  links: { href: string }[]
  annotations: Record<string, string>
}

async function firing(): Promise<AlertBody> {
  const res = await apps.api.inject({ url: '/api/alerts?state=firing', headers: as('viewer') })
  expect(res.statusCode).toBe(200)
  const [a] = res.json<{ alerts: AlertBody[] }>().alerts
  return a!
}

describe('GET /api/alerts', () => {
  it('lists the firing alert with its labels, links and delivery status', async () => {
    const a = await firing()
    expect(a).toMatchObject({
      state: 'firing',
      labels: {
        alertname: 'breaker-open',
        service: 'order',
        instance: 'order-1',
        breaker: 'payment',
        severity: 'critical',
      },
      annotations: { summary: 'Breaker payment of order is OPEN' },
      links: [{ href: 'http://ui.test/breakers?service=order&name=payment&instance=order-1' }],
      silence: null,
      deliveries: [{ receiver: 'hook', event: 'firing', state: 'sent' }],
    })
    const log = await apps.api.inject({
      url: `/api/alerts/${a.id}/deliveries`,
      headers: as('viewer'),
    })
    expect(log.json().deliveries[0]).toMatchObject({
      receiver: 'hook',
      event: 'firing',
      reason: 'trigger',
      state: 'sent',
      log: [{ attempt: 1, outcome: 'sent', httpStatus: 202 }],
    })
  })
})

describe('GET /api/alerts/rules', () => {
  it('lists the shipped rules, one turned off, with their last evaluation', async () => {
    const res = await apps.api.inject({ url: '/api/alerts/rules', headers: as('viewer') })
    const rules =
      res.json<{ name: string; enabled: boolean; default: boolean; lastEvaluation: unknown }[]>()
    expect(rules.map((r) => [r.name, r.enabled])).toEqual([
      ['error-rate', true],
      ['latency-p99', true],
      ['breaker-open', true],
      ['heartbeat-missing', false],
      ['reconcile-breaks', true],
      ['compensation-escalated', true],
    ])
    expect(rules.every((r) => r.default)).toBe(true)
    expect(rules.find((r) => r.name === 'breaker-open')).toMatchObject({
      for: '1m',
      params: { window: '1m' },
      lastEvaluation: { ok: true, judged: 1, active: 1 },
    })
    expect(rules.find((r) => r.name === 'heartbeat-missing')!.lastEvaluation).toBeNull()
  })
})

describe('POST /api/alerts/:id/silence', () => {
  it('is an operator’s, recorded under the caller’s key and audited', async () => {
    const { id } = await firing()
    const silence = (role: string, payload: object) =>
      apps.api.inject({
        method: 'POST',
        url: `/api/alerts/${id}/silence`,
        headers: as(role),
        payload,
      })
    expect((await silence('viewer', { for: '1h', reason: 'known' })).statusCode).toBe(403)
    // Who silenced is not the body's to say.
    expect((await silence('operator', { for: '1h', reason: 'x', by: 'someone' })).statusCode).toBe(
      400,
    )
    expect((await silence('operator', { reason: 'no end' })).statusCode).toBe(400)
    expect((await silence('operator', { until: 'now-1h', reason: 'past' })).statusCode).toBe(400)
    const missing = await apps.api.inject({
      method: 'POST',
      url: '/api/alerts/0123456789abcdef/silence',
      headers: as('operator'),
      payload: { for: '1h', reason: 'x' },
    })
    expect(missing.statusCode).toBe(404)

    const res = await silence('operator', { for: '2h', reason: 'payment provider maintenance' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({
      id,
      by: 'key:operator',
      reason: 'payment provider maintenance',
    })
    expect((await firing()).silence).toMatchObject({
      by: 'key:operator',
      reason: 'payment provider maintenance',
    })
    const audit = await apps.api.inject({ url: `/api/audit?target=${id}`, headers: as('admin') })
    expect(
      audit
        .json<{ records: { action: string; identity: string }[] }>()
        .records.map((r) => [r.action, r.identity]),
    ).toEqual([['alert.silence', 'key:operator']])
  })
})
