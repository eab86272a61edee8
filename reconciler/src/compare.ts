// The comparison of one run, as one INSERT … SELECT inside the engine: both sides grouped by
// key, joined, each key given its categories, and written to reconcile_breaks as one row per
// finding (or pending key) plus one `matched` row per currency. Nothing is compared row by
// row in Node, so 10M records cost the engine's join, not the event loop's.
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
const side = (source: string) => `SELECT key, any(key_parts) AS kp, count() AS n,
    countIf(time >= ${ns('from')} AND time < ${ns('to')}) AS n_in,
    sum(amount) AS amt, groupUniqArray(currency) AS curs, groupArray(status) AS sts,
    min(time) AS t0, max(time) AS t1,
    groupUniqArrayIf(flow_id, flow_id != '') AS flows,
    groupUniqArrayIf(trace_id, trace_id != '') AS traces
  FROM (${source}) GROUP BY key`

export function compareStatement(run: CompareRun): {
  query: string
  params: Record<string, unknown>
} {
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
  const query = `INSERT INTO ${run.db}.reconcile_breaks
SELECT
  {run:String}, {rule:String},
  ${matched("lower(hex(substring(SHA256(concat({rule:String}, '\\0', key, '\\0', category)), 1, 16)))", "''")},
  category,
  ${matched("any((category = 'dropped' AND young_l) OR (category = 'orphan' AND young_r))", '0')},
  key,
  ${matched('any(kp)', '[]')},
  min(t0),
  count(),
  sum(l_n), if(countIf(l_n > 0) = 0, NULL, sumIf(l_amt, l_n > 0)),
  ${matched('any(l_curs)', '[currency_group]')}, ${matched('any(l_sts)', '[]')},
  sum(r_n), if(countIf(r_n > 0) = 0, NULL, sumIf(r_amt, r_n > 0)),
  ${matched('any(r_curs)', '[currency_group]')}, ${matched('any(r_sts)', '[]')},
  ${matched('any(flows)', '[]')}, ${matched('any(traces)', '[]')}
FROM (
  SELECT
    if(has_l, l.key, r.key) AS key_of, if(has_l, l.kp, r.kp) AS kp,
    l.n AS l_n, l.amt AS l_amt, l.curs AS l_curs, l.sts AS l_sts,
    r.n AS r_n, r.amt AS r_amt, r.curs AS r_curs, r.sts AS r_sts,
    if(has_l AND has_r, least(l.t0, r.t0), if(has_l, l.t0, r.t0)) AS t0,
    ${young('l.t1')} AS young_l, ${young('r.t1')} AS young_r,
    arrayDistinct(arrayConcat(l.flows, r.flows)) AS flows,
    arrayDistinct(arrayConcat(l.traces, r.traces)) AS traces,
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
  return { query, params }
}
