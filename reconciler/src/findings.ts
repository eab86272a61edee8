// A finding is one break of one key under one rule: (rule, key, category), its ID derived
// from the three, so every run that sees the same break names the same finding. Its state
// is the latest of its appended history rows:
//   open → compensating → compensated → resolved (a later run no longer sees it)
//   open / compensating → escalated (automation gave up: needs a person)
//   any unresolved → ignored (a person said why) or resolved (a person, or a run)
import type { Storage } from '@reckon/collector/storage'
import type { Category } from './config.js'
import { nanosText, nowNanos } from './nanos.js'
import type { Run, RunRequest } from './run.js'

export const FINDING_STATES = [
  'open',
  'compensating',
  'compensated',
  'resolved',
  'escalated',
  'ignored',
] as const
export type FindingState = (typeof FINDING_STATES)[number]

/** States a later run may still find the break in (and resolve it when it does not). */
export const UNRESOLVED: readonly FindingState[] = [
  'open',
  'compensating',
  'compensated',
  'escalated',
]

export interface FindingChange {
  findingId: string
  rule: string
  category: Category
  key: string
  state: FindingState
  by: string
  why: string
  runId?: string
}

/** Each finding of a rule with its current state, as a subquery. */
export const currentStates = (db: string): string => `SELECT finding_id,
    argMax(state, at) AS current, argMax(by, at) AS current_by, max(at) AS changed_at
  FROM ${db}.reconcile_findings WHERE rule = {rule:String} GROUP BY finding_id`

/** Appends state changes (the caller has checked they are allowed). */
export async function appendChanges(storage: Storage, changes: FindingChange[]): Promise<void> {
  if (changes.length === 0) return
  await storage.client.insert({
    table: `${storage.database}.reconcile_findings`,
    format: 'JSONEachRow',
    values: changes.map((c) => ({
      finding_id: c.findingId,
      rule: c.rule,
      category: c.category,
      key: c.key,
      state: c.state,
      at: nanosText(nowNanos()),
      by: c.by,
      why: c.why,
      run_id: c.runId ?? '',
    })),
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  })
}

/**
 * After a run's breaks are written: opens the findings it saw that are not open already
 * (new ones, ones found again, ones a compensation did not fix), and resolves the
 * unresolved findings of the rule that lie in the run's window and that it no longer sees.
 * Both are one statement in the engine, however many findings there are.
 */
export async function recordFindings(storage: Storage, run: Run, req: RunRequest): Promise<void> {
  const { client, database: db } = storage
  const params = {
    run: run.id,
    rule: run.rule,
    from: String(req.from),
    to: String(req.to),
    unresolved: UNRESOLVED,
  }
  await client.command({
    query: `INSERT INTO ${db}.reconcile_findings
      (finding_id, rule, category, key, state, at, by, why, run_id)
      SELECT b.finding_id, b.rule, b.category, b.key, 'open', now64(9), 'reconciler',
        multiIf(s.current = 'compensated', concat('still there after its compensation (', {run:String}, ')'),
                s.current = 'resolved', concat('found again by ', {run:String}),
                concat('found by ', {run:String})),
        {run:String}
      FROM ${db}.reconcile_breaks AS b
      LEFT JOIN (${currentStates(db)}) AS s ON s.finding_id = b.finding_id
      WHERE b.run_id = {run:String} AND b.category != 'matched' AND b.pending = 0
        AND s.current NOT IN ('open', 'compensating', 'escalated', 'ignored')`,
    query_params: params,
  })
  await client.command({
    query: `INSERT INTO ${db}.reconcile_findings
      (finding_id, rule, category, key, state, at, by, why, run_id)
      SELECT s.finding_id, f.f_rule, f.f_category, f.f_key, 'resolved', now64(9), 'reconciler',
        if(s.current = 'compensated',
          concat('its compensation worked: ', {run:String}, ' no longer sees the break'),
          concat({run:String}, ' no longer sees the break')),
        {run:String}
      FROM (${currentStates(db)}) AS s
      INNER JOIN (
        SELECT finding_id, any(rule) AS f_rule, any(category) AS f_category, any(key) AS f_key
        FROM ${db}.reconcile_breaks
        WHERE rule = {rule:String} AND run_id != {run:String} AND finding_id != ''
          AND time >= fromUnixTimestamp64Nano(toInt64({from:String}), 'UTC')
          AND time < fromUnixTimestamp64Nano(toInt64({to:String}), 'UTC')
        GROUP BY finding_id
      ) AS f ON f.finding_id = s.finding_id
      WHERE s.current IN {unresolved:Array(String)}
        AND s.finding_id NOT IN (
          SELECT finding_id FROM ${db}.reconcile_breaks WHERE run_id = {run:String})`,
    query_params: params,
  })
}
