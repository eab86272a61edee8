import type { Storage } from '../../storage/client.js'
import { nowNanos } from '../../time/instant.js'
import { inWindow, nanos, select, type Window } from '../db.js'

export interface Red {
  /** Calls per second over the part of the window the service has spans in (`covered`). */
  rate: number
  calls: number
  errors: number
  errorRate: number
  p50Ms: number
  p95Ms: number
  p99Ms: number
}

export interface ServiceView extends Red {
  service: string
  spans: number
}

export interface OperationView extends Red {
  operation: string
  kind: string
}

export interface DependencyView {
  caller: string
  callee: string
  calls: number
  errors: number
}

interface RedRow {
  calls: string
  errors: string
  q: number[]
  /** The service's first span in the window, Unix nanoseconds. */
  first_ns: string
}

/**
 * Seconds of the window a service's figures cover: from its first span in the window to the
 * window's end, or now if that is earlier. A service that started (or was first sent to
 * Reckon) a minute ago is measured over that minute, not over the whole hour; at least 1 s,
 * so that a single call just now does not read as thousands per second.
 */
export function covered(w: Window, firstNs: string, nowNs: bigint): number {
  const start = BigInt(firstNs) > BigInt(w.from) ? BigInt(firstNs) : BigInt(w.from)
  const end = BigInt(w.to) < nowNs ? BigInt(w.to) : nowNs
  return Math.max(1, Number(end - start) / 1e9)
}

function red(r: RedRow, w: Window, nowNs: bigint): Red {
  const calls = Number(r.calls)
  const errors = Number(r.errors)
  const ms = (ns: number | undefined): number =>
    calls === 0 || ns === undefined || Number.isNaN(ns) ? 0 : ns / 1e6
  return {
    rate: calls / covered(w, r.first_ns, nowNs),
    calls,
    errors,
    errorRate: calls === 0 ? 0 : errors / calls,
    p50Ms: ms(r.q[0]),
    p95Ms: ms(r.q[1]),
    p99Ms: ms(r.q[2]),
  }
}

const ENTRY = `(span_kind IN ('Server', 'Consumer') OR parent_span_id = '')`

/** Rate, errors and duration of every service's entry calls over the window. */
export async function listServices(
  storage: Storage,
  w: Window,
  timeout: number,
): Promise<ServiceView[]> {
  const now = nowNanos()
  const rows = await select<RedRow & { service_name: string; spans: string }>(
    storage,
    `SELECT service_name, count() AS spans, countIf(${ENTRY}) AS calls,
       countIf(${ENTRY} AND status_code = 'Error') AS errors,
       quantilesIf(0.5, 0.95, 0.99)(duration_ns, ${ENTRY}) AS q,
       ${nanos('min(timestamp)')} AS first_ns
     FROM ${storage.database}.spans WHERE ${inWindow('timestamp')}
     GROUP BY service_name ORDER BY service_name LIMIT 10000`,
    { from: w.from, to: w.to },
    timeout,
  )
  return rows.map((r) => ({
    service: r.service_name,
    spans: Number(r.spans),
    ...red(r, w, now),
  }))
}

/** The same figures per operation (span name and kind) of one service. */
export async function listOperations(
  storage: Storage,
  service: string,
  w: Window,
  timeout: number,
): Promise<OperationView[]> {
  const now = nowNanos()
  // Every operation is measured over its service's covered time, so their rates add up.
  const rows = await select<RedRow & { span_name: string; span_kind: string }>(
    storage,
    `SELECT span_name, span_kind, count() AS calls, countIf(status_code = 'Error') AS errors,
       quantiles(0.5, 0.95, 0.99)(duration_ns) AS q,
       ${nanos('min(min(timestamp)) OVER ()')} AS first_ns
     FROM ${storage.database}.spans WHERE service_name = {service:String} AND ${inWindow('timestamp')}
     GROUP BY span_name, span_kind ORDER BY calls DESC LIMIT 10000`,
    { service, from: w.from, to: w.to },
    timeout,
  )
  return rows.map((r) => ({ operation: r.span_name, kind: r.span_kind, ...red(r, w, now) }))
}

/** Caller → callee edges: a child span whose parent belongs to another service. */
export async function listDependencies(
  storage: Storage,
  w: Window,
  timeout: number,
): Promise<DependencyView[]> {
  const db = storage.database
  const rows = await select<{ caller: string; callee: string; calls: string; errors: string }>(
    storage,
    `SELECT p.service_name AS caller, c.service_name AS callee, count() AS calls,
       countIf(c.status_code = 'Error') AS errors
     FROM (SELECT trace_id, parent_span_id, service_name, status_code FROM ${db}.spans
           WHERE ${inWindow('timestamp')} AND parent_span_id != '') AS c
     INNER JOIN (SELECT trace_id, span_id, service_name FROM ${db}.spans WHERE ${inWindow('timestamp')}) AS p
       ON c.trace_id = p.trace_id AND c.parent_span_id = p.span_id
     WHERE c.service_name != p.service_name
     GROUP BY caller, callee ORDER BY caller, callee LIMIT 10000`,
    { from: w.from, to: w.to },
    timeout,
  )
  return rows.map((r) => ({
    caller: r.caller,
    callee: r.callee,
    calls: Number(r.calls),
    errors: Number(r.errors),
  }))
}
