// The alerts of one process: every evaluation interval (node-cron), under a lease so two
// evaluators on one server neither evaluate a tick twice nor send twice, it evaluates the
// rules, writes each alert's state, writes what each receiver is owed to the outbox, and
// delivers what is due. Everything lives in the tables: a restart carries on with the
// firing alerts as they were (no new trigger) and still owes their resolves.
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Storage } from '@reckon/collector/storage'
import cron, { type ScheduledTask } from 'node-cron'
import { parseDuration } from '../duration.js'
import { Leases } from '../lease.js'
import type { AlertsConfig } from './config.js'
import { deliverDue, type DeliverySummary } from './deliver.js'
import { evaluateRule } from './evaluate.js'
import { plan } from './notify.js'
import { enqueue, lastTold } from './outbox.js'
import { Router } from './routing.js'
import { intervalCron, resolveAlertRules, type AlertRule } from './rules.js'
import { advanceRule, isActive, retire, type AlertInstance, type Outcome } from './state.js'
import {
  activeSilences,
  lastEvaluations,
  loadAlerts,
  recordEvaluations,
  saveAlerts,
  type EvaluationRecord,
} from './store.js'

export interface AlertsOptions {
  storage: Storage
  config: AlertsConfig
  /** The Reckon UI's address for links; default alerts.externalUrl, else the query API's. */
  externalUrl?: string
  log?: (message: string, err?: unknown) => void
  /** This process, as leases name it. */
  holder?: string
  /** Each rule's read is capped at this (default 10 s). */
  timeoutSeconds?: number
  /** Each notification's request (default 10 s). */
  sendTimeoutMs?: number
  /** Retry tuning (tests shorten it). */
  backoff?: { initialMs: number; maxMs: number }
}

export interface TickSummary {
  /** False when another evaluator holds the lease (it does this tick's work). */
  held: boolean
  evaluated: boolean
  alerts: AlertInstance[]
  enqueued: number
  delivery?: DeliverySummary
}

const LEASE = 'alerts'
/** How long a resolved alert is shown (and kept) after it resolved. */
export const RESOLVED_KEEP_MS = 60 * 60_000

export class Alerts {
  readonly storage: Storage
  readonly rules: readonly AlertRule[]
  readonly router: Router
  readonly leases: Leases
  readonly evaluationIntervalMs: number
  readonly resendIntervalMs: number
  readonly externalUrl: string
  readonly enabled: boolean
  private readonly log: NonNullable<AlertsOptions['log']>
  private readonly opts: AlertsOptions
  private task: ScheduledTask | undefined
  private retry: NodeJS.Timeout | undefined
  /** One tick or delivery pass at a time in this process. */
  private chain: Promise<unknown> = Promise.resolve()
  private stopped = false

  constructor(opts: AlertsOptions) {
    const { alerts } = opts.config
    this.opts = opts
    this.storage = opts.storage
    this.rules = resolveAlertRules(opts.config)
    this.router = new Router(opts.config)
    this.enabled = alerts.enabled ?? true
    this.leases = new Leases(
      opts.storage,
      opts.holder ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    )
    this.evaluationIntervalMs = parseDuration(alerts.evaluationInterval ?? '15s')
    this.resendIntervalMs = parseDuration(alerts.resendInterval ?? '1m')
    this.externalUrl = (opts.externalUrl ?? alerts.externalUrl ?? 'http://127.0.0.1:8318').replace(
      /\/+$/,
      '',
    )
    this.log = opts.log ?? (() => {})
  }

  /** endsAt of a firing alert sent to Alertmanager is now + this (as Prometheus sets it). */
  get firingValidMs(): number {
    return 4 * Math.max(this.evaluationIntervalMs, this.resendIntervalMs)
  }

