// Alerts as the tables keep them: their states (so a restart, or another evaluator, carries
// on where the last left off), silences, and each rule's evaluations.
import type { Storage } from '@reckon/collector/storage'
import { nanosText, nowNanos, textNanos } from '../nanos.js'
import type { Link } from './sample.js'
import type { AlertInstance, AlertState } from './state.js'

const msText = (ms: number): string => nanosText(BigInt(ms) * 1_000_000n)
const textMs = (t: string): number => Number(textNanos(t) / 1_000_000n)

interface StateRow {
  fingerprint: string
  rule: string
  labels: Record<string, string>
  annotations: Record<string, string>
  links: string
  state: AlertState
  value: number
  display: string
  active_at: string
  fired_at: string | null
  last_seen_at: string
  resolved_at: string | null
  evaluated_at: string
}

function instanceOf(r: StateRow): AlertInstance {
  return {
    fingerprint: r.fingerprint,
    rule: r.rule,
    labels: r.labels,
    annotations: r.annotations,
    links: JSON.parse(r.links) as Link[],
    state: r.state,
    value: Number(r.value),
    display: r.display,
    activeAtMs: textMs(r.active_at),
    firedAtMs: r.fired_at === null ? null : textMs(r.fired_at),
    lastSeenAtMs: textMs(r.last_seen_at),
    resolvedAtMs: r.resolved_at === null ? null : textMs(r.resolved_at),
    evaluatedAtMs: textMs(r.evaluated_at),
  }
}

/** Every alert the tables hold (resolved ones until they are forgotten). */
export async function loadAlerts(storage: Storage): Promise<AlertInstance[]> {
  const rs = await storage.client.query({
    query: `SELECT fingerprint, rule, labels, annotations, links, state, value, display,
        toString(active_at) AS active_at,
        if(fired_at IS NULL, NULL, toString(fired_at)) AS fired_at,
        toString(last_seen_at) AS last_seen_at,
        if(resolved_at IS NULL, NULL, toString(resolved_at)) AS resolved_at,
        toString(evaluated_at) AS evaluated_at
      FROM ${storage.database}.alert_states FINAL WHERE deleted = 0
      ORDER BY rule, fingerprint
      SETTINGS output_format_json_quote_denormals = 1`,
    format: 'JSONEachRow',
  })
  return (await rs.json<StateRow>()).map(instanceOf)
}

/** Writes alerts as they are now, and forgets `forget` (fingerprints). */
export async function saveAlerts(
  storage: Storage,
  alerts: readonly AlertInstance[],
  forget: readonly AlertInstance[] = [],
): Promise<void> {
  if (alerts.length === 0 && forget.length === 0) return
  const version = nowNanos().toString()
  const row = (a: AlertInstance, deleted: number) => ({
    fingerprint: a.fingerprint,
    rule: a.rule,
    labels: a.labels,
    annotations: a.annotations,
    links: JSON.stringify(a.links),
    state: a.state,
    value: Number.isFinite(a.value) ? a.value : 0,
    display: a.display,
    active_at: msText(a.activeAtMs),
    fired_at: a.firedAtMs === null ? null : msText(a.firedAtMs),
    last_seen_at: msText(a.lastSeenAtMs),
    resolved_at: a.resolvedAtMs === null ? null : msText(a.resolvedAtMs),
    evaluated_at: msText(a.evaluatedAtMs),
    deleted,
    version,
  })
  await storage.client.insert({
    table: `${storage.database}.alert_states`,
    format: 'JSONEachRow',
    values: [...alerts.map((a) => row(a, 0)), ...forget.map((a) => row(a, 1))],
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  })
}

export interface Silence {
  untilMs: number
  by: string
  reason: string
  atMs: number
}

export async function addSilence(
  storage: Storage,
  fingerprint: string,
  s: Omit<Silence, 'atMs'>,
): Promise<Silence> {
  const atMs = Date.now()
  await storage.client.insert({
    table: `${storage.database}.alert_silences`,
    format: 'JSONEachRow',
    values: [
      {
        fingerprint,
        until: msText(s.untilMs),
        by: s.by,
        reason: s.reason,
        at: msText(atMs),
      },
    ],
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  })
  return { ...s, atMs }
}

/** Each alert's latest silence that has not ended (a later silence replaces an earlier). */
export async function activeSilences(
  storage: Storage,
  nowMs: number,
): Promise<Map<string, Silence>> {
  const rs = await storage.client.query({
    query: `SELECT fingerprint, toString(argMax(until, at)) AS until_at, argMax(by, at) AS by_whom,
        argMax(reason, at) AS why, toString(max(at)) AS last_at
      FROM ${storage.database}.alert_silences GROUP BY fingerprint
      HAVING argMax(until, at) > fromUnixTimestamp64Milli({now:Int64}, 'UTC')`,
    query_params: { now: nowMs },
    format: 'JSONEachRow',
  })
  const rows = await rs.json<{
    fingerprint: string
    until_at: string
    by_whom: string
    why: string
    last_at: string
  }>()
  return new Map(
    rows.map((r) => [
      r.fingerprint,
      { untilMs: textMs(r.until_at), by: r.by_whom, reason: r.why, atMs: textMs(r.last_at) },
    ]),
  )
}

export interface EvaluationRecord {
  rule: string
  atMs: number
  holder: string
  ok: boolean
  error: string
  judged: number
  active: number
  durationMs: number
}

export async function recordEvaluations(
  storage: Storage,
  records: readonly EvaluationRecord[],
): Promise<void> {
  if (records.length === 0) return
  await storage.client.insert({
    table: `${storage.database}.alert_evaluations`,
    format: 'JSONEachRow',
    values: records.map((r) => ({
      rule: r.rule,
      at: msText(r.atMs),
      holder: r.holder,
      ok: r.ok ? 1 : 0,
      error: r.error,
      judged: r.judged,
      active: r.active,
      duration_ms: Math.round(r.durationMs),
    })),
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  })
}

/** Each rule's latest evaluation. */
export async function lastEvaluations(storage: Storage): Promise<Map<string, EvaluationRecord>> {
  const rs = await storage.client.query({
    query: `SELECT rule, toString(max(at)) AS last_at, argMax(holder, at) AS holder,
        argMax(ok, at) AS ok, argMax(error, at) AS error, argMax(judged, at) AS judged,
        argMax(active, at) AS active, argMax(duration_ms, at) AS duration_ms
      FROM ${storage.database}.alert_evaluations GROUP BY rule`,
    format: 'JSONEachRow',
  })
  const rows = await rs.json<{
    rule: string
    last_at: string
    holder: string
    ok: number
    error: string
    judged: number
    active: number
    duration_ms: number
  }>()
  return new Map(
    rows.map((r) => [
      r.rule,
      {
        rule: r.rule,
        atMs: textMs(r.last_at),
        holder: r.holder,
        ok: r.ok === 1,
        error: r.error,
        judged: Number(r.judged),
        active: Number(r.active),
        durationMs: Number(r.duration_ms),
      },
    ]),
  )
}
