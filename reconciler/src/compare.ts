// The comparison of one run, inside the engine, in two passes. First both sides grouped by
// key with what the categories need (counts, sums, currencies, statuses), joined, each key
// given its categories, into a staging table: one row per finding (or pending key) plus one
// `matched` row per currency. Then the rows reconcile_breaks keeps, with what only a finding
// shows (a composite key's parts, the flows and traces of its records) read again for the
// keys that broke alone: carried for every matched key, those arrays cost most of the run.
// Nothing is compared row by row in Node.
import type { Storage } from '@reckon/collector/storage'
import type { Rule } from './rules.js'
import type { SourceSql } from './sources/source-sql.js'

export interface CompareRun {
  db: string
  runId: string
  rule: Rule
  left: SourceSql
  right: SourceSql
  /** The run's window and its moment, Unix nanoseconds as decimal text. */
  from: string
  to: string
  now: string
}

const ns = (p: string) => `fromUnixTimestamp64Nano(toInt64({${p}:String}), 'UTC')`

/** Per key of one side: how many records, their sum, currencies, statuses, times. */
const side = (source: string) => `SELECT key, count() AS n,
    countIf(time >= ${ns('from')} AND time < ${ns('to')}) AS n_in,
    sum(amount) AS amt, groupUniqArray(currency) AS curs, groupArray(status) AS sts,
    min(time) AS t0, max(time) AS t1
  FROM (${source}) GROUP BY key`

/** The staging table of a run's first pass. */
export const stageTable = (runId: string): string =>
  `reconcile_stage_${runId.replace(/[^0-9a-z]/gi, '_')}`

/**
 * Drops the staging tables a killed process left: those of no run under way (a run that has
 * been running longer than its lease was abandoned).
 */
export async function dropLeftoverStages(storage: Storage, leaseMs: number): Promise<string[]> {
  const { client, database: db } = storage
  const rs = await client.query({
    query: `SELECT name FROM system.tables
      WHERE database = {db:String} AND startsWith(name, 'reconcile_stage_')
        AND name NOT IN (
          SELECT concat('reconcile_stage_', replaceRegexpAll(id, '[^0-9A-Za-z]', '_'))
          FROM ${db}.reconcile_runs FINAL
          WHERE state = 'running' AND started_at > now64(9) - toIntervalMillisecond({lease:UInt64}))`,
    query_params: { db, lease: leaseMs },
    format: 'JSONEachRow',
  })
  const names = (await rs.json<{ name: string }>()).map((r) => r.name)
  const dropped: string[] = []
  for (const name of names) {
    // Only names this module makes are dropped.
    if (!/^reconcile_stage_[0-9A-Za-z_]+$/.test(name)) continue
    await client.command({ query: `DROP TABLE IF EXISTS ${db}.${name}` })
    dropped.push(name)
  }
  return dropped
}

/** The staged rows' columns, as reconcile_breaks names them. */
const STAGED = `run_id, rule, finding_id, category, pending, key, time, keys, left_count,
  left_amount, left_currencies, left_statuses, right_count, right_amount, right_currencies,
  right_statuses`

export interface CompareStatements {
  /** Run in order; `cleanup` afterwards, whether they succeeded or not. */
  statements: string[]
  cleanup: string
  params: Record<string, unknown>
}