  private leaseMs(): number {
    return Math.max(30_000, 3 * this.evaluationIntervalMs)
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work)
    this.chain = next.catch(() => {})
    return next
  }

  /** One evaluation and delivery, if this process holds the lease. */
  tick(nowMs = Date.now()): Promise<TickSummary> {
    return this.serial(async () => {
      const lease = await this.leases.acquire(LEASE, this.leaseMs())
      if (!lease) return { held: false, evaluated: false, alerts: [], enqueued: 0 }
      try {
        // Another evaluator that held the lease a moment ago has done this tick's evaluation.
        const last = await lastEvaluations(this.storage)
        const recent = [...last.values()].some(
          (e) => e.holder !== this.leases.holder && nowMs - e.atMs < this.evaluationIntervalMs / 2,
        )
        let alerts: AlertInstance[] = []
        let enqueued = 0
        if (!recent) {
          alerts = await this.evaluate(nowMs)
          enqueued = await this.notify(alerts, nowMs)
        }
        const delivery = await this.deliver(nowMs)
        return { held: true, evaluated: !recent, alerts, enqueued, delivery }
      } finally {
        await this.leases.release(lease).catch((err: unknown) => this.log('release', err))
      }
    })
  }

  /** Evaluates every rule and writes the alerts' states; returns them all. */
  private async evaluate(nowMs: number): Promise<AlertInstance[]> {
    const prev = await loadAlerts(this.storage)
    const byRule = new Map<string, AlertInstance[]>()
    for (const a of prev) byRule.set(a.rule, [...(byRule.get(a.rule) ?? []), a])
    const next: AlertInstance[] = []
    const records: EvaluationRecord[] = []
    const running = new Set<string>()
    for (const rule of this.rules) {
      if (!rule.enabled || !this.enabled) continue
      running.add(rule.name)
      const started = performance.now()
      let outcome: Outcome
      try {
        outcome = {
          evaluation: await evaluateRule(rule, {
            storage: this.storage,
            nowNs: BigInt(nowMs) * 1_000_000n,
            externalUrl: this.externalUrl,
            timeoutSeconds: this.opts.timeoutSeconds ?? 10,
          }),
        }
      } catch (err) {
        outcome = { error: err instanceof Error ? err.message : String(err) }
        this.log(`alert rule ${rule.name} cannot be evaluated`, err)
      }
      const alerts = advanceRule(rule, byRule.get(rule.name) ?? [], outcome, nowMs)
      next.push(...alerts)
      records.push({
        rule: rule.name,
        atMs: nowMs,
        holder: this.leases.holder,
        ok: 'evaluation' in outcome,
        error: 'error' in outcome ? outcome.error : '',
        judged: 'evaluation' in outcome ? outcome.evaluation.judged : 0,
        active: alerts.filter((a) => isActive(a.state)).length,
        durationMs: performance.now() - started,
      })
    }
    // A rule turned off or removed resolves what it had firing.
    for (const [rule, alerts] of byRule) if (!running.has(rule)) next.push(...retire(alerts, nowMs))
    const forget = next.filter(
      (a) => a.state === 'resolved' && nowMs - (a.resolvedAtMs ?? nowMs) > RESOLVED_KEEP_MS,
    )
    const keep = next.filter((a) => !forget.includes(a))
    await saveAlerts(this.storage, keep, forget)
    await recordEvaluations(this.storage, records)
    return keep
  }

  /** Writes to the outbox what each receiver is owed; returns how many notifications. */
  private async notify(alerts: AlertInstance[], nowMs: number): Promise<number> {
    if (this.router.receivers.size === 0) return 0
    const relevant = alerts.filter((a) => a.state !== 'pending')
    const [told, silences] = await Promise.all([
      lastTold(
        this.storage,
        relevant.map((a) => a.fingerprint),
      ),
      activeSilences(this.storage, nowMs),
    ])
    const planned = plan({
      alerts: relevant,
      router: this.router,
      told,
      silenced: new Set(silences.keys()),
      nowMs,
      resendMs: this.resendIntervalMs,
      externalUrl: this.externalUrl,
    })
    await enqueue(this.storage, planned, nowMs)
    return planned.length
  }

  private async deliver(nowMs: number): Promise<DeliverySummary> {
    const summary = await deliverDue(this.storage, this.router, {
      nowMs,
      firingValidMs: this.firingValidMs,
      externalUrl: this.externalUrl,
      timeoutMs: this.opts.sendTimeoutMs ?? 10_000,
      ...(this.opts.backoff ? { backoff: this.opts.backoff } : {}),
    })
    for (const e of ['failed'] as const)
      if (summary[e] > 0) this.log(`${summary[e]} alert notifications could not be delivered`)
    this.scheduleRetry(summary.nextDueMs, nowMs)
    return summary
  }

  /** Delivers what is due without evaluating (retries between ticks), under the lease. */
  deliverOnce(nowMs = Date.now()): Promise<DeliverySummary | undefined> {
    return this.serial(async () => {
      const lease = await this.leases.acquire(LEASE, this.leaseMs())
      if (!lease) return undefined
      try {
        return await this.deliver(nowMs)
      } finally {
        await this.leases.release(lease).catch((err: unknown) => this.log('release', err))
      }
    })
  }

  /** A retry due before the next tick is not left waiting for it. */
  private scheduleRetry(dueMs: number | undefined, nowMs: number): void {
    if (!this.task || this.stopped || dueMs === undefined) return
    const wait = Math.max(0, dueMs - nowMs)
    if (wait >= this.evaluationIntervalMs) return
    clearTimeout(this.retry)
    this.retry = setTimeout(() => {
      this.deliverOnce().catch((err: unknown) => this.log('alert delivery failed', err))
    }, wait + 50)
    this.retry.unref()
  }

  start(): void {
    if (this.task || !this.enabled) return
    this.stopped = false
    this.task = cron.schedule(
      intervalCron(this.evaluationIntervalMs) ?? '*/15 * * * * *',
      async () => {
        try {
          await this.tick()
        } catch (err) {
          this.log('alert evaluation failed', err)
        }
      },
      { name: 'alerts', noOverlap: true },
    )
  }

  /** Stops the schedule and waits for the tick under way. */
  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.retry)
    await this.task?.destroy()
    this.task = undefined
    await this.chain
  }
}
