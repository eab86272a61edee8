// What each receiver is owed, from what it was last told: triggers once, Alertmanager's
// resends, repeats for receivers that do not dedupe, silences, and resolves that follow
// the trigger wherever it went.
import { describe, expect, it } from 'vitest'
import type { ReceiverConfig, RouteConfig } from './config.js'
import { plan, RESOLVE_RESEND_MS, toldKey, type Told } from './notify.js'
import { Router } from './routing.js'
import { fingerprint, type AlertInstance } from './state.js'

const labels = { alertname: 'breaker-open', severity: 'critical', breaker: 'payment' }
const FP = fingerprint(labels)
const T = 1_000_000_000_000

function alert(state: AlertInstance['state'], resolvedAtMs: number | null = null): AlertInstance {
  return {
    fingerprint: FP,
    rule: 'breaker-open',
    labels,
    annotations: {},
    links: [],
    state,
    value: 1,
    display: 'OPEN',
    activeAtMs: T,
    firedAtMs: T,
    lastSeenAtMs: T,
    resolvedAtMs,
    evaluatedAtMs: T,
  }
}

const RECEIVERS: ReceiverConfig[] = [
  { name: 'am', alertmanager: { url: 'http://am' } },
  { name: 'chat', slack: { url: 'http://chat' } },
]

function owed(
  a: AlertInstance,
  told: Record<string, Told>,
  nowMs: number,
  routes: RouteConfig[] = [],
  silenced: string[] = [],
) {
  const router = new Router({ alerts: { receivers: RECEIVERS, routes, rules: [] } })
  return plan({
    alerts: [a],
    router,
    told: new Map(Object.entries(told).map(([r, t]) => [toldKey(r, FP), t])),
    silenced: new Set(silenced),
    nowMs,
    resendMs: 60_000,
    externalUrl: 'http://ui',
  }).map((p) => `${p.receiver} ${p.event} ${p.reason}`)
}

const toChat: RouteConfig[] = [{ receiver: 'chat', repeatInterval: '1h' }]

describe('plan', () => {
  it('triggers a firing alert once, then re-sends it to Alertmanager every resend interval', () => {
    expect(owed(alert('firing'), {}, T)).toEqual(['am firing trigger'])
    const told = { am: { event: 'firing' as const, atMs: T } }
    expect(owed(alert('firing'), told, T + 59_999)).toEqual([])
    expect(owed(alert('firing'), told, T + 60_000)).toEqual(['am firing resend'])
  })

  it('tells a receiver that does not dedupe again only every repeat interval', () => {
    const told = { chat: { event: 'firing' as const, atMs: T } }
    expect(owed(alert('firing'), told, T + 60_000, toChat)).toEqual([])
    expect(owed(alert('firing'), told, T + 3_600_000, toChat)).toEqual(['chat firing repeat'])
  })

  it('sends no trigger for a silenced alert, but keeps Alertmanager from expiring it', () => {
    expect(owed(alert('firing'), {}, T, toChat, [FP])).toEqual([])
    const told = { am: { event: 'firing' as const, atMs: T } }
    expect(owed(alert('firing'), told, T + 60_000, [], [FP])).toEqual(['am firing resend'])
  })

  it('resolves wherever the trigger went, routed there now or not', () => {
    const told = { chat: { event: 'firing' as const, atMs: T } }
    expect(owed(alert('resolved', T + 1000), told, T + 1000)).toEqual(['chat resolved resolve'])
    expect(owed(alert('resolved', T + 1000), {}, T + 1000)).toEqual([])
  })

  it('re-sends a resolve to Alertmanager for 15 minutes, to others never', () => {
    const told = {
      am: { event: 'resolved' as const, atMs: T + 1000 },
      chat: { event: 'resolved' as const, atMs: T + 1000 },
    }
    expect(owed(alert('resolved', T + 1000), told, T + 61_000)).toEqual(['am resolved resend'])
    expect(owed(alert('resolved', T + 1000), told, T + 1000 + RESOLVE_RESEND_MS)).toEqual([])
  })

  it('owes nothing for a pending alert', () => {
    expect(owed(alert('pending'), {}, T)).toEqual([])
  })
})