export function compareStatements(run: CompareRun): CompareStatements {
  const { rule } = run
  const statusKeys = rule.status ? Object.keys(rule.status) : []
  const statusAgrees = rule.status ? Object.values(rule.status) : []
  const currencies = Object.keys(rule.perCurrency)
  const params: Record<string, unknown> = {
    ...run.left.params,
    ...run.right.params,
    run: run.runId,
    rule: rule.name,
    from: run.from,
    to: run.to,
    now: run.now,
    grace_ns: String(BigInt(rule.graceMs) * 1_000_000n),
    left_summed: rule.match === 'many-to-one' ? 1 : 0,
    right_summed: rule.match === 'one-to-many' ? 1 : 0,
    compare_status: rule.status ? 1 : 0,
    status_keys: statusKeys,
    status_agrees: statusAgrees,
    tol: rule.tolerance,
    compare_amount: rule.compareAmounts ? 1 : 0,
    tol_currencies: currencies,
    tol_values: currencies.map((c) => rule.perCurrency[c]!),
  }
  // Grace: a record younger than this at `now` may still have its counterpart on the way.
  const young = (t: string) =>
    `toUnixTimestamp64Nano(${t}) > toInt64({now:String}) - toInt64({grace_ns:String})`
  const matched = (x: string, otherwise: string) => `if(category = 'matched', ${otherwise}, ${x})`
  // A name made here from the run's ID, never from input.
  const stage = `${run.db}.${stageTable(run.runId)}`
  const compare = `CREATE TABLE ${stage} ENGINE = Memory AS
SELECT
  {run:String} AS run_id, {rule:String} AS rule,
  ${matched("lower(hex(substring(SHA256(concat({rule:String}, '\\0', key, '\\0', category)), 1, 16)))", "''")} AS finding_id,
  category,
  ${matched("any((category = 'dropped' AND young_l) OR (category = 'orphan' AND young_r))", '0')} AS pending,
  key,
  min(t0) AS time,
  count() AS keys,
  sum(l_n) AS left_count, if(countIf(l_n > 0) = 0, NULL, sumIf(l_amt, l_n > 0)) AS left_amount,
  ${matched('any(l_curs)', '[currency_group]')} AS left_currencies,
  ${matched('any(l_sts)', '[]')} AS left_statuses,
  sum(r_n) AS right_count, if(countIf(r_n > 0) = 0, NULL, sumIf(r_amt, r_n > 0)) AS right_amount,
  ${matched('any(r_curs)', '[currency_group]')} AS right_currencies,
  ${matched('any(r_sts)', '[]')} AS right_statuses
FROM (
  SELECT
    if(has_l, l.key, r.key) AS key_of,
    l.n AS l_n, l.amt AS l_amt, l.curs AS l_curs, l.sts AS l_sts,
    r.n AS r_n, r.amt AS r_amt, r.curs AS r_curs, r.sts AS r_sts,
    if(has_l AND has_r, least(l.t0, r.t0), if(has_l, l.t0, r.t0)) AS t0,
    ${young('l.t1')} AS young_l, ${young('r.t1')} AS young_r,
    l.n > 0 AS has_l, r.n > 0 AS has_r,
    (NOT {left_summed:UInt8} AND l.n > 1) OR (NOT {right_summed:UInt8} AND r.n > 1) AS duplicate,
    has_l AND NOT has_r AS dropped,
    has_r AND NOT has_l AS orphan,
    has_l AND has_r AND {compare_status:UInt8} AND arrayExists(
      ls -> has({status_keys:Array(String)}, ls) AND arrayExists(
        rs -> NOT has({status_agrees:Array(Array(String))}[indexOf({status_keys:Array(String)}, ls)], rs),
        r.sts),
      l.sts) AS status_mismatch,
    arrayDistinct(arrayConcat(l.curs, r.curs)) AS all_curs,
    indexOf({tol_currencies:Array(String)}, all_curs[1]) AS tol_at,
    toDecimal128(if(tol_at > 0, {tol_values:Array(String)}[tol_at], {tol:String}), 9) AS tolerance,
    has_l AND has_r AND {compare_amount:UInt8} AND ifNull(length(all_curs) > 1
      OR greatest(l.amt - r.amt, r.amt - l.amt) > tolerance, 0) AS amount_mismatch,
    if(duplicate, ['duplicate'], arrayFilter(c -> c != '', [
      if(dropped, 'dropped', ''), if(orphan, 'orphan', ''),
      if(status_mismatch, 'status_mismatch', ''), if(amount_mismatch, 'amount_mismatch', '')
    ])) AS found,
    if(empty(found), ['matched'], found) AS cats,
    if(has_l, l.curs[1], r.curs[1]) AS first_currency
  FROM (${side(run.left.sql)}) AS l
  FULL OUTER JOIN (${side(run.right.sql)}) AS r ON l.key = r.key
  WHERE l.n_in > 0 OR r.n_in > 0
)
ARRAY JOIN cats AS category
GROUP BY category, ${matched('key_of', "''")} AS key, ${matched("''", 'first_currency')} AS currency_group`
  const records = (source: string) => `SELECT key, key_parts, flow_id, trace_id FROM (${source})`
  const write = `INSERT INTO ${run.db}.reconcile_breaks (${STAGED}, key_parts, flow_ids, trace_ids)
SELECT ${STAGED}, d.kp, d.flows, d.traces
FROM ${stage} AS s
LEFT JOIN (
  SELECT key, any(key_parts) AS kp,
    groupUniqArrayIf(flow_id, flow_id != '') AS flows,
    groupUniqArrayIf(trace_id, trace_id != '') AS traces
  FROM (${records(run.left.sql)} UNION ALL ${records(run.right.sql)})
  WHERE key IN (SELECT key FROM ${stage} WHERE category != 'matched')
  GROUP BY key
) AS d ON s.key = d.key`
  return { statements: [compare, write], cleanup: `DROP TABLE IF EXISTS ${stage}`, params }
}
