// A run's report for finance: what each side held, what matched, what broke and for how
// much, what is pending, how old the open findings are and what compensation did. Amounts
// are the engine's exact decimals as text, per currency, never added across currencies.
import type { Storage } from '@reckon/collector/storage'
import { CATEGORIES, type Category } from './config.js'
import { currentStates, UNRESOLVED } from './findings.js'
import { formatAmount } from './money.js'
import type { Rule } from './rules.js'
import type { Run } from './run.js'
import type { SourceSql } from './sources/source-sql.js'

export interface Money {
  currency: string
  amount: string
}

export interface SideTotals {
  source: string
  records: number
  amounts: Money[]
}

export interface CategoryTotals {
  findings: number
  /** A break's amount is its left amount; an orphan's, its right amount. */
  amounts: Money[]
  /** Mismatches: right − left. */
  differences?: Money[]
}

export interface Report {
  left: SideTotals
  right: SideTotals
  matched: { keys: number; records: number; amounts: Money[] }
  breaks: Record<Category, CategoryTotals>
  pending: { keys: number; records: number; amounts: Money[] }
  /** Open findings of the rule by age since they were opened. */
  aging: { '0-1h': number; '1-24h': number; '1-7d': number; '>7d': number }
  compensations: { attempted: number; succeeded: number; escalated: number }
}

type Row = Record<string, string>

async function rows(
  storage: Storage,
  query: string,
  params: Record<string, unknown>,
): Promise<Row[]> {
  const rs = await storage.client.query({
    query,
    query_params: params,
    format: 'JSONEachRow',
    clickhouse_settings: {
      output_format_json_quote_64bit_integers: 1,
      output_format_json_quote_decimals: 1,
    },
  })
  return rs.json<Row>()
}

const money = (r: Row[], amount = 'amount'): Money[] =>
  r
    .filter((x) => x.currency !== undefined && x[amount] !== undefined && x[amount] !== null)
    .map((x) => ({ currency: x.currency!, amount: formatAmount(x[amount]!, x.currency!) }))
    .sort((a, b) => a.currency.localeCompare(b.currency))

async function sideTotals(
  storage: Storage,
  name: string,
  source: SourceSql,
  run: Window,
): Promise<SideTotals> {
  const r = await rows(
    storage,
    `SELECT currency, toString(count()) AS n, toString(sum(amount)) AS amount FROM (${source.sql})
     WHERE time >= fromUnixTimestamp64Nano(toInt64({from:String}), 'UTC')
       AND time < fromUnixTimestamp64Nano(toInt64({to:String}), 'UTC')
     GROUP BY currency ORDER BY currency`,
    { ...source.params, from: run.from, to: run.to },
  )
  return { source: name, records: r.reduce((n, x) => n + Number(x.n), 0), amounts: money(r) }
}

interface Window {
  from: string
  to: string
}

/** The report of a finished comparison (its breaks written), at this moment. */
export async function buildReport(
  storage: Storage,
  run: Run,
  rule: Rule,
  sources: { left: SourceSql; right: SourceSql },
  window: Window,
): Promise<Report> {
  const db = storage.database
  const [left, right] = await Promise.all([
    sideTotals(storage, rule.left, sources.left, window),
    sideTotals(storage, rule.right, sources.right, window),
  ])
  const b = await rows(
    storage,
    `SELECT category, toString(pending) AS pending,
        if(category = 'orphan', right_currencies[1], left_currencies[1]) AS currency,
        toString(count()) AS findings, toString(sum(keys)) AS keys, toString(sum(left_count)) AS left_n,
        toString(sum(if(category = 'orphan', right_amount, left_amount))) AS amount,
        toString(sum(right_amount - left_amount)) AS difference
      FROM ${db}.reconcile_breaks WHERE run_id = {run:String}
      GROUP BY category, pending, currency ORDER BY category, currency`,
    { run: run.id },
  )
  const breaks = Object.fromEntries(
    CATEGORIES.map((c) => {
      const of = b.filter((x) => x.category === c && x.pending === '0')
      const totals: CategoryTotals = {
        findings: of.reduce((n, x) => n + Number(x.findings), 0),
        amounts: money(of),
      }
      if (c === 'amount_mismatch' || c === 'status_mismatch')
        totals.differences = money(of, 'difference')
      return [c, totals]
    }),
  ) as Record<Category, CategoryTotals>
  const matched = b.filter((x) => x.category === 'matched')
  const pending = b.filter((x) => x.pending === '1')
  const live = await liveTotals(storage, run, rule)
  return {
    left,
    right,
    matched: {
      keys: matched.reduce((n, x) => n + Number(x.keys), 0),
      records: matched.reduce((n, x) => n + Number(x.left_n), 0),
      amounts: money(matched),
    },
    breaks,
    pending: {
      keys: pending.reduce((n, x) => n + Number(x.findings), 0),
      records: pending.reduce((n, x) => n + Number(x.left_n), 0),
      amounts: money(pending),
    },
    ...live,
  }
}

/** The parts of a report that move after the run: the open findings' ages, compensations. */
export async function liveTotals(
  storage: Storage,
  run: Pick<Run, 'id'>,
  rule: Pick<Rule, 'name'>,
): Promise<Pick<Report, 'aging' | 'compensations'>> {
  const db = storage.database
  const [aging] = await rows(
    storage,
    `SELECT
        toString(countIf(age < 3600)) AS h1, toString(countIf(age >= 3600 AND age < 86400)) AS d1,
        toString(countIf(age >= 86400 AND age < 604800)) AS d7, toString(countIf(age >= 604800)) AS old
      FROM (
        SELECT dateDiff('second', opened, now64(9)) AS age FROM (
          SELECT finding_id, argMax(state, at) AS current, maxIf(at, state = 'open') AS opened
          FROM ${db}.reconcile_findings WHERE rule = {rule:String} GROUP BY finding_id
        ) WHERE current IN {unresolved:Array(String)})`,
    { rule: rule.name, unresolved: UNRESOLVED },
  )
  const [c] = await rows(
    storage,
    `SELECT toString(uniqExactIf(a.finding_id, a.step = 'action')) AS attempted,
        toString(uniqExactIf(a.finding_id, a.step = 'action' AND a.outcome = 'succeeded')) AS succeeded,
        toString((SELECT count() FROM (${currentStates(db)}) WHERE current = 'escalated'
          AND finding_id IN (SELECT finding_id FROM ${db}.reconcile_breaks WHERE run_id = {run:String}))) AS escalated
      FROM ${db}.reconcile_attempts AS a
      WHERE a.finding_id IN (SELECT finding_id FROM ${db}.reconcile_breaks WHERE run_id = {run:String})`,
    { run: run.id, rule: rule.name },
  )
  return {
    aging: {
      '0-1h': Number(aging?.h1 ?? 0),
      '1-24h': Number(aging?.d1 ?? 0),
      '1-7d': Number(aging?.d7 ?? 0),
      '>7d': Number(aging?.old ?? 0),
    },
    compensations: {
      attempted: Number(c?.attempted ?? 0),
      succeeded: Number(c?.succeeded ?? 0),
      escalated: Number(c?.escalated ?? 0),
    },
  }
}
