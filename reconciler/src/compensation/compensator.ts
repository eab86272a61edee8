// Compensations, carried out: for each rule with a `compensate` section, under the rule's
// lease (`comp:<rule>`), the findings that are open or compensating and due get an attempt —
// the query pattern first when the rule has a `verify` (the other system may have the record:
// then the finding was a late record, and the next run resolves it), then the `action`.
// Every call is written before it goes out and after it answers, so a reconciler killed mid-
// call leaves a `started` row the next holder closes and retries with the same Idempotency-Key:
// the other side applies the effect once. After `maxAttempts` failures, a person takes over.
import type { Storage } from '@reckon/collector/storage'
import { appendChanges, type FindingState } from '../findings.js'
import type { Leases } from '../lease.js'
import { nowNanos } from '../nanos.js'
import type { Compensation, Rule } from '../rules.js'
import {
  appendAttempt,
  attemptsState,
  dueFindings,
  readAttempts,
  type AttemptRow,
  type Step,
} from './attempts.js'
import { backoffMs, retryAfterMs } from './backoff.js'
import { sendCall, type CallResult, type TracerLike } from './http-call.js'
import { currentState, readFinding, type FindingNow } from './finding-now.js'
import { renderCall } from './templates.js'

export interface CompensatorOptions {
  storage: Storage
  leases: Leases
  rules: Iterable<Rule>
  /** Between ticks (default 10 s). */
  intervalMs?: number
  /** Per HTTP call (default 10 s). */
  timeoutMs?: number
  /** How long a rule's lease is held per tick (default 60 s); a stopped holder's lapses. */
  leaseMs?: number
  /** Findings per rule per tick (default 200). */
  batch?: number
  /** Calls in flight per rule (default 4). */
  concurrency?: number
  tracer?: TracerLike
  log?: (message: string, err?: unknown) => void
  random?: () => number
}

/** What one tick did, for logs and tests. */
export interface TickSummary {
  findings: number
  calls: number
  compensated: number
  verified: number
  failed: number
  escalated: number
  /** Rules another reconciler was compensating. */
  busy: string[]
}

const ACTIVE: readonly FindingState[] = ['open', 'compensating']
const BY = 'reconciler'

type Outcome = 'compensated' | 'verified' | 'failed' | 'escalated' | 'skipped' | 'deferred'

/** A call's answer with the row it started, for the outcome row. */
interface Sent extends CallResult {
  row: AttemptRow
  finishedAt: bigint
}

/** Stops a tick's work on a rule when its lease would lapse before a call could answer. */
class LeaseRunningOut extends Error {}

export class Compensator {
  private readonly storage: Storage
  private readonly rules: Rule[]
  private readonly log: NonNullable<CompensatorOptions['log']>
  private readonly intervalMs: number
  private readonly timeoutMs: number
  private readonly leaseMs: number
  private timer: NodeJS.Timeout | undefined
  private ticking: Promise<TickSummary> | undefined
  private running = false
  private again = false

  constructor(private readonly opts: CompensatorOptions) {
    this.storage = opts.storage
    this.rules = [...opts.rules].filter((r) => Object.keys(r.compensate).length > 0)
    this.log = opts.log ?? (() => {})
    this.intervalMs = opts.intervalMs ?? 10_000
    this.timeoutMs = opts.timeoutMs ?? 10_000
    this.leaseMs = opts.leaseMs ?? 60_000
  }

  /** Ticks every interval until stop(). */
  start(): void {
    if (this.running || this.rules.length === 0) return
    this.running = true
    this.schedule(0)
  }

  /** Stops ticking and waits for the tick under way. */
  async stop(): Promise<void> {
    this.running = false
    clearTimeout(this.timer)
    this.timer = undefined
    await this.ticking?.catch(() => {})
  }

