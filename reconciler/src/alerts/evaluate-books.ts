// The kinds that watch the books: reconciliation findings still open (a count, or an amount
// per currency, per rule and category), findings escalated to a person, and a query of the
// user's own for anything else — read-only, inside a window, capped in time and rows.
import type { AlertRule } from './rules.js'
import { rows, uiLink, windowParams, type EvalContext, type Evaluation } from './sample.js'

/** A finding's current state, its rule and category, and the last run that saw it. */
const CURRENT = (db: string) => `SELECT finding_id, any(rule) AS rule_name,
    any(category) AS category_name, argMax(state, at) AS current,
    argMaxIf(run_id, at, run_id != '') AS last_run, maxIf(at, run_id != '') AS last_run_at
  FROM ${db}.reconcile_findings
  WHERE {rule:String} = '' OR rule = {rule:String}
  GROUP BY finding_id`

const UNRESOLVED = ['open', 'compensating', 'escalated']

interface GroupRow {
  rule: string
  category: string
  currency: string
  findings: string
  amount: string
  run_id: string
}

/** Open findings per rule and category (and currency, for amounts), with their last run. */
function openFindings(
  rule: AlertRule,
  ctx: EvalContext,
  states: string[],
  perCurrency: boolean,
): Promise<GroupRow[]> {
  const db = ctx.storage.database
  // A finding's amount is what is missing or differs: |right − left|, a side absent as 0.
  const amounts = perCurrency
    ? `INNER JOIN (SELECT run_id, finding_id,
         if(length(left_currencies) > 0, left_currencies[1], right_currencies[1]) AS currency,
         abs(ifNull(right_amount, toDecimal128(0, 9)) - ifNull(left_amount, toDecimal128(0, 9))) AS amount
       FROM ${db}.reconcile_breaks WHERE {rule:String} = '' OR rule = {rule:String}) AS b
       ON b.run_id = f.last_run AND b.finding_id = f.finding_id`
    : ''
  return rows<GroupRow>(
    ctx,
    `SELECT f.rule_name AS rule, f.category_name AS category,
       ${perCurrency ? 'b.currency' : "''"} AS currency, toString(count()) AS findings,
       ${perCurrency ? 'toString(sum(b.amount))' : "'0'"} AS amount,
       argMax(f.last_run, f.last_run_at) AS run_id
     FROM (${CURRENT(db)}) AS f ${amounts}
     WHERE f.current IN {states:Array(String)}
       AND ({category:String} = '' OR f.category_name = {category:String})
     GROUP BY rule, category, currency ORDER BY rule, category, currency LIMIT 10000`,
    { rule: rule.rule ?? '', category: rule.category ?? '', states },
  )
}

/** a > b for non-negative exact decimals as text. */
export function decimalAbove(a: string, b: string): boolean {
  const parts = (t: string): [string, string] => {
    const [i = '0', f = ''] = t.split('.')
    return [i.replace(/^0+(?=\d)/, ''), f]
  }
  const [ai, af] = parts(a)
  const [bi, bf] = parts(b)
  if (ai.length !== bi.length) return ai.length > bi.length
  if (ai !== bi) return ai > bi
  const n = Math.max(af.length, bf.length)
  return af.padEnd(n, '0') > bf.padEnd(n, '0')
}

const trimAmount = (t: string): string => (t.includes('.') ? t.replace(/\.?0+$/, '') : t)

export async function evaluateBreaks(rule: AlertRule, ctx: EvalContext): Promise<Evaluation> {
  const limits = Object.entries(rule.amountAbove)
  const perCurrency = limits.length > 0
  const found = await openFindings(rule, ctx, UNRESOLVED, perCurrency)
  const limit = new Map(limits)
  const samples = found
    .filter((g) =>
      perCurrency
        ? limit.has(g.currency) && decimalAbove(g.amount, limit.get(g.currency)!)
        : Number(g.findings) > (rule.above ?? 0),
    )
    .map((g) => ({
      labels: {
        rule: g.rule,
        category: g.category,
        ...(perCurrency ? { currency: g.currency } : {}),
      },
      value: perCurrency ? Number(g.amount) : Number(g.findings),
      display: perCurrency ? `${trimAmount(g.amount)} ${g.currency}` : g.findings,
      links: [runLink(ctx, g, undefined)],
    }))
  return { samples, judged: found.length }
}

