// The life of one alert (one rule and label set), as Prometheus leads it:
//   inactive → pending (the condition seen; `for` counts from this evaluation)
//            → firing  (seen for `for`; stays firing while seen, and for keepFiringFor
//                       after the last evaluation that saw it, so one good evaluation
//                       of a flapping signal does not resolve it)
//            → resolved (its end is the evaluation that found it clear; kept a while so
//                       its resolve is re-sent and shown as recently resolved)
// A pending alert that clears goes back to inactive: nothing was sent, nothing is owed.
// An evaluation that fails changes none of them (never a silent resolve) and raises an
// `error` alert of the rule's own; one that finds nothing to judge may raise `nodata`.
// Pure: the evaluator persists what this returns.
import { createHash } from 'node:crypto'
import type { Evaluation, Link } from './sample.js'
import type { AlertRule } from './rules.js'
import { renderAll } from './templates.js'

export type AlertState = 'pending' | 'firing' | 'resolved' | 'nodata' | 'error'
export const ALERT_STATES: readonly AlertState[] = [
  'pending',
  'firing',
  'resolved',
  'nodata',
  'error',
]

/** States that are notified as firing. */
export const isActive = (s: AlertState): boolean =>
  s === 'firing' || s === 'nodata' || s === 'error'

export interface AlertInstance {
  fingerprint: string
  rule: string
  /** Every label: the kind's, the rule's, alertname. */
  labels: Record<string, string>
  annotations: Record<string, string>
  links: Link[]
  state: AlertState
  value: number
  display: string
  /** The first evaluation of this occurrence that saw the condition (ms since the epoch). */
  activeAtMs: number
  firedAtMs: number | null
  /** The last evaluation that saw the condition. */
  lastSeenAtMs: number
  resolvedAtMs: number | null
  evaluatedAtMs: number
}

/** What an evaluation says of one label set: its condition holds, with this value. */
export interface Observation {
  labels: Record<string, string>
  annotations: Record<string, string>
  links: Link[]
  value: number
  display: string
}

/** An alert's identity: a hash of its sorted labels (alertname among them). */
export function fingerprint(labels: Record<string, string>): string {
  const h = createHash('sha256')
  for (const k of Object.keys(labels).sort()) h.update(`${k}\0${labels[k]}\0`)
  return h.digest('hex').slice(0, 16)
}

interface Timing {
  forMs: number
  keepFiringForMs: number
}

/** One alert's next state after one evaluation at `nowMs`; undefined = inactive. */
export function advance(
  rule: Timing & { name: string },
  prev: AlertInstance | undefined,
  seen: Observation | undefined,
  nowMs: number,
): AlertInstance | undefined {
  if (seen) {
    const fp = fingerprint(seen.labels)
    const base = {
      fingerprint: fp,
      rule: rule.name,
      ...seen,
      lastSeenAtMs: nowMs,
      evaluatedAtMs: nowMs,
      resolvedAtMs: null,
    }
    if (!prev || prev.state === 'resolved') {
      const fires = rule.forMs === 0
      return {
        ...base,
        state: fires ? 'firing' : 'pending',
        activeAtMs: nowMs,
        firedAtMs: fires ? nowMs : null,
      }
    }
    if (prev.state === 'pending') {
      const fires = nowMs - prev.activeAtMs >= rule.forMs
      return {
        ...base,
        state: fires ? 'firing' : 'pending',
        activeAtMs: prev.activeAtMs,
        firedAtMs: fires ? nowMs : null,
      }
    }
    return {
      ...base,
      state: prev.state,
      activeAtMs: prev.activeAtMs,
      firedAtMs: prev.firedAtMs ?? nowMs,
    }
  }
  if (!prev || prev.state === 'pending') return undefined
  if (prev.state === 'resolved') return prev
  if (nowMs - prev.lastSeenAtMs < rule.keepFiringForMs) return { ...prev, evaluatedAtMs: nowMs }
  return { ...prev, state: 'resolved', resolvedAtMs: nowMs, evaluatedAtMs: nowMs }
}

