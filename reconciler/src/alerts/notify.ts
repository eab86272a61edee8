// What each receiver is owed after an evaluation, from what it was last told (the outbox's
// newest notification per receiver and alert, which survives restarts):
// - firing, last told nothing or a resolve: a trigger (once, however often it is evaluated);
// - firing, Alertmanager: re-sent every resend interval, so it neither expires the alert
//   nor waits long to resolve it (as Prometheus does); other receivers, which do not
//   dedupe, are told again only every repeat interval;
// - resolved, last told firing: the resolve — to every receiver told firing, routed there
//   now or not; Alertmanager gets it again every resend interval for 15 minutes;
// - silenced: no trigger or repeat (Alertmanager still gets resends of what it has, so
//   it does not resolve an alert that has not ended).
import type { Link } from './sample.js'
import type { Router } from './routing.js'
import { isActive, type AlertInstance, type AlertState } from './state.js'

export type NotificationEvent = 'firing' | 'resolved'
export type NotificationReason = 'trigger' | 'resend' | 'repeat' | 'resolve'

/** The alert as a notification carries it: what every receiver's payload is built from. */
export interface AlertSnapshot {
  fingerprint: string
  rule: string
  labels: Record<string, string>
  annotations: Record<string, string>
  links: Link[]
  state: AlertState
  value: number
  display: string
  startsAtMs: number
  /** When it stopped firing; null while firing. */
  endsAtMs: number | null
  generatorURL: string
}

export interface Planned {
  receiver: string
  fingerprint: string
  event: NotificationEvent
  reason: NotificationReason
  alert: AlertSnapshot
}

export interface Told {
  event: NotificationEvent
  atMs: number
}

/** How long a resolve is re-sent to Alertmanager. */
export const RESOLVE_RESEND_MS = 15 * 60_000

export const toldKey = (receiver: string, fingerprint: string): string =>
  `${receiver}\0${fingerprint}`

export function snapshot(a: AlertInstance, externalUrl: string): AlertSnapshot {
  return {
    fingerprint: a.fingerprint,
    rule: a.rule,
    labels: a.labels,
    annotations: a.annotations,
    links: a.links,
    state: a.state,
    value: a.value,
    display: a.display,
    startsAtMs: a.activeAtMs,
    endsAtMs: a.state === 'resolved' ? (a.resolvedAtMs ?? a.evaluatedAtMs) : null,
    generatorURL: a.links[0]?.href ?? `${externalUrl}/alerts?alert=${a.fingerprint}`,
  }
}

export interface PlanInput {
  alerts: readonly AlertInstance[]
  router: Router
  /** What each receiver was last told of each alert. */
  told: ReadonlyMap<string, Told>
  silenced: ReadonlySet<string>
  nowMs: number
  resendMs: number
  externalUrl: string
}

export function plan(input: PlanInput): Planned[] {
  const { router, told, nowMs, resendMs } = input
  const out: Planned[] = []
  for (const a of input.alerts) {
    const alert = snapshot(a, input.externalUrl)
    const add = (receiver: string, event: NotificationEvent, reason: NotificationReason) =>
      out.push({ receiver, fingerprint: a.fingerprint, event, reason, alert })
    if (isActive(a.state)) {
      const route = router.routeOf(a.labels)
      if (!route) continue
      const receiver = router.receivers.get(route.receiver)!
      const last = told.get(toldKey(receiver.name, a.fingerprint))
      const silenced = input.silenced.has(a.fingerprint)
      if (!last || last.event === 'resolved') {
        if (!silenced) add(receiver.name, 'firing', 'trigger')
      } else if (receiver.kind === 'alertmanager') {
        if (nowMs - last.atMs >= resendMs) add(receiver.name, 'firing', 'resend')
      } else if (!silenced && nowMs - last.atMs >= route.repeatIntervalMs) {
        add(receiver.name, 'firing', 'repeat')
      }
    } else if (a.state === 'resolved') {
      for (const receiver of router.receivers.values()) {
        const last = told.get(toldKey(receiver.name, a.fingerprint))
        if (!last) continue
        if (last.event === 'firing') add(receiver.name, 'resolved', 'resolve')
        else if (
          receiver.kind === 'alertmanager' &&
          nowMs - (alert.endsAtMs ?? nowMs) < RESOLVE_RESEND_MS &&
          nowMs - last.atMs >= resendMs
        )
          add(receiver.name, 'resolved', 'resend')
      }
    }
  }
  return out
}
