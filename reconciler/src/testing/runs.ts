// Running rules in tests as the scheduler and the API do: resolved from a reconcile
// section, under a lease, to completion.
import type { Storage } from '@reckon/collector/storage'
import type { ReconcilerConfig, RuleConfig, SourceConfig } from '../config.js'
import { Leases } from '../lease.js'
import { checkRules, resolveRules, type Rule } from '../rules.js'
import { startRun, type Run, type RunRequest } from '../run.js'
import { postgresSnapshotter } from '../sources/postgres.js'

export const EVENTS = (system: string, type: string): SourceConfig => ({ events: { system, type } })

export function ruleOf(
  rule: Partial<RuleConfig> & Pick<RuleConfig, 'left' | 'right'>,
  sources: Record<string, SourceConfig>,
): Rule {
  const config: ReconcilerConfig = {
    reconcile: { sources, rules: [{ name: 'test-rule', ...rule }] },
  }
  const problems = checkRules(config)
  if (problems.length > 0) throw new Error(problems.map((p) => p.message).join('; '))
  return resolveRules(config)[0]!
}

/** Runs a rule to its end as the reconciler does (PostgreSQL sources read with `pg`). */
export async function runToEnd(
  storage: Storage,
  req: Omit<RunRequest, 'by' | 'trigger'> & Partial<Pick<RunRequest, 'by' | 'trigger'>>,
): Promise<Run> {
  const { done } = await startRun(
    { storage, leases: new Leases(storage, 'test'), snapshot: postgresSnapshotter(storage) },
    { by: 'tester', trigger: 'demand', ...req },
  )
  const run = await done
  if (run.state !== 'done') throw new Error(`run failed: ${run.error}`)
  return run
}

export interface BreakRow {
  finding_id: string
  category: string
  pending: number
  key: string
  key_parts: string[]
  keys: string
  left_count: string
  left_amount: string | null
  right_count: string
  right_amount: string | null
  left_currencies: string[]
  left_statuses: string[]
  right_statuses: string[]
  flow_ids: string[]
}

export async function breaksOf(storage: Storage, run: Run): Promise<BreakRow[]> {
  const rs = await storage.client.query({
    query: `SELECT * FROM ${storage.database}.reconcile_breaks WHERE run_id = {run:String}
      ORDER BY category, key`,
    query_params: { run: run.id },
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_decimals: 1 },
  })
  return rs.json<BreakRow>()
}

/** "category key" of every finding (pending ones marked), sorted: what a user scans. */
export const found = (rows: BreakRow[]): string[] =>
  rows
    .filter((r) => r.category !== 'matched')
    .map((r) => `${r.category}${r.pending ? ' (pending)' : ''} ${r.key}`)
    .sort()