export async function evaluateEscalations(rule: AlertRule, ctx: EvalContext): Promise<Evaluation> {
  const found = await openFindings(rule, ctx, ['escalated'], false)
  const samples = found
    .filter((g) => Number(g.findings) > (rule.above ?? 0))
    .map((g) => ({
      labels: { rule: g.rule, category: g.category },
      value: Number(g.findings),
      display: g.findings,
      links: [runLink(ctx, g, 'escalated')],
    }))
  return { samples, judged: found.length }
}

/** The findings of the run that last saw them, in the UI. */
function runLink(ctx: EvalContext, g: GroupRow, state: string | undefined) {
  return g.run_id
    ? uiLink(
        ctx,
        `/reconciliation/runs/${encodeURIComponent(g.run_id)}`,
        { category: g.category, state },
        'Findings of the run',
      )
    : uiLink(ctx, '/reconcile', { rule: g.rule }, 'Reconciliation')
}

/** Table functions that reach outside the database (files, URLs, other servers, programs). */
const OUTSIDE =
  /\b(file|url|urlCluster|s3|s3Cluster|gcs|hdfs|azureBlobStorage|remote|remoteSecure|cluster|clusterAllReplicas|mysql|postgresql|sqlite|mongodb|redis|jdbc|odbc|executable|input|deltaLake|hudi|iceberg)\s*\(/i

/**
 * Why a query cannot be a rule's, if it cannot: one SELECT, no settings of its own (an
 * inner SETTINGS would lift readonly for its part), nothing outside the database.
 */
export function queryProblem(query: string): string | undefined {
  const text = query.replace(/^\s*(--[^\n]*\n|\/\*[\s\S]*?\*\/|\s)*/, '')
  if (!/^(\(\s*)*(SELECT|WITH)\b/i.test(text) || query.includes(';'))
    return 'must be one SELECT (or WITH … SELECT), without ;'
  if (/\bSETTINGS\b/i.test(query)) return 'may not change settings (SETTINGS)'
  if (/\bINTO\s+OUTFILE\b/i.test(query)) return 'may not write a file (INTO OUTFILE)'
  const outside = OUTSIDE.exec(query)
  if (outside) return `may not read outside the database (${outside[1]}(…))`
  return undefined
}

export async function evaluateQuery(rule: AlertRule, ctx: EvalContext): Promise<Evaluation> {
  const problem = queryProblem(rule.query ?? '')
  if (problem) throw new Error(`the query ${problem}`)
  // The user's SELECT inside ours: readonly = 2 refuses any write (and lets settings change
  // only below it), the newline ends a trailing comment, and one statement is all the
  // engine takes per request. The result is capped so a broad query cannot flood memory.
  const found = await rows<Record<string, unknown>>(
    ctx,
    `SELECT * FROM (\n${rule.query}\n) LIMIT 10001`,
    { ...windowParams(ctx, rule.windowMs), db: ctx.storage.database },
    ['readonly = 2', 'max_result_rows = 10001', "result_overflow_mode = 'throw'"],
  )
  if (found.length > 10_000) throw new Error('the query returns more than 10000 label sets')
  const samples = []
  for (const row of found) {
    if (!('value' in row)) throw new Error('the query returns no `value` column')
    const value = Number(row.value)
    if (row.value === null || !Number.isFinite(value))
      throw new Error(`the query's value is not a number: ${JSON.stringify(row.value)}`)
    const labels: Record<string, string> = {}
    for (const [k, v] of Object.entries(row))
      if (k !== 'value') labels[k] = typeof v === 'string' ? v : JSON.stringify(v)
    const fires =
      rule.above === undefined && rule.below === undefined
        ? value > 0
        : (rule.above !== undefined && value > rule.above) ||
          (rule.below !== undefined && value < rule.below)
    if (fires) samples.push({ labels, value, display: String(value), links: [] })
  }
  return { samples, judged: found.length }
}
