// `reckon reconcile --rule NAME [--from T] [--to T] [--dry-run]`: one run, to its end. Through
// the query API of a running Reckon when one answers (on the embedded engine it owns the data
// directory), else in this process against the configured storage. Exit 0 when the window
// is clean, 1 when it found breaks, 2 when the run could not be made.
import { parseArgs } from 'node:util'
import { nowNanos, parseTime } from '@reckon/collector/time'
import { COLLECTOR, migrate, openStorage } from '@reckon/collector/storage'
import { RECONCILER, Reconciler, type Report, type Run } from '@reckon/reconciler'
import type { ReckonConfig } from './config.js'
import { apiHeaders, keyAdvice, runningApi } from './running-api.js'

export const RECONCILE_HELP = `reckon reconcile --rule NAME [--from T] [--to T] [--dry-run]

  --rule NAME   a rule of reckon.yaml (reconcile.rules)
  --from T      start of the window: RFC 3339, Unix ms or now-24h (default: the rule's window back from --to)
  --to T        end of the window, exclusive (default: now)
  --dry-run     find without recording findings or compensating

Exit status: 0 no breaks, 1 breaks found, 2 the run failed or could not start.`

/** A usage problem: printed with the command's help, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError'
  constructor(
    message: string,
    readonly help: string = RECONCILE_HELP,
  ) {
    super(message)
  }
}

/** The run could not be started or followed: printed as it is, exit 2. */
export class ReconcileFailed extends Error {
  override name = 'ReconcileFailed'
}

interface Order {
  rule: string
  from?: string
  to?: string
  dryRun: boolean
}

function parse(args: string[]): Order {
  let values
  try {
    ;({ values } = parseArgs({
      args,
      options: {
        rule: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }))
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  if (!values.rule) throw new UsageError('--rule is required')
  return {
    rule: values.rule,
    ...(values.from !== undefined ? { from: values.from } : {}),
    ...(values.to !== undefined ? { to: values.to } : {}),
    dryRun: values['dry-run'] ?? false,
  }
}

type Progress = (run: Pick<Run, 'progress'>) => void

function progressLine(): { show: Progress; clear: () => void } {
  if (!process.stderr.isTTY) return { show: () => {}, clear: () => {} }
  let last = ''
  return {
    show: ({ progress }) => {
      const line = `  ${progress.stage} ${Math.round(progress.fraction * 100)}%`
      if (line === last) return
      last = line
      process.stderr.write(`\r\x1b[2K${line}`)
    },
    clear: () => {
      if (last) process.stderr.write('\r\x1b[2K')
    },
  }
}

async function json<T>(res: Response, what: string, base: string): Promise<T> {
  const body = (await res.json().catch(() => ({}))) as { message?: string }
  const advice = keyAdvice(base, res.status, 'operator')
  if (!res.ok)
    throw new ReconcileFailed(
      `${what}: ${body.message ?? `HTTP ${res.status}`}${advice ? `\n${advice}` : ''}`,
    )
  return body as T
}

async function viaApi(base: string, order: Order, show: Progress): Promise<Run> {
  const started = await json<{ id: string }>(
    await fetch(`${base}/api/reconcile/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...apiHeaders() },
      body: JSON.stringify(order),
    }),
    `could not start a run of ${order.rule} on ${base}`,
    base,
  )
  for (;;) {
    const run = await json<Run>(
      await fetch(`${base}/api/reconcile/runs/${started.id}`, { headers: apiHeaders() }),
      `could not read run ${started.id}`,
      base,
    )
    show(run)
    if (run.state !== 'running') return run
    await new Promise((r) => setTimeout(r, 250))
  }
}

async function inProcess(config: ReckonConfig, order: Order, show: Progress): Promise<Run> {
  const storage = openStorage(config)
  try {
    await migrate(storage, [COLLECTOR, RECONCILER])
    const reconciler = new Reconciler({ storage, config })
    const now = nowNanos()
    const to = order.to !== undefined ? parseTime('--to', order.to, now) : undefined
    const from = order.from !== undefined ? parseTime('--from', order.from, now) : undefined
    const { run, done } = await reconciler.run({
      rule: order.rule,
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
      dryRun: order.dryRun,
      by: `cli:${process.env.USER ?? 'local'}`,
    })
    const timer = setInterval(() => show(run), 200)
    try {
      return await done
    } finally {
      clearInterval(timer)
    }
  } finally {
    await storage.close()
  }
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

const money = (amounts: { currency: string; amount: string }[]): string =>
  amounts.map((a) => `${a.currency} ${a.amount}`).join(', ')

/** One line a person reads at the end of the run, then where to look further. */
export function summary(run: Run, report: Report): string {
  const parts = Object.entries(report.breaks)
    .filter(([, t]) => t.findings > 0)
    .map(([category, t]) => {
      const amounts = t.amounts.length > 0 ? ` (${money(t.amounts)})` : ''
      return `${t.findings} ${category.replace('_', ' ')}${amounts}`
    })
  const found = parts.length > 0 ? parts.join(', ') : 'no breaks'
  const pending = report.pending.keys > 0 ? `; ${report.pending.keys} pending (within grace)` : ''
  return `${run.rule} ${run.id}${run.dryRun ? ' (dry run)' : ''}: ${found}${pending}; left ${report.left.records} records, right ${report.right.records}, ${plural(report.matched.keys, 'key')} matched`
}

export async function reconcileCommand(config: ReckonConfig, args: string[]): Promise<number> {
  const order = parse(args)
  const names = config.reconcile.rules.map((r) => r.name)
  if (!names.includes(order.rule))
    throw new UsageError(
      `no rule ${JSON.stringify(order.rule)} in reckon.yaml (rules: ${names.join(', ') || 'none'})`,
    )
  const progress = progressLine()
  const base = await runningApi(config)
  let run: Run
  try {
    run = base
      ? await viaApi(base, order, progress.show)
      : await inProcess(config, order, progress.show)
  } finally {
    progress.clear()
  }
  if (run.state !== 'done' || !run.report) {
    console.error(`reckon: run ${run.id} of ${run.rule} failed: ${run.error}`)
    return 2
  }
  console.log(summary(run, run.report))
  if (base) {
    console.log(`  findings: ${base}/api/reconcile/runs/${run.id}/findings`)
    console.log(`  report:   ${base}/api/reconcile/runs/${run.id}/report.csv`)
  }
  const findings = Object.values(run.report.breaks).reduce((n, t) => n + t.findings, 0)
  return findings > 0 ? 1 : 0
}
