// The outbox: every notification owed is written before it is sent, so a restart, or a
// receiver that is down, delays it but never loses it; each attempt is logged. A
// notification's state is its latest version: pending → sent | failed | superseded.
import { randomBytes } from 'node:crypto'
import type { Storage } from '@reckon/collector/storage'
import { nanosText, nowNanos, textNanos } from '../nanos.js'
import type {
  AlertSnapshot,
  NotificationEvent,
  NotificationReason,
  Planned,
  Told,
} from './notify.js'
import { toldKey } from './notify.js'

export type NotificationState = 'pending' | 'sent' | 'failed' | 'superseded'

export interface Notification {
  id: string
  receiver: string
  fingerprint: string
  event: NotificationEvent
  reason: NotificationReason
  alert: AlertSnapshot
  state: NotificationState
  attempts: number
  nextAtMs: number
  createdAtMs: number
  lastError: string
}

const msText = (ms: number): string => nanosText(BigInt(ms) * 1_000_000n)
const textMs = (t: string): number => Number(textNanos(t) / 1_000_000n)

function row(n: Notification, updatedAtMs: number) {
  return {
    id: n.id,
    receiver: n.receiver,
    fingerprint: n.fingerprint,
    event: n.event,
    reason: n.reason,
    alert: JSON.stringify(n.alert),
    state: n.state,
    attempts: n.attempts,
    next_at: msText(n.nextAtMs),
    created_at: msText(n.createdAtMs),
    updated_at: msText(updatedAtMs),
    last_error: n.lastError,
    version: nowNanos().toString(),
  }
}

async function write(storage: Storage, ns: readonly Notification[], nowMs: number): Promise<void> {
  if (ns.length === 0) return
  await storage.client.insert({
    table: `${storage.database}.alert_notifications`,
    format: 'JSONEachRow',
    values: ns.map((n) => row(n, nowMs)),
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  })
}

/** Writes what is owed, due at once. */
export async function enqueue(
  storage: Storage,
  planned: readonly Planned[],
  nowMs: number,
): Promise<Notification[]> {
  const ns = planned.map((p): Notification => ({
    id: `ntf_${nowMs.toString(36)}_${randomBytes(6).toString('hex')}`,
    ...p,
    state: 'pending',
    attempts: 0,
    nextAtMs: nowMs,
    createdAtMs: nowMs,
    lastError: '',
  }))
  await write(storage, ns, nowMs)
  return ns
}

/** Writes notifications' new states. */
export const update = (storage: Storage, ns: readonly Notification[], nowMs: number) =>
  write(storage, ns, nowMs)

interface Row {
  id: string
  receiver: string
  fingerprint: string
  event: NotificationEvent
  reason: NotificationReason
  alert: string
  state: NotificationState
  attempts: number
  next_at: string
  created_at: string
  last_error: string
}

const COLUMNS = `id, receiver, fingerprint, event, reason, alert, state, attempts,
  toString(next_at) AS next_at, toString(created_at) AS created_at, last_error`

const notificationOf = (r: Row): Notification => ({
  id: r.id,
  receiver: r.receiver,
  fingerprint: r.fingerprint,
  event: r.event,
  reason: r.reason,
  alert: JSON.parse(r.alert) as AlertSnapshot,
  state: r.state,
  attempts: Number(r.attempts),
  nextAtMs: textMs(r.next_at),
  createdAtMs: textMs(r.created_at),
  lastError: r.last_error,
})

/** Every pending notification, oldest first (the due ones and those waiting to retry). */
export async function pending(storage: Storage): Promise<Notification[]> {
  const rs = await storage.client.query({
    query: `SELECT ${COLUMNS} FROM ${storage.database}.alert_notifications FINAL
      WHERE state = 'pending' ORDER BY created_at, id LIMIT 10000`,
    format: 'JSONEachRow',
  })
  return (await rs.json<Row>()).map(notificationOf)
}

/** Receiver and alert pairs that have been sent a firing notification. */
export async function toldFiring(storage: Storage, fingerprints: string[]): Promise<Set<string>> {
  if (fingerprints.length === 0) return new Set()
  const rs = await storage.client.query({
    query: `SELECT DISTINCT receiver, fingerprint FROM ${storage.database}.alert_notifications FINAL
      WHERE fingerprint IN {fps:Array(String)} AND event = 'firing' AND state = 'sent'`,
    query_params: { fps: fingerprints },
    format: 'JSONEachRow',
  })
  const rows = await rs.json<{ receiver: string; fingerprint: string }>()
  return new Set(rows.map((r) => toldKey(r.receiver, r.fingerprint)))
}

