// Findings as people read them: a run's, filtered by category and state, each with both
// sides' values; one finding with its history, its compensation attempts and the flows and
// traces of its records.
import type { Storage } from '@reckon/collector/storage'
import type { Category } from './config.js'
import type { FindingState } from './findings.js'
import { formatAmount } from './money.js'

export interface Side {
  records: number
  amount: string | null
  currencies: string[]
  statuses: string[]
}

export interface FindingView {
  id: string
  rule: string
  category: Category
  key: string
  keyParts: string[]
  /** The earliest record of the key the run compared. */
  time: string
  /** Not a finding yet: younger than grace at the run's moment. */
  pending: boolean
  state: FindingState | null
  stateChangedAt: string | null
  left: Side
  right: Side
  /** right − left, where both sides have an amount. */
  difference: string | null
  flowIds: string[]
  traceIds: string[]
}

export interface HistoryEntry {
  state: FindingState
  at: string
  by: string
  why: string
  runId: string
}

export interface AttemptView {
  attempt: number
  step: string
  outcome: string
  httpStatus: number | null
  error: string
  traceId: string
  startedAt: string
  finishedAt: string
  nextAt: string | null
}

interface BreakRow {
  finding_id: string
  rule: string
  category: Category
  pending: number
  key: string
  key_parts: string[]
  time: string
  left_count: string
  left_amount: string | null
  left_currencies: string[]
  left_statuses: string[]
  right_count: string
  right_amount: string | null
  right_currencies: string[]
  right_statuses: string[]
  difference: string | null
  flow_ids: string[]
  trace_ids: string[]
  current: string
  changed_at: string
}

const iso = (t: string): string => `${t.replace(' ', 'T')}Z`

function side(
  count: string,
  amount: string | null,
  currencies: string[],
  statuses: string[],
): Side {
  const currency = currencies[0] ?? ''
  return {
    records: Number(count),
    amount: amount === null ? null : formatAmount(amount, currency),
    currencies,
    statuses,
  }
}

function findingView(r: BreakRow): FindingView {
  return {
    id: r.finding_id,
    rule: r.rule,
    category: r.category,
    key: r.key,
    keyParts: r.key_parts,
    time: iso(r.time),
    pending: r.pending === 1,
    state: r.current === '' ? null : (r.current as FindingState),
    stateChangedAt: r.current === '' ? null : iso(r.changed_at),
    left: side(r.left_count, r.left_amount, r.left_currencies, r.left_statuses),
    right: side(r.right_count, r.right_amount, r.right_currencies, r.right_statuses),
    difference:
      r.difference === null
        ? null
        : formatAmount(r.difference, r.left_currencies[0] ?? r.right_currencies[0] ?? ''),
    flowIds: r.flow_ids,
    traceIds: r.trace_ids,
  }
}

const BREAK_COLUMNS = (db: string) => `b.finding_id AS finding_id, b.rule AS rule,
  b.category AS category, b.pending AS pending, b.key AS key, b.key_parts AS key_parts,
  toString(b.time) AS time, toString(b.left_count) AS left_count,
  if(b.left_amount IS NULL, NULL, toString(b.left_amount)) AS left_amount,
  b.left_currencies AS left_currencies, b.left_statuses AS left_statuses,
  toString(b.right_count) AS right_count,
  if(b.right_amount IS NULL, NULL, toString(b.right_amount)) AS right_amount,
  b.right_currencies AS right_currencies, b.right_statuses AS right_statuses,
  if(b.left_amount IS NULL OR b.right_amount IS NULL, NULL, toString(b.right_amount - b.left_amount)) AS difference,
  b.flow_ids AS flow_ids, b.trace_ids AS trace_ids,
  ifNull(s.current, '') AS current, toString(ifNull(s.changed_at, toDateTime64(0, 9, 'UTC'))) AS changed_at
  FROM ${db}.reconcile_breaks AS b
  LEFT JOIN (
    SELECT finding_id, argMax(state, at) AS current, max(at) AS changed_at
    FROM ${db}.reconcile_findings GROUP BY finding_id
  ) AS s ON s.finding_id = b.finding_id`

export interface FindingFilter {
  category?: Category
  state?: FindingState
  /** Include keys that were pending (default true). */
  pending?: boolean
  limit: number
  offset: number
}

