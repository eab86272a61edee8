// The reconciler of one process: its rules, their schedules, and runs started on demand.
// Everything it knows lives in the tables, so two of them on one server (or a restart)
// see the same runs and findings; leases keep them from running a rule twice at once.
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import type { Storage } from '@reckon/collector/storage'
import cron, { type ScheduledTask } from 'node-cron'
import {
  Compensator,
  type CompensatorOptions,
  type TickSummary,
} from './compensation/compensator.js'
import { actOnFinding, type OperatorAction } from './compensation/operator.js'
import { dropLeftoverStages } from './compare.js'
import type { ReconcilerConfig, SourceConfig } from './config.js'
import { parseDuration } from './duration.js'
import { Leases } from './lease.js'
import { nowNanos } from './nanos.js'
import { resolveRules, type Rule } from './rules.js'
import { RUN_LEASE_MS, RunInProgress, startRun, type Run, type Snapshotter } from './run.js'
import { postgresSnapshotter } from './sources/postgres.js'

export interface ReconcilerOptions {
  storage: Storage
  config: ReconcilerConfig
  /** Reads PostgreSQL sources into a run's snapshot; default: with `pg`, at each run. */
  snapshot?: Snapshotter
  log?: (message: string, err?: unknown) => void
  /** Compensation tuning (tests shorten timeouts and leases; the CLI passes a tracer). */
  compensation?: Omit<CompensatorOptions, 'storage' | 'leases' | 'rules' | 'log'>
}

export interface RunOrder {
  rule: string
  /** Unix nanoseconds; default: the rule's window back from now. */
  from?: bigint
  to?: bigint
  dryRun?: boolean
  by: string
  trigger?: 'schedule' | 'demand'
}

/** A rule name that reckon.yaml does not define. */
export class UnknownRule extends Error {
  override name = 'UnknownRule'
  readonly statusCode = 404
}

/** A source name that reckon.yaml does not define. */
export class UnknownSource extends Error {
  override name = 'UnknownSource'
  readonly statusCode = 404
}

export class Reconciler {
  readonly storage: Storage
  readonly rules: ReadonlyMap<string, Rule>
  readonly sources: ReadonlyMap<string, SourceConfig>
  readonly leases: Leases
  readonly compensator: Compensator
  private readonly tasks: ScheduledTask[] = []
  private readonly running = new Set<Promise<Run>>()
  private readonly log: NonNullable<ReconcilerOptions['log']>
  private readonly snapshot: Snapshotter

  constructor(opts: ReconcilerOptions) {
    this.storage = opts.storage
    this.rules = new Map(resolveRules(opts.config).map((r) => [r.name, r]))
    this.sources = new Map(Object.entries(opts.config.reconcile.sources))
    this.leases = new Leases(
      opts.storage,
      `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    )
    this.log = opts.log ?? (() => {})
    const interval = opts.config.reconcile.compensationInterval
    this.compensator = new Compensator({
      storage: this.storage,
      leases: this.leases,
      rules: this.rules.values(),
      log: this.log,
      ...(interval ? { intervalMs: parseDuration(interval) } : {}),
      ...opts.compensation,
    })
    this.snapshot = opts.snapshot ?? postgresSnapshotter(opts.storage)
  }

  rule(name: string): Rule {
    const rule = this.rules.get(name)
    if (!rule) {
      const known = [...this.rules.keys()].join(', ') || 'none in reckon.yaml'
      throw new UnknownRule(`no rule ${JSON.stringify(name)} (rules: ${known})`)
    }
    return rule
  }

  source(name: string): SourceConfig {
    const source = this.sources.get(name)
    if (!source) {
      const known = [...this.sources.keys()].join(', ') || 'none in reckon.yaml'
      throw new UnknownSource(`no source ${JSON.stringify(name)} (sources: ${known})`)
    }
    return source
  }

  /** Starts a run; `done` settles with it finished. Throws RunInProgress, UnknownRule. */
  async run(order: RunOrder): Promise<{ run: Run; done: Promise<Run> }> {
    const rule = this.rule(order.rule)
    const to = order.to ?? nowNanos()
    const from = order.from ?? to - BigInt(rule.windowMs) * 1_000_000n
    const started = await startRun(
      {
        storage: this.storage,
        leases: this.leases,
        snapshot: this.snapshot,
      },
      {
        rule,
        from,
        to,
        dryRun: order.dryRun ?? false,
        by: order.by,
        trigger: order.trigger ?? 'demand',
      },
    )
    this.running.add(started.done)
    void started.done.finally(() => {
      this.running.delete(started.done)
      // What the run found is compensated now, not at the next tick.
      if (!started.run.dryRun) this.compensator.poke()
    })
    return started
  }

  /** A person's retry, resolve or ignore of a finding (throws 404 / 409 errors). */
  async act(id: string, action: OperatorAction, by: string, why: string): Promise<void> {
    await actOnFinding(this.storage, this.rules, id, action, by, why)
    if (action === 'retry') this.compensator.poke()
  }

  /** One compensation pass over every rule (the loop does this every interval). */
  compensateOnce(): Promise<TickSummary> {
    return this.compensator.compensateOnce()
  }

  /**
   * Schedules every rule that has a schedule (runs look back over the rule's window) and
   * starts compensating.
   */
  start(): void {
    dropLeftoverStages(this.storage, RUN_LEASE_MS).then(
      (dropped) => {
        if (dropped.length > 0)
          this.log(`dropped ${dropped.length} staging tables of runs that did not finish`)
      },
      (err: unknown) => this.log('could not drop the staging tables of unfinished runs', err),
    )
    this.compensator.start()
    for (const rule of this.rules.values()) {
      if (!rule.schedule) continue
      const task = cron.schedule(
        rule.schedule,
        async () => {
          try {
            const { run, done } = await this.run({
              rule: rule.name,
              by: 'schedule',
              trigger: 'schedule',
            })
            const finished = await done
            if (finished.state === 'failed')
              this.log(`run ${run.id} of ${rule.name} failed: ${finished.error}`)
          } catch (err) {
            // Another reconciler holds the rule: its run covers this tick.
            if (!(err instanceof RunInProgress)) this.log(`could not run ${rule.name}`, err)
          }
        },
        { name: `reconcile:${rule.name}`, noOverlap: true },
      )
      this.tasks.push(task)
    }
  }

  /** Stops the schedules and compensations, and waits for the runs and calls under way. */
  async stop(): Promise<void> {
    for (const task of this.tasks.splice(0)) await task.destroy()
    await this.compensator.stop()
    await Promise.allSettled([...this.running])
  }
}
