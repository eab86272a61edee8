// The evaluator end to end on the real tables, with a webhook receiver on loopback: one
// trigger however often it is evaluated, a restart that carries on, two evaluators that
// send once, and a resolve that waits out a receiver that is down.
import type { Storage } from '@reckon/collector/storage'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { dropStorage, nanosAgo, testStorage } from '../testing/harness.js'
import { startReceiver, type TestReceiver } from '../testing/receiver.js'
import { insertBreakerState } from '../testing/telemetry.js'
import { Alerts } from './alerts.js'
import type { AlertsConfig } from './config.js'
import { deliveriesOf } from './outbox.js'
import { loadAlerts } from './store.js'

// A database per test: evaluators that share one see each other's evaluations.
let storage: Storage
let hook: TestReceiver
beforeEach(async () => {
  storage = await testStorage()
  hook = await startReceiver()
})
afterEach(async () => {
  await hook.close()
  await dropStorage(storage)
})

let breakerSeq = 0
function breaker() {
  const name = `payment-${++breakerSeq}`
  const at = (state: string) =>
    insertBreakerState(storage, { service: 'order', instance: 'o-1', name, state, at: nanosAgo() })
  return { name, open: () => at('OPEN'), close: () => at('CLOSED') }
}

function config(name: string, receiverUrl: string): AlertsConfig {
  return {
    alerts: {
      defaultRules: false,
      receivers: [{ name: 'hook', webhook: { url: `${receiverUrl}/hook` } }],
      routes: [],
      rules: [
        {
          name: `breaker-${name}`,
          kind: 'breaker_open',
          breaker: { name },
          labels: { severity: 'critical' },
          annotations: { summary: 'Breaker {{labels.breaker}} is {{value}}' },
        },
      ],
    },
  }
}

let holderSeq = 0
const alertsFor = (name: string, url = hook.url) =>
  new Alerts({
    storage,
    config: config(name, url),
    holder: `test-${++holderSeq}`,
    externalUrl: 'http://ui.test',
    backoff: { initialMs: 10, maxMs: 20 },
  })

/** A webhook body, as far as the tests look into it. */
type Body = Record<string, unknown> & { alerts: Record<string, unknown>[] }

const statuses = () => hook.requests.map((r) => (r.json as { status: string }).status)

describe('Alerts', () => {
  it('triggers once, however often it evaluates, and resolves once', async () => {
    const b = breaker()
    const alerts = alertsFor(b.name)
    await b.open()
    const first = await alerts.tick()
    expect(first).toMatchObject({ held: true, evaluated: true, enqueued: 1 })
    expect(first.delivery?.sent).toBe(1)
    await alerts.tick(Date.now() + 15_000)
    await alerts.tick(Date.now() + 30_000)
    expect(statuses()).toEqual(['firing'])
    const body = hook.requests[0]!.json as Body
    expect(body).toMatchObject({
      version: '1',
      receiver: 'hook',
      status: 'firing',
      groupLabels: { alertname: `breaker-${b.name}` },
      commonLabels: {
        alertname: `breaker-${b.name}`,
        service: 'order',
        instance: 'o-1',
        breaker: b.name,
        severity: 'critical',
      },
    })
    expect(body.alerts[0]).toMatchObject({
      status: 'firing',
      annotations: { summary: `Breaker ${b.name} is OPEN` },
      generatorURL: `http://ui.test/breakers?service=order&name=${b.name}&instance=o-1`,
      endsAt: null,
    })

    await b.close()
    await alerts.tick(Date.now() + 45_000)
    await alerts.tick(Date.now() + 60_000)
    expect(statuses()).toEqual(['firing', 'resolved'])
    const resolved = hook.requests[1]!.json as Body
    expect(resolved.alerts[0]!.endsAt).toMatch(/Z$/)
  })

  it('carries on after a restart: no new trigger, and the resolve is still sent', async () => {
    const b = breaker()
    await b.open()
    const before = alertsFor(b.name)
    await before.tick()
    expect(statuses()).toEqual(['firing'])
    await before.stop()

    const after = alertsFor(b.name)
    await after.tick(Date.now() + 15_000)
    expect(statuses()).toEqual(['firing'])
    const firing = (await loadAlerts(storage)).filter((a) => a.labels.breaker === b.name)
    expect(firing.map((a) => a.state)).toEqual(['firing'])

    await b.close()
    await after.tick(Date.now() + 30_000)
    expect(statuses()).toEqual(['firing', 'resolved'])
  })

  it('sends once with two evaluators on one server', async () => {
    const b = breaker()
    await b.open()
    const one = alertsFor(b.name)
    const two = alertsFor(b.name)
    const [a, c] = await Promise.all([one.tick(), two.tick()])
    await Promise.all([one.tick(), two.tick()])
    expect([a, c].filter((t) => t.evaluated)).toHaveLength(1)
    expect(statuses()).toEqual(['firing'])
  })

  it('delivers the resolve once a receiver that was down when it cleared is back', async () => {
    const b = breaker()
    await b.open()
    const alerts = alertsFor(b.name)
    await alerts.tick()
    await b.close()
    hook.answers.push({ status: 503 }, { status: 502 })
    const cleared = await alerts.tick(Date.now() + 15_000)
    expect(cleared.delivery).toMatchObject({ sent: 0, retrying: 1 })
    const retried = await alerts.deliverOnce(Date.now() + 16_000)
    expect(retried).toMatchObject({ sent: 0, retrying: 1 })
    const delivered = await alerts.deliverOnce(Date.now() + 17_000)
    expect(delivered).toMatchObject({ sent: 1, retrying: 0 })
    expect(statuses()).toEqual(['firing', 'resolved', 'resolved', 'resolved'])

    const [fp] = (await loadAlerts(storage))
      .filter((a) => a.labels.breaker === b.name)
      .map((a) => a.fingerprint)
    const log = await deliveriesOf(storage, fp!)
    expect(log.map((d) => [d.event, d.state, d.log.map((l) => l.httpStatus)])).toEqual([
      ['resolved', 'sent', [503, 502, 202]],
      ['firing', 'sent', [202]],
    ])
  })
})