/** What each receiver was last told (or is about to be) of each of these alerts. */
export async function lastTold(
  storage: Storage,
  fingerprints: string[],
): Promise<Map<string, Told>> {
  if (fingerprints.length === 0) return new Map()
  const rs = await storage.client.query({
    query: `SELECT receiver, fingerprint, argMax(event, (created_at, id)) AS event,
        toString(max(created_at)) AS at
      FROM ${storage.database}.alert_notifications FINAL
      WHERE fingerprint IN {fps:Array(String)} AND state != 'superseded'
      GROUP BY receiver, fingerprint`,
    query_params: { fps: fingerprints },
    format: 'JSONEachRow',
  })
  const rows = await rs.json<{
    receiver: string
    fingerprint: string
    event: NotificationEvent
    at: string
  }>()
  return new Map(
    rows.map((r) => [toldKey(r.receiver, r.fingerprint), { event: r.event, atMs: textMs(r.at) }]),
  )
}

export interface DeliveryAttempt {
  notification: Notification
  attempt: number
  atMs: number
  outcome: 'sent' | 'retry' | 'failed'
  httpStatus: number | null
  error: string
  retryAfterMs: number | null
}

export async function logAttempts(
  storage: Storage,
  attempts: readonly DeliveryAttempt[],
): Promise<void> {
  if (attempts.length === 0) return
  await storage.client.insert({
    table: `${storage.database}.alert_deliveries`,
    format: 'JSONEachRow',
    values: attempts.map((a) => ({
      notification_id: a.notification.id,
      receiver: a.notification.receiver,
      fingerprint: a.notification.fingerprint,
      event: a.notification.event,
      attempt: a.attempt,
      at: msText(a.atMs),
      outcome: a.outcome,
      http_status: a.httpStatus ?? 0,
      error: a.error,
      retry_after_ms: a.retryAfterMs ?? 0,
    })),
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  })
}

export interface DeliveryView {
  notificationId: string
  receiver: string
  event: NotificationEvent
  reason: NotificationReason
  state: NotificationState
  attempts: number
  createdAt: string
  nextAt: string | null
  lastError: string
  log: {
    attempt: number
    at: string
    outcome: string
    httpStatus: number | null
    error: string
  }[]
}

const iso = (ms: number): string => new Date(ms).toISOString()

/** An alert's notifications, newest first, each with its attempts. */
export async function deliveriesOf(
  storage: Storage,
  fingerprint: string,
  limit = 50,
): Promise<DeliveryView[]> {
  const db = storage.database
  const [ns, log] = await Promise.all([
    storage.client
      .query({
        query: `SELECT ${COLUMNS} FROM ${db}.alert_notifications FINAL
          WHERE fingerprint = {fp:String} ORDER BY created_at DESC, id DESC LIMIT {limit:UInt32}`,
        query_params: { fp: fingerprint, limit },
        format: 'JSONEachRow',
      })
      .then((rs) => rs.json<Row>()),
    storage.client
      .query({
        query: `SELECT notification_id, attempt, toString(at) AS at, outcome, http_status, error
          FROM ${db}.alert_deliveries WHERE fingerprint = {fp:String} ORDER BY at LIMIT 10000`,
        query_params: { fp: fingerprint },
        format: 'JSONEachRow',
      })
      .then((rs) =>
        rs.json<{
          notification_id: string
          attempt: number
          at: string
          outcome: string
          http_status: number
          error: string
        }>(),
      ),
  ])
  return ns.map(notificationOf).map((n) => ({
    notificationId: n.id,
    receiver: n.receiver,
    event: n.event,
    reason: n.reason,
    state: n.state,
    attempts: n.attempts,
    createdAt: iso(n.createdAtMs),
    nextAt: n.state === 'pending' ? iso(n.nextAtMs) : null,
    lastError: n.lastError,
    log: log
      .filter((l) => l.notification_id === n.id)
      .map((l) => ({
        attempt: Number(l.attempt),
        at: iso(textMs(l.at)),
        outcome: l.outcome,
        httpStatus: Number(l.http_status) === 0 ? null : Number(l.http_status),
        error: l.error,
      })),
  }))
}