  /** Asks for a tick soon (after a run found things, after a person's retry). */
  poke(): void {
    if (!this.running) return
    if (this.ticking) this.again = true
    else this.schedule(0)
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      void this.compensateOnce().then((s) => {
        if (!this.running) return
        const more =
          this.again || s.busy.length > 0 ? Math.min(this.intervalMs, 1000) : this.intervalMs
        this.again = false
        this.schedule(more)
      })
    }, ms)
    this.timer.unref()
  }

  /** One pass over every rule; never rejects (problems are logged). Ticks do not overlap. */
  async compensateOnce(): Promise<TickSummary> {
    while (this.ticking) await this.ticking.catch(() => {})
    const tick = this.tick()
    this.ticking = tick
    try {
      return await tick
    } finally {
      if (this.ticking === tick) this.ticking = undefined
    }
  }

  private async tick(): Promise<TickSummary> {
    const summary: TickSummary = {
      findings: 0,
      calls: 0,
      compensated: 0,
      verified: 0,
      failed: 0,
      escalated: 0,
      busy: [],
    }
    for (const rule of this.rules) {
      try {
        await this.compensateRule(rule, summary)
      } catch (err) {
        this.log(`compensating ${rule.name} failed`, err)
      }
    }
    return summary
  }

  private async compensateRule(rule: Rule, summary: TickSummary): Promise<void> {
    const lease = await this.opts.leases.acquire(`comp:${rule.name}`, this.leaseMs)
    if (!lease) {
      summary.busy.push(rule.name)
      return
    }
    // The local clock is read after the engine stamped the claim: a conservative deadline.
    const deadline = Date.now() + this.leaseMs
    try {
      const categories = Object.keys(rule.compensate)
      const due = await dueFindings(this.storage, rule.name, categories, this.opts.batch ?? 200)
      let next = 0
      const worker = async (): Promise<void> => {
        while (next < due.length) {
          const id = due[next++]!
          let outcome: Outcome
          try {
            outcome = await this.compensateFinding(rule, id, deadline, summary)
          } catch (err) {
            if (err instanceof LeaseRunningOut) {
              next = due.length
              summary.busy.push(rule.name)
              return
            }
            this.log(`compensating finding ${id} of ${rule.name} failed`, err)
            continue
          }
          if (outcome !== 'skipped' && outcome !== 'deferred') summary.findings += 1
          if (outcome === 'compensated') summary.compensated += 1
          if (outcome === 'verified') summary.verified += 1
          if (outcome === 'failed') summary.failed += 1
          if (outcome === 'escalated') summary.escalated += 1
        }
      }
      const n = Math.max(1, Math.min(this.opts.concurrency ?? 4, due.length))
      await Promise.all(Array.from({ length: n }, worker))
    } finally {
      await this.opts.leases.release(lease).catch((err) => this.log('release', err))
    }
  }

  /** One finding, re-read under the lease: whatever its rows say is to be done next. */
  private async compensateFinding(
    rule: Rule,
    id: string,
    deadline: number,
    summary: TickSummary,
  ): Promise<Outcome> {
    const f = await readFinding(this.storage, rule, id)
    const comp = f ? rule.compensate[f.category] : undefined
    if (!f || !comp || !ACTIVE.includes(f.state)) return 'skipped'
    const rows = await readAttempts(this.storage, id)
    const state = attemptsState(rows)
    const { last } = state
    const now = nowNanos()

    if (last?.outcome === 'started') {
      // Its holder stopped during the call (it held the lease, so no one else is calling):
      // the effect may have been applied, which the same Idempotency-Key makes safe to redo.
      const error = `no answer recorded: the reconciler stopped during the ${last.step} call`
      const holder = this.opts.leases.holder
      await this.write({ ...last, outcome: 'failed', error, finishedAt: now, nextAt: now, holder })
      state.failures += 1
      state.lastError = error
    } else if (last?.outcome === 'succeeded' || last?.outcome === 'found') {
      const what =
        last.outcome === 'found'
          ? `verify said the other system has it (attempt ${last.attempt})`
          : `its compensation succeeded (attempt ${last.attempt})`
      // Compensating: this process stopped before writing the state. Open: a run saw the
      // break again after it was compensated; the same key would make the other side
      // ignore another call, so it is for a person.
      if (f.state === 'compensating')
        return (await this.move(f, 'compensated', `${what}; the next run checks`))
          ? 'compensated'
          : 'skipped'
      return this.escalate(f, `needs a person: ${what}, yet the break is still there`)
    } else if (last?.outcome === 'refused') {
      return this.escalate(f, `needs a person: the other side refused: ${last.error}`)
    } else if (last?.outcome === 'failed' && last.nextAt !== null && last.nextAt > now) {
      return 'skipped'
    }
    if (state.failures >= comp.maxAttempts)
      return this.escalate(
        f,
        `needs a person: ${state.failures} attempts failed, last: ${state.lastError}`,
      )

    if (comp.escalate)
      return this.escalate(
        f,
        `needs a person: rule ${f.rule} hands ${f.category} findings to people`,
      )

    const attempt = state.lastAttempt + 1
    const first = comp.verify ? 'verify' : 'action'
    if (f.state === 'open') {
      if (!(await this.move(f, 'compensating', `attempt ${attempt}: ${first}`))) return 'skipped'
      f.state = 'compensating'
    }
    if (comp.verify) {
      const r = await this.call(f, comp, 'verify', attempt, deadline, summary)
      if (r.verdict === 'ok') {
        await this.move(
          f,
          'compensated',
          `verify: the other system has it (${r.status}); the next run checks`,
        )
        return 'verified'
      }
      if (r.verdict !== 'absent') return this.failed(f, comp, state.failures, r)
      if (!comp.action)
        return this.escalate(
          f,
          `needs a person: the other system does not have it (${r.error}) and the rule has no action`,
        )
    }
    // Someone may have resolved or ignored it during the verify: their word stands.
    const again = await readFinding(this.storage, rule, id)
    if (!again || !ACTIVE.includes(again.state)) return 'skipped'
    const r = await this.call(f, comp, 'action', attempt, deadline, summary)
    if (r.verdict === 'ok') {
      await this.move(
        f,
        'compensated',
        `the action answered ${r.status} (attempt ${attempt}); the next run checks`,
      )
      return 'compensated'
    }
    return this.failed(f, comp, state.failures, r)
  }

  /** One call with its rows before and after; throws LeaseRunningOut before sending late. */
  private async call(
    f: FindingNow,
    comp: Compensation,
    step: Exclude<Step, 'retry'>,
    attempt: number,
    deadline: number,
    summary: TickSummary,
  ): Promise<Sent> {
    if (deadline - Date.now() < this.timeoutMs + 1000) throw new LeaseRunningOut()
    const http = comp[step]!
    const startedAt = nowNanos()
    const row: AttemptRow = {
      findingId: f.id,
      attempt,
      step,
      outcome: 'started',
      httpStatus: null,
      error: '',
      traceId: '',
      startedAt,
      finishedAt: startedAt,
      nextAt: null,
      holder: this.opts.leases.holder,
    }
    summary.calls += 1
    const r = await sendCall(renderCall(http, f.values), {
      idempotencyKey: f.id,
      ...(f.flowId ? { flowId: f.flowId } : {}),
      ...(this.opts.tracer ? { tracer: this.opts.tracer } : {}),
      timeoutMs: this.timeoutMs,
      step,
      attributes: {
        'reckon.rule': f.rule,
        'reckon.finding.id': f.id,
        'reckon.finding.category': f.category,
        'reckon.key': f.key,
        'reckon.attempt': String(attempt),
      },
      beforeSend: (traceId) => this.write({ ...row, traceId }),
    })
    const finishedAt = nowNanos()
    const outcome =
      r.verdict === 'ok'
        ? step === 'verify'
          ? 'found'
          : 'succeeded'
        : r.verdict === 'absent'
          ? 'absent'
          : r.verdict === 'refused'
            ? 'refused'
            : 'failed'
    // A failure's row gets its next_at from failed() below; the others are final here.
    if (outcome !== 'failed')
      await this.write({
        ...row,
        outcome,
        httpStatus: r.status,
        error: r.error,
        traceId: r.traceId,
        finishedAt,
      })
    return { ...r, row, finishedAt }
  }

  private async failed(
    f: FindingNow,
    comp: Compensation,
    failuresBefore: number,
    r: Sent,
  ): Promise<Outcome> {
    const { row, finishedAt: end } = r
    if (r.verdict === 'refused')
      return this.escalate(f, `needs a person: the other side refused the ${row.step}: ${r.error}`)
    const failures = failuresBefore + 1
    const give = failures >= comp.maxAttempts
    const waitMs = Math.max(
      backoffMs(comp.backoff, failures, this.opts.random),
      retryAfterMs(r.retryAfter, comp.backoff.maxMs) ?? 0,
    )
    await this.write({
      ...row,
      outcome: 'failed',
      httpStatus: r.status,
      error: r.error,
      traceId: r.traceId,
      finishedAt: end,
      nextAt: give ? null : end + BigInt(waitMs) * 1_000_000n,
    })
    if (give)
      return this.escalate(f, `needs a person: ${failures} attempts failed, last: ${r.error}`)
    return 'failed'
  }

  private async escalate(f: FindingNow, why: string): Promise<Outcome> {
    return (await this.move(f, 'escalated', why)) ? 'escalated' : 'skipped'
  }

  /** Appends a state change if the finding is still where automation may move it. */
  private async move(f: FindingNow, state: FindingState, why: string): Promise<boolean> {
    const now = await currentState(this.storage, f.id)
    if (!now || !ACTIVE.includes(now)) return false
    await appendChanges(this.storage, [
      { findingId: f.id, rule: f.rule, category: f.category, key: f.key, state, by: BY, why },
    ])
    if (state === 'escalated') this.log(`finding ${f.id} (${f.rule}, ${f.key}) escalated: ${why}`)
    return true
  }

  private write(row: AttemptRow): Promise<void> {
    return appendAttempt(this.storage, row)
  }
}