/** A run's findings, in category and key order. */
export async function runFindings(
  storage: Storage,
  runId: string,
  f: FindingFilter,
): Promise<{ total: number; findings: FindingView[] }> {
  const { client, database: db } = storage
  const params = {
    run: runId,
    category: f.category ?? '',
    state: f.state ?? '',
    pending: f.pending === false ? 0 : 1,
    limit: f.limit,
    offset: f.offset,
  }
  const where = `b.run_id = {run:String} AND b.category != 'matched'
    AND ({category:String} = '' OR b.category = {category:String})
    AND ({state:String} = '' OR s.current = {state:String})
    AND ({pending:UInt8} = 1 OR b.pending = 0)`
  const rs = await client.query({
    query: `SELECT ${BREAK_COLUMNS(db)} WHERE ${where}
      ORDER BY b.category, b.key LIMIT {limit:UInt32} OFFSET {offset:UInt32}`,
    query_params: params,
    format: 'JSONEachRow',
  })
  const count = await client.query({
    query: `SELECT toString(count()) AS n FROM (SELECT ${BREAK_COLUMNS(db)} WHERE ${where})`,
    query_params: params,
    format: 'JSONEachRow',
  })
  const [n] = await count.json<{ n: string }>()
  return { total: Number(n?.n ?? 0), findings: (await rs.json<BreakRow>()).map(findingView) }
}

/** One finding as its latest run saw it, with its history and attempts. */
export async function getFinding(
  storage: Storage,
  id: string,
): Promise<
  | (FindingView & { lastRunId: string; history: HistoryEntry[]; attempts: AttemptView[] })
  | undefined
> {
  const { client, database: db } = storage
  const rs = await client.query({
    query: `SELECT b.run_id AS run_id, ${BREAK_COLUMNS(db)}
      WHERE b.finding_id = {id:String} ORDER BY b.run_id DESC LIMIT 1`,
    query_params: { id },
    format: 'JSONEachRow',
  })
  const [row] = await rs.json<BreakRow & { run_id: string }>()
  if (!row) return undefined
  const history = await client.query({
    query: `SELECT state, toString(at) AS at, by, why, run_id FROM ${db}.reconcile_findings
      WHERE finding_id = {id:String} ORDER BY at`,
    query_params: { id },
    format: 'JSONEachRow',
  })
  const attempts = await client.query({
    query: `SELECT attempt, step, outcome, http_status, error, trace_id,
        toString(started_at) AS started_at, toString(finished_at) AS finished_at,
        if(next_at IS NULL, NULL, toString(next_at)) AS next_at
      FROM ${db}.reconcile_attempts WHERE finding_id = {id:String}
      ORDER BY attempt, finished_at, outcome != 'started'`,
    query_params: { id },
    format: 'JSONEachRow',
  })
  return {
    ...findingView(row),
    lastRunId: row.run_id,
    history: (
      await history.json<{
        state: FindingState
        at: string
        by: string
        why: string
        run_id: string
      }>()
    ).map((h) => ({ state: h.state, at: iso(h.at), by: h.by, why: h.why, runId: h.run_id })),
    attempts: (
      await attempts.json<{
        attempt: number
        step: string
        outcome: string
        http_status: number
        error: string
        trace_id: string
        started_at: string
        finished_at: string
        next_at: string | null
      }>()
    ).map((a) => ({
      attempt: a.attempt,
      step: a.step,
      outcome: a.outcome,
      httpStatus: a.http_status === 0 ? null : a.http_status,
      error: a.error,
      traceId: a.trace_id,
      startedAt: iso(a.started_at),
      finishedAt: iso(a.finished_at),
      nextAt: a.next_at ? iso(a.next_at) : null,
    })),
  }
}

/** The findings whose records belong to a business flow, newest first (at most `limit`). */
export async function flowFindingIds(
  storage: Storage,
  flowId: string,
  limit: number,
): Promise<string[]> {
  const { client, database: db } = storage
  const rs = await client.query({
    query: `SELECT finding_id FROM ${db}.reconcile_breaks
      WHERE has(flow_ids, {flow:String}) AND category != 'matched'
      GROUP BY finding_id ORDER BY max(time) DESC LIMIT {limit:UInt32}`,
    query_params: { flow: flowId, limit },
    format: 'JSONEachRow',
  })
  return (await rs.json<{ finding_id: string }>()).map((r) => r.finding_id)
}
