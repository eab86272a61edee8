// One reconciliation run of a rule over [from, to): under the rule's lease, the sources are
// compared in the engine, the breaks recorded, the findings' lifecycle moved on (unless it
// is a dry run), and the report written with the run.
import { randomBytes } from 'node:crypto'
import type { Storage } from '@reckon/collector/storage'
import { compareStatements } from './compare.js'
import { recordFindings } from './findings.js'
import { nanosText, nowNanos } from './nanos.js'
import type { Leases } from './lease.js'
import { buildReport, type Report } from './report.js'
import type { Rule } from './rules.js'
import { sourceSql, type RecordsBatch } from './sources/source-sql.js'

export type RunState = 'running' | 'done' | 'failed'

export interface RunRequest {
  rule: Rule
  /** Unix nanoseconds. */
  from: bigint
  to: bigint
  now?: bigint
  dryRun?: boolean
  /** Who started it: a person's identity, or `schedule`. */
  by: string
  trigger: 'schedule' | 'demand'
}

export interface RunProgress {
  stage: 'waiting' | 'reading sources' | 'comparing' | 'recording findings' | 'reporting' | 'done'
  /** 0 to 1, over the stages. */
  fraction: number
}

export interface Run {
  id: string
  rule: string
  from: string
  to: string
  now: string
  dryRun: boolean
  trigger: string
  state: RunState
  startedBy: string
  startedAt: string
  finishedAt: string | null
  progress: RunProgress
  report: Report | null
  error: string
}

/** A run of this rule is under way in this or another process. */
export class RunInProgress extends Error {
  override name = 'RunInProgress'
  readonly statusCode = 409
}

/** Reads a PostgreSQL source into a snapshot batch of the run; file and event sources need none. */
export type Snapshotter = (
  rule: Rule,
  side: 'left' | 'right',
  runId: string,
) => Promise<RecordsBatch>

export interface RunDeps {
  storage: Storage
  leases: Leases
  snapshot?: Snapshotter
  onProgress?: (run: Run) => void
}

export const RUN_LEASE_MS = 30 * 60_000

/** The engine's message without the query it quotes back (which can run to pages). */
export function engineMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return text.split(/: In scope |\. Stack trace:/)[0]!.slice(0, 500)
}

/** Run IDs sort by their start: `run_20261202-215012-123_9f2c4e1a0b7d`. */
export const newRunId = (): string => {
  const t = new Date().toISOString().replace(/[-:]/g, '')
  return `run_${t.slice(0, 8)}-${t.slice(9, 15)}-${t.slice(16, 19)}_${randomBytes(6).toString('hex')}`
}

/** Writes the run's current state (its table keeps the latest version of each run). */
async function save(storage: Storage, run: Run): Promise<void> {
  await storage.client.insert({
    table: `${storage.database}.reconcile_runs`,
    format: 'JSONEachRow',
    values: [
      {
        id: run.id,
        rule: run.rule,
        from: run.from,
        to: run.to,
        now: run.now,
        dry_run: run.dryRun ? 1 : 0,
        trigger: run.trigger,
        state: run.state,
        started_by: run.startedBy,
        started_at: run.startedAt,
        finished_at: run.finishedAt,
        progress: JSON.stringify(run.progress),
        report: run.report ? JSON.stringify(run.report) : '',
        error: run.error,
        version: String(nowNanos()),
      },
    ],
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  })
}

/**
 * Starts a run and returns it at once, running; `done` settles when it has finished (its
 * state then `done` or `failed`, never a rejection). Throws RunInProgress when another run of
 * the rule holds its lease.
 */
export async function startRun(
  deps: RunDeps,
  req: RunRequest,
): Promise<{ run: Run; done: Promise<Run> }> {
  const { storage, leases } = deps
  if (req.from >= req.to) throw new RangeError('from must be before to')
  const lease = await leases.acquire(`run:${req.rule.name}`, RUN_LEASE_MS)
  if (!lease)
    throw new RunInProgress(`a run of ${req.rule.name} is in progress; try again when it ends`)
  const now = req.now ?? nowNanos()
  const run: Run = {
    id: newRunId(),
    rule: req.rule.name,
    from: nanosText(req.from),
    to: nanosText(req.to),
    now: nanosText(now),
    dryRun: req.dryRun ?? false,
    trigger: req.trigger,
    state: 'running',
    startedBy: req.by,
    startedAt: nanosText(nowNanos()),
    finishedAt: null,
    progress: { stage: 'waiting', fraction: 0 },
    report: null,
    error: '',
  }
  try {
    await save(storage, run)
  } catch (err) {
    await leases.release(lease)
    throw err
  }
  const step = async (stage: RunProgress['stage'], fraction: number): Promise<void> => {
    run.progress = { stage, fraction }
    deps.onProgress?.(run)
    await save(storage, run)
  }
  const done = (async (): Promise<Run> => {
    try {
      const { rule } = req
      const graceNs = BigInt(rule.graceMs) * 1_000_000n
      const window = { lo: String(req.from - graceNs), hi: String(req.to + graceNs) }
      await step('reading sources', 0.1)
      const batch = async (side: 'left' | 'right'): Promise<RecordsBatch> => {
        const source = side === 'left' ? rule.leftSource : rule.rightSource
        if (!('postgres' in source)) return { kind: 'imports' }
        if (!deps.snapshot) throw new Error(`no PostgreSQL reader for ${rule[side]}`)
        return deps.snapshot(rule, side, run.id)
      }
      const db = storage.database
      const left = sourceSql(db, rule.left, rule.leftSource, 'l', window, await batch('left'))
      const right = sourceSql(db, rule.right, rule.rightSource, 'r', window, await batch('right'))
      await step('comparing', 0.3)
      const compare = compareStatements({
        db,
        runId: run.id,
        rule,
        left,
        right,
        from: String(req.from),
        to: String(req.to),
        now: String(now),
      })
      try {
        for (const query of compare.statements)
          await storage.client.command({ query, query_params: compare.params })
      } finally {
        await storage.client.command({ query: compare.cleanup }).catch(() => {})
      }
      if (!run.dryRun) {
        await step('recording findings', 0.7)
        await recordFindings(storage, run, req)
      }
      await step('reporting', 0.9)
      run.report = await buildReport(
        storage,
        run,
        rule,
        { left, right },
        {
          from: String(req.from),
          to: String(req.to),
        },
      )
      run.state = 'done'
      run.progress = { stage: 'done', fraction: 1 }
    } catch (err) {
      run.state = 'failed'
      run.error = engineMessage(err)
    } finally {
      run.finishedAt = nanosText(nowNanos())
      deps.onProgress?.(run)
      await save(storage, run).catch(() => {})
      await leases.release(lease).catch(() => {})
    }
    return run
  })()
  return { run, done }
}
