// A finding as a compensation sees it, re-read under the rule's lease before each step: its
// current state, and the values its templates take from the latest run that saw it.
import type { Storage } from '@reckon/collector/storage'
import type { Category } from '../config.js'
import type { FindingState } from '../findings.js'
import { formatAmount } from '../money.js'
import type { Rule } from '../rules.js'
import { keyColumns, type TemplateValues } from './templates.js'

export interface FindingNow {
  id: string
  rule: string
  category: Category
  key: string
  state: FindingState
  values: TemplateValues
  flowId: string | undefined
}

export async function currentState(
  storage: Storage,
  id: string,
): Promise<FindingState | undefined> {
  const rs = await storage.client.query({
    query: `SELECT argMax(state, at) AS current FROM ${storage.database}.reconcile_findings
        WHERE finding_id = {id:String} GROUP BY finding_id`,
    query_params: { id },
    format: 'JSONEachRow',
  })
  return (await rs.json<{ current: FindingState }>())[0]?.current
}

/** The finding's state and the values its templates take, from its latest run's row. */
export async function readFinding(
  storage: Storage,
  rule: Rule,
  id: string,
): Promise<FindingNow | undefined> {
  const db = storage.database
  const rs = await storage.client.query({
    query: `SELECT s.current AS state, s.category AS category, s.key AS key,
          b.key_parts AS key_parts,
          if(b.left_amount IS NULL, '', toString(b.left_amount)) AS left_amount,
          b.left_currencies AS left_currencies, b.left_statuses AS left_statuses,
          if(b.right_amount IS NULL, '', toString(b.right_amount)) AS right_amount,
          b.right_currencies AS right_currencies, b.right_statuses AS right_statuses,
          b.flow_ids AS flow_ids
        FROM (
          SELECT finding_id, argMax(state, at) AS current, argMax(category, at) AS category,
            argMax(key, at) AS key
          FROM ${db}.reconcile_findings
          WHERE finding_id = {id:String} AND rule = {rule:String} GROUP BY finding_id
        ) AS s
        LEFT JOIN (
          SELECT * FROM ${db}.reconcile_breaks
          -- Runs before the one that opened the finding hold none of its rows: the bound
          -- on run_id (the table's first key column) keeps this from reading every run.
          WHERE run_id >= (SELECT minIf(run_id, run_id != '') FROM ${db}.reconcile_findings
              WHERE rule = {rule:String} AND finding_id = {id:String})
            AND finding_id = {id:String}
          ORDER BY run_id DESC LIMIT 1
        ) AS b ON b.finding_id = s.finding_id`,
    query_params: { id, rule: rule.name },
    format: 'JSONEachRow',
  })
  const [r] = await rs.json<{
    state: FindingState
    category: Category
    key: string
    key_parts: string[]
    left_amount: string
    left_currencies: string[]
    left_statuses: string[]
    right_amount: string
    right_currencies: string[]
    right_statuses: string[]
    flow_ids: string[]
  }>()
  if (!r) return undefined
  const keyParts: Record<string, string> = {}
  for (const source of [rule.rightSource, rule.leftSource])
    keyColumns(source).forEach((name, i) => {
      keyParts[name] = r.key_parts[i] ?? ''
    })
  const side = (amount: string, currencies: string[], statuses: string[]) => ({
    amount: amount === '' ? '' : formatAmount(amount, currencies[0] ?? ''),
    currency: [...new Set(currencies)].join(','),
    status: [...new Set(statuses)].join(','),
  })
  return {
    id,
    rule: rule.name,
    category: r.category,
    key: r.key,
    state: r.state,
    flowId: r.flow_ids.find((x) => x !== ''),
    values: {
      key: r.key,
      keyParts,
      left: side(r.left_amount, r.left_currencies, r.left_statuses),
      right: side(r.right_amount, r.right_currencies, r.right_statuses),
      findingId: id,
      rule: rule.name,
    },
  }
}
