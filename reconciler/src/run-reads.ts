// Runs as the API and the CLI read them back: the latest version of each, with the parts
// of its report that move after it (ages, compensations) brought up to date until a person
// signs it off, which freezes it.
import type { Storage } from '@reckon/collector/storage'
import { liveTotals, type Report } from './report.js'
import type { Run, RunProgress, RunState } from './run.js'

export interface SignOff {
  by: string
  at: string
  comment: string
}

export interface RunView extends Run {
  signoff: SignOff | null
}

interface RunRow {
  id: string
  rule: string
  from: string
  to: string
  now: string
  dry_run: number
  trigger: string
  state: RunState
  started_by: string
  started_at: string
  finished_at: string | null
  progress: string
  report: string
  error: string
}

/** A run still `running` this long after it started was left by a process that stopped. */
const ABANDONED_AFTER_MS = 30 * 60_000

const iso = (t: string): string => `${t.replace(' ', 'T')}Z`

function view(r: RunRow, signoff: SignOff | null): RunView {
  const abandoned =
    r.state === 'running' && Date.now() - Date.parse(iso(r.started_at)) > ABANDONED_AFTER_MS
  return {
    id: r.id,
    rule: r.rule,
    from: iso(r.from),
    to: iso(r.to),
    now: iso(r.now),
    dryRun: r.dry_run === 1,
    trigger: r.trigger,
    state: abandoned ? 'failed' : r.state,
    startedBy: r.started_by,
    startedAt: iso(r.started_at),
    finishedAt: r.finished_at ? iso(r.finished_at) : null,
    progress: JSON.parse(r.progress) as RunProgress,
    report: r.report ? (JSON.parse(r.report) as Report) : null,
    error: abandoned ? 'abandoned: the process running it stopped before it finished' : r.error,
    signoff,
  }
}

const COLUMNS = `id, rule, toString(from) AS from, toString(to) AS to, toString(now) AS now,
  dry_run, trigger, state, started_by, toString(started_at) AS started_at,
  if(finished_at IS NULL, NULL, toString(finished_at)) AS finished_at, progress, report, error`

export async function listRuns(
  storage: Storage,
  q: { rule?: string; limit: number },
): Promise<RunView[]> {
  const { client, database: db } = storage
  const rs = await client.query({
    query: `SELECT ${COLUMNS} FROM ${db}.reconcile_runs FINAL
      WHERE ({rule:String} = '' OR rule = {rule:String})
      ORDER BY started_at DESC LIMIT {limit:UInt32}`,
    query_params: { rule: q.rule ?? '', limit: q.limit },
    format: 'JSONEachRow',
  })
  const rows = await rs.json<RunRow>()
  const signoffs = await signoffsOf(
    storage,
    rows.map((r) => r.id),
  )
  return rows.map((r) => view(r, signoffs.get(r.id) ?? null))
}

export async function getRun(storage: Storage, id: string): Promise<RunView | undefined> {
  const { client, database: db } = storage
  const rs = await client.query({
    query: `SELECT ${COLUMNS} FROM ${db}.reconcile_runs FINAL WHERE id = {id:String}`,
    query_params: { id },
    format: 'JSONEachRow',
  })
  const [row] = await rs.json<RunRow>()
  if (!row) return undefined
  const signoff = (await signoffsOf(storage, [id])).get(id) ?? null
  const run = view(row, signoff)
  if (run.report && !signoff) {
    Object.assign(run.report, await liveTotals(storage, run, { name: run.rule }))
  }
  return run
}

async function signoffsOf(storage: Storage, ids: string[]): Promise<Map<string, SignOff>> {
  if (ids.length === 0) return new Map()
  const { client, database: db } = storage
  const rs = await client.query({
    query: `SELECT run_id, argMin(by, at) AS first_by, toString(min(at)) AS first_at,
        argMin(comment, at) AS first_comment
      FROM ${db}.reconcile_signoffs WHERE run_id IN {ids:Array(String)} GROUP BY run_id`,
    query_params: { ids },
    format: 'JSONEachRow',
  })
  const rows = await rs.json<{
    run_id: string
    first_by: string
    first_at: string
    first_comment: string
  }>()
  return new Map(
    rows.map((r) => [r.run_id, { by: r.first_by, at: iso(r.first_at), comment: r.first_comment }]),
  )
}

/** The last run of each rule and its unresolved findings per category. */
export async function rulesState(
  storage: Storage,
): Promise<Map<string, { lastRun: RunView | null; open: Record<string, number> }>> {
  const { client, database: db } = storage
  const last = await client.query({
    query: `SELECT ${COLUMNS} FROM ${db}.reconcile_runs FINAL
      ORDER BY started_at DESC LIMIT 1 BY rule`,
    format: 'JSONEachRow',
  })
  const open = await client.query({
    query: `SELECT rule, category, toString(count()) AS n FROM (
        SELECT finding_id, any(rule) AS rule, any(category) AS category, argMax(state, at) AS current
        FROM ${db}.reconcile_findings GROUP BY finding_id)
      WHERE current IN ('open', 'compensating', 'compensated', 'escalated')
      GROUP BY rule, category`,
    format: 'JSONEachRow',
  })
  const out = new Map<string, { lastRun: RunView | null; open: Record<string, number> }>()
  const entry = (rule: string) => {
    let e = out.get(rule)
    if (!e) out.set(rule, (e = { lastRun: null, open: {} }))
    return e
  }
  for (const r of await last.json<RunRow>()) entry(r.rule).lastRun = view(r, null)
  for (const r of await open.json<{ rule: string; category: string; n: string }>())
    entry(r.rule).open[r.category] = Number(r.n)
  return out
}