/** The outcome of one evaluation of a rule. */
export type Outcome = { evaluation: Evaluation } | { error: string }

/** The labels of an alert about the rule itself (its evaluation failing, or no data). */
export function ruleAlertLabels(rule: AlertRule, kind: 'error' | 'nodata'): Record<string, string> {
  return {
    ...rule.labels,
    alertname: kind === 'error' ? 'ReckonRuleFailing' : 'ReckonNoData',
    rule: rule.name,
  }
}

/**
 * Every alert of a rule after one evaluation: `prev` are its alerts before (resolved ones
 * included), the result lists those to keep (resolved ones included).
 */
export function advanceRule(
  rule: AlertRule,
  prev: readonly AlertInstance[],
  outcome: Outcome,
  nowMs: number,
): AlertInstance[] {
  const errorLabels = ruleAlertLabels(rule, 'error')
  const noDataLabels = ruleAlertLabels(rule, 'nodata')
  const errorFp = fingerprint(errorLabels)
  const noDataFp = fingerprint(noDataLabels)
  const byFp = new Map(prev.map((a) => [a.fingerprint, a]))
  const own = prev.filter((a) => a.fingerprint !== errorFp && a.fingerprint !== noDataFp)
  const instant = { name: rule.name, forMs: 0, keepFiringForMs: 0 }
  const out: AlertInstance[] = []
  const push = (a: AlertInstance | undefined) => {
    if (a) out.push(a)
  }

  if ('error' in outcome) {
    // Nothing is known: every alert stays as it was, the failure is an alert of its own.
    out.push(...own)
    const seen =
      rule.onError === 'error'
        ? {
            labels: errorLabels,
            annotations: {
              summary: `Alert rule ${rule.name} cannot be evaluated`,
              description: outcome.error,
            },
            links: [],
            value: 1,
            display: 'error',
          }
        : undefined
    const next = advance(instant, byFp.get(errorFp), seen, nowMs)
    push(next && seen ? { ...next, state: 'error' } : next)
    push(byFp.get(noDataFp))
    return out
  }

  push(advance(instant, byFp.get(errorFp), undefined, nowMs))
  const { samples, judged } = outcome.evaluation
  if (judged === 0 && rule.noData !== 'ok') {
    // Nothing to judge: the alerts stay as they were, "no data" is an alert of its own.
    out.push(...own)
    const seen = {
      labels: noDataLabels,
      annotations: {
        summary: `Alert rule ${rule.name} finds no data`,
        description: `The ${rule.kind} rule ${rule.name} found nothing to evaluate.`,
      },
      links: [],
      value: 0,
      display: 'no data',
    }
    const timing = rule.noData === 'alerting' ? rule : instant
    const next = advance({ ...timing, name: rule.name }, byFp.get(noDataFp), seen, nowMs)
    push(next && rule.noData === 'nodata' ? { ...next, state: 'nodata' } : next)
    return out
  }
  push(advance(instant, byFp.get(noDataFp), undefined, nowMs))

  const observed = new Map<string, Observation>()
  for (const s of samples) {
    const labels = { ...s.labels, ...rule.labels, alertname: rule.name }
    const data = { value: s.display, rule: rule.name, labels }
    observed.set(fingerprint(labels), {
      labels,
      annotations: renderAll(rule.annotations, data),
      links: s.links,
      value: s.value,
      display: s.display,
    })
  }
  for (const a of own) push(advance(rule, a, observed.get(a.fingerprint), nowMs))
  for (const [fp, o] of observed) if (!byFp.has(fp)) push(advance(rule, undefined, o, nowMs))
  return out
}

/** The alerts of a rule that no longer runs (removed or disabled): resolved now. */
export function retire(alerts: readonly AlertInstance[], nowMs: number): AlertInstance[] {
  return alerts
    .filter((a) => a.state !== 'pending')
    .map((a) =>
      a.state === 'resolved'
        ? a
        : { ...a, state: 'resolved', resolvedAtMs: nowMs, evaluatedAtMs: nowMs },
    )
}
