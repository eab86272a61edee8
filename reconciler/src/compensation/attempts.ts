// A finding's compensation attempts, persisted so they survive a restart (the async-assured
// pattern: what is to be done is in the tables, and whoever holds the rule's lease next
// carries it on). Rows are appended: a call's `started` row before it goes out, its outcome
// after; an operator's "retry now" appends a reset. What comes next is read from the rows.
import type { Storage } from '@reckon/collector/storage'
import { nanosText, nowNanos } from '../nanos.js'

export type Step = 'verify' | 'action' | 'retry'
/**
 * started: the call went out (no outcome yet); succeeded: the action was applied; found /
 * absent: the verify's answer; failed: worth another attempt; refused: the other side
 * rejected the request itself; reset: a person asked for an attempt now.
 */
export type Outcome = 'started' | 'succeeded' | 'found' | 'absent' | 'failed' | 'refused' | 'reset'

export interface AttemptRow {
  findingId: string
  attempt: number
  step: Step
  outcome: Outcome
  httpStatus: number | null
  error: string
  traceId: string
  /** Unix nanoseconds. */
  startedAt: bigint
  finishedAt: bigint
  nextAt: bigint | null
  holder: string
}

export async function appendAttempt(storage: Storage, row: AttemptRow): Promise<void> {
  await storage.client.insert({
    table: `${storage.database}.reconcile_attempts`,
    format: 'JSONEachRow',
    values: [
      {
        finding_id: row.findingId,
        attempt: row.attempt,
        step: row.step,
        outcome: row.outcome,
        http_status: row.httpStatus ?? 0,
        error: row.error.slice(0, 2000),
        trace_id: row.traceId,
        started_at: nanosText(row.startedAt),
        finished_at: nanosText(row.finishedAt),
        next_at: row.nextAt === null ? null : nanosText(row.nextAt),
        holder: row.holder,
      },
    ],
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  })
}

/** Every attempt row of a finding, in the order they were written. */
export async function readAttempts(storage: Storage, findingId: string): Promise<AttemptRow[]> {
  const rs = await storage.client.query({
    query: `SELECT attempt, step, outcome, http_status, error, trace_id, holder,
        toString(toUnixTimestamp64Nano(started_at)) AS started,
        toString(toUnixTimestamp64Nano(finished_at)) AS finished,
        if(next_at IS NULL, '', toString(toUnixTimestamp64Nano(next_at))) AS next
      FROM ${storage.database}.reconcile_attempts WHERE finding_id = {id:String}
      ORDER BY finished_at, attempt, outcome = 'started' DESC`,
    query_params: { id: findingId },
    format: 'JSONEachRow',
  })
  const rows = await rs.json<{
    attempt: number
    step: Step
    outcome: Outcome
    http_status: number
    error: string
    trace_id: string
    holder: string
    started: string
    finished: string
    next: string
  }>()
  return rows.map((r) => ({
    findingId,
    attempt: r.attempt,
    step: r.step,
    outcome: r.outcome,
    httpStatus: r.http_status === 0 ? null : r.http_status,
    error: r.error,
    traceId: r.trace_id,
    startedAt: BigInt(r.started),
    finishedAt: BigInt(r.finished),
    nextAt: r.next === '' ? null : BigInt(r.next),
    holder: r.holder,
  }))
}

/** Where a finding's compensation stands, from its rows. */
export interface AttemptsState {
  /** The highest attempt number written (numbers go on across resets). */
  lastAttempt: number
  /** Failed attempts since the last reset: what maxAttempts bounds. */
  failures: number
  /** The latest row, if any. */
  last: AttemptRow | undefined
  /** The latest failure's error since the last reset. */
  lastError: string
}

export function attemptsState(rows: readonly AttemptRow[]): AttemptsState {
  let failures = 0
  let lastError = ''
  let lastAttempt = 0
  for (const r of rows) {
    lastAttempt = Math.max(lastAttempt, r.attempt)
    if (r.outcome === 'reset') {
      failures = 0
      lastError = ''
    } else if (r.outcome === 'failed') {
      failures += 1
      lastError = r.error
    }
  }
  return { lastAttempt, failures, last: rows.at(-1), lastError }
}

/**
 * The findings of a rule whose compensation has something to do now: open or compensating,
 * of a compensated category, never attempted or last left in a state other than waiting
 * for a retry that is not due yet. Oldest due first.
 */
export async function dueFindings(
  storage: Storage,
  rule: string,
  categories: string[],
  limit: number,
): Promise<string[]> {
  const db = storage.database
  const rs = await storage.client.query({
    query: `SELECT s.finding_id AS id
      FROM (
        SELECT finding_id, argMax(state, at) AS current, argMax(category, at) AS category
        FROM ${db}.reconcile_findings WHERE rule = {rule:String} GROUP BY finding_id
      ) AS s
      LEFT JOIN (
        SELECT finding_id,
          argMax(outcome, (finished_at, attempt)) AS last_outcome,
          argMax(ifNull(toUnixTimestamp64Nano(next_at), 0), (finished_at, attempt)) AS last_next
        FROM ${db}.reconcile_attempts
        WHERE finding_id IN (SELECT finding_id FROM ${db}.reconcile_findings WHERE rule = {rule:String})
        GROUP BY finding_id
      ) AS a ON a.finding_id = s.finding_id
      WHERE s.current IN ('open', 'compensating') AND s.category IN {categories:Array(String)}
        AND (a.finding_id = '' OR a.last_outcome != 'failed'
          OR a.last_next <= toUnixTimestamp64Nano(now64(9)))
      ORDER BY a.last_next, s.finding_id
      LIMIT {limit:UInt32}`,
    query_params: { rule, categories, limit },
    format: 'JSONEachRow',
  })
  return (await rs.json<{ id: string }>()).map((r) => r.id)
}

/** Appends a person's "retry now": the next attempt is due at once, with a fresh budget. */
export async function appendReset(
  storage: Storage,
  findingId: string,
  lastAttempt: number,
  by: string,
): Promise<void> {
  const now = nowNanos()
  await appendAttempt(storage, {
    findingId,
    attempt: lastAttempt,
    step: 'retry',
    outcome: 'reset',
    httpStatus: null,
    error: '',
    traceId: '',
    startedAt: now,
    finishedAt: now,
    nextAt: now,
    holder: by,
  })
}
