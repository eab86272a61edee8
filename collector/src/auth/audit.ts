import { Filter, nanos, select, type Window } from '../api/db.js'
import type { Storage } from '../storage/client.js'
import { rowInserter } from '../storage/insert.js'
import { nowNanos } from '../time/instant.js'
import type { Identity } from './identity.js'

/** One state change and who made it. */
export interface AuditRecord {
  atUnixNano: string
  /** The authenticated caller (`key:ci`, `user:alice`, `local`): never a field it wrote. */
  identity: string
  role: string
  via: string
  /** What was done: `switch.change`, `finding.resolve`, `report.signoff`, `key.create`… */
  action: string
  /** What it was done to: a switch's name, a finding's or run's id, a key's id. */
  target: string
  details: Record<string, unknown>
  address: string
  requestId: string
}

export interface AuditEntry {
  action: string
  target: string
  details?: Record<string, unknown>
}

/** Where a request came from, for the record. */
export interface Origin {
  address: string
  requestId: string
}

/** Writes one record; awaited, so a change is never acknowledged without its record. */
export async function recordAudit(
  storage: Storage,
  who: Identity,
  entry: AuditEntry,
  origin: Origin = { address: '', requestId: '' },
): Promise<void> {
  const row = {
    at: nowNanos().toString(),
    identity: who.name,
    role: who.role,
    via: who.via,
    action: entry.action,
    target: entry.target,
    details: JSON.stringify(entry.details ?? {}),
    address: origin.address,
    request_id: origin.requestId,
  }
  await rowInserter(storage)(`${storage.database}.audit_log`, 'JSONEachRow', [
    Buffer.from(JSON.stringify(row) + '\n'),
  ])
}

export interface AuditQuery extends Window {
  action?: string
  identity?: string
  target?: string
  limit: number
}

interface Row {
  at_ns: string
  identity: string
  role: string
  via: string
  action: string
  target: string
  details: string
  address: string
  request_id: string
}

/** Records in the window, newest first. */
export async function listAudit(
  storage: Storage,
  q: AuditQuery,
  timeoutSeconds: number,
): Promise<AuditRecord[]> {
  const where = new Filter(q, 'at', { limit: q.limit })
    .equals('action', 'action', q.action)
    .equals('identity', 'identity', q.identity)
    .equals('target', 'target', q.target)
  const rows = await select<Row>(
    storage,
    `SELECT ${nanos('at')} AS at_ns, identity, role, via, action, target, details, address, request_id
     FROM ${storage.database}.audit_log WHERE ${where.sql}
     ORDER BY at DESC LIMIT {limit:UInt32}`,
    where.params,
    timeoutSeconds,
  )
  return rows.map((r) => ({
    atUnixNano: r.at_ns,
    identity: r.identity,
    role: r.role,
    via: r.via,
    action: r.action,
    target: r.target,
    details: parseDetails(r.details),
    address: r.address,
    requestId: r.request_id,
  }))
}

function parseDetails(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text)
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : {}
  } catch {
    return {}
  }
}
