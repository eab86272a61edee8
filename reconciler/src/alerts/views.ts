// Alerts and rules as the API and the UI's Alerts page show them: each alert with its
// value, labels, links, silence and where its notifications stand; each rule with what it
// watches and how its last evaluation went.
import type { Storage } from '@reckon/collector/storage'
import { formatDuration } from '../duration.js'
import type { AlertRule } from './rules.js'
import type { Link } from './sample.js'
import type { AlertState } from './state.js'
import { activeSilences, lastEvaluations, loadAlerts } from './store.js'

export interface DeliveryStatus {
  receiver: string
  event: string
  reason: string
  state: string
  attempts: number
  at: string
  lastError: string
}

export interface AlertView {
  id: string
  rule: string
  state: AlertState
  labels: Record<string, string>
  annotations: Record<string, string>
  value: number
  display: string
  activeAt: string
  firedAt: string | null
  resolvedAt: string | null
  evaluatedAt: string
  links: Link[]
  silence: { until: string; by: string; reason: string } | null
  /** The newest notification to each receiver. */
  deliveries: DeliveryStatus[]
}

const iso = (ms: number): string => new Date(ms).toISOString()
const ORDER: Record<AlertState, number> = {
  error: 0,
  firing: 1,
  nodata: 2,
  pending: 3,
  resolved: 4,
}

async function latestDeliveries(
  storage: Storage,
  fingerprints: string[],
): Promise<Map<string, DeliveryStatus[]>> {
  const out = new Map<string, DeliveryStatus[]>()
  if (fingerprints.length === 0) return out
  const rs = await storage.client.query({
    query: `SELECT fingerprint, receiver, argMax(event, (created_at, id)) AS ev,
        argMax(reason, (created_at, id)) AS why, argMax(state, (created_at, id)) AS st,
        argMax(attempts, (created_at, id)) AS tries,
        toString(argMax(updated_at, (created_at, id))) AS changed,
        argMax(last_error, (created_at, id)) AS err
      FROM ${storage.database}.alert_notifications FINAL
      WHERE fingerprint IN {fps:Array(String)} AND state != 'superseded'
      GROUP BY fingerprint, receiver ORDER BY fingerprint, receiver`,
    query_params: { fps: fingerprints },
    format: 'JSONEachRow',
  })
  const rows = await rs.json<{
    fingerprint: string
    receiver: string
    ev: string
    why: string
    st: string
    tries: number
    changed: string
    err: string
  }>()
  for (const r of rows) {
    const list = out.get(r.fingerprint) ?? []
    list.push({
      receiver: r.receiver,
      event: r.ev,
      reason: r.why,
      state: r.st,
      attempts: Number(r.tries),
      at: `${r.changed.replace(' ', 'T')}Z`,
      lastError: r.err,
    })
    out.set(r.fingerprint, list)
  }
  return out
}

/** Every alert (firing, pending, recently resolved…), the most urgent first. */
export async function listAlerts(
  storage: Storage,
  filter: { state?: AlertState; rule?: string } = {},
): Promise<AlertView[]> {
  const nowMs = Date.now()
  const alerts = (await loadAlerts(storage)).filter(
    (a) => (!filter.state || a.state === filter.state) && (!filter.rule || a.rule === filter.rule),
  )
  const [silences, deliveries] = await Promise.all([
    activeSilences(storage, nowMs),
    latestDeliveries(
      storage,
      alerts.map((a) => a.fingerprint),
    ),
  ])
  return alerts
    .sort(
      (a, b) =>
        ORDER[a.state] - ORDER[b.state] ||
        (b.firedAtMs ?? b.activeAtMs) - (a.firedAtMs ?? a.activeAtMs) ||
        a.fingerprint.localeCompare(b.fingerprint),
    )
    .map((a) => {
      const s = silences.get(a.fingerprint)
      return {
        id: a.fingerprint,
        rule: a.rule,
        state: a.state,
        labels: a.labels,
        annotations: a.annotations,
        value: a.value,
        display: a.display,
        activeAt: iso(a.activeAtMs),
        firedAt: a.firedAtMs === null ? null : iso(a.firedAtMs),
        resolvedAt: a.resolvedAtMs === null ? null : iso(a.resolvedAtMs),
        evaluatedAt: iso(a.evaluatedAtMs),
        links: a.links,
        silence: s ? { until: iso(s.untilMs), by: s.by, reason: s.reason } : null,
        deliveries: deliveries.get(a.fingerprint) ?? [],
      }
    })
}

export interface AlertRuleView {
  name: string
  kind: string
  enabled: boolean
  default: boolean
  for: string
  keepFiringFor: string
  labels: Record<string, string>
  annotations: Record<string, string>
  /** What the kind watches and its threshold, as reckon.yaml would write them. */
  params: Record<string, unknown>
  lastEvaluation: {
    at: string
    ok: boolean
    error: string
    judged: number
    active: number
    durationMs: number
  } | null
}

function params(r: AlertRule): Record<string, unknown> {
  const d = (ms: number) => formatDuration(ms)
  const defined = (o: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))
  switch (r.kind) {
    case 'error_rate':
      return defined({
        service: r.service,
        operation: r.operation,
        by: r.by,
        window: d(r.windowMs),
        minCalls: r.minCalls,
        above: r.above ?? 0.05,
      })
    case 'latency':
      return defined({
        service: r.service,
        operation: r.operation,
        by: r.by,
        window: d(r.windowMs),
        minCalls: r.minCalls,
        quantile: r.quantile,
        above: r.above ?? 1000,
      })
    case 'breaker_open':
      return defined({ breaker: r.breaker, window: d(r.windowMs) })
    case 'heartbeat_missing':
      return defined({ service: r.service, silentFor: d(r.silentForMs), lookback: d(r.lookbackMs) })
    case 'reconcile_breaks':
      return defined({
        rule: r.rule,
        category: r.category,
        above: r.above ?? 0,
        amountAbove: Object.keys(r.amountAbove).length > 0 ? r.amountAbove : undefined,
      })
    case 'compensation_escalated':
      return defined({ rule: r.rule, category: r.category, above: r.above ?? 0 })
    case 'query':
      return defined({ query: r.query, window: d(r.windowMs), above: r.above, below: r.below })
  }
}

export async function listRules(
  storage: Storage,
  rules: readonly AlertRule[],
): Promise<AlertRuleView[]> {
  const last = await lastEvaluations(storage)
  return rules.map((r) => {
    const e = last.get(r.name)
    return {
      name: r.name,
      kind: r.kind,
      enabled: r.enabled,
      default: r.isDefault,
      for: formatDuration(r.forMs),
      keepFiringFor: formatDuration(r.keepFiringForMs),
      labels: r.labels,
      annotations: r.annotations,
      params: params(r),
      lastEvaluation: e
        ? {
            at: iso(e.atMs),
            ok: e.ok,
            error: e.error,
            judged: e.judged,
            active: e.active,
            durationMs: e.durationMs,
          }
        : null,
    }
  })
}
