import { context, ROOT_CONTEXT } from '@opentelemetry/api'
import { systemClock, type Clock, type TimerHandle } from '../clock.js'
import { BreakerOpenError } from './errors.js'
import { BasePolicy, type Execution, type Next } from './policy.js'
import { guarded, type Guard } from './guard.js'
import { registerPolicy } from './registry.js'
import {
  CountWindow,
  TimeWindow,
  type SlidingWindow,
  type WindowSnapshot,
} from './sliding-window.js'

/** Resilience4j's states, with the same names so Java and Node services read alike. */
export type BreakerState =
  'CLOSED' | 'OPEN' | 'HALF_OPEN' | 'DISABLED' | 'FORCED_OPEN' | 'METRICS_ONLY'

export const BREAKER_STATES: readonly BreakerState[] = [
  'CLOSED',
  'OPEN',
  'HALF_OPEN',
  'DISABLED',
  'FORCED_OPEN',
  'METRICS_ONLY',
]

export interface BreakerOptions {
  /** Open when this percent of calls in the window failed. Default 50. */
  failureRateThreshold?: number
  /** Open when this percent of calls were slow. Default 100 (off unless lowered). */
  slowCallRateThreshold?: number
  /** A call slower than this is slow. Default 60 000 ms. */
  slowCallDurationMs?: number
  /** `count`: the last N calls; `time`: the calls of the last N seconds. Default count. */
  slidingWindow?: { type: 'count' | 'time'; size: number }
  /** No rate is computed before the window holds this many calls. Default 100. */
  minimumCalls?: number
  /** How long to stay open: fixed ms, or by how many times it opened in a row (backoff). */
  waitInOpenMs?: number | ((openedInARow: number) => number)
  /** Move to half-open by timer when the wait ends, not on the next call. Default true. */
  eagerHalfOpen?: boolean
  /** Calls let through in half-open to probe the dependency. Default 10. */
  permittedCallsInHalfOpen?: number
  /** Reopen if half-open lasts longer than this with probes outstanding. 0 = no limit. */
  maxWaitInHalfOpenMs?: number
  /** Does this error count as a failure? Default: every error not ignored. */
  isFailure?: (err: unknown) => boolean
  /** Errors that count as neither success nor failure (business errors such as 4xx). */
  isIgnored?: (err: unknown) => boolean
  clock?: Clock
}

export interface StateTransition {
  breaker: string
  from: BreakerState
  to: BreakerState
  /** Unix milliseconds of the change. */
  at: number
}

export interface BreakerMetrics extends WindowSnapshot {
  state: BreakerState
  /** Calls refused since the breaker was created. */
  notPermittedCalls: number
  /** Totals since the breaker was created, by outcome (Resilience4j's `kind` label). */
  totals: { successful: number; failed: number; ignored: number; slow: number }
  /** When the state last changed (Unix ms). */
  lastTransitionAt: number
}

/** What a permitted call must report back, exactly once. */
export interface BreakerPermit {
  success(durationMs: number): void
  error(durationMs: number, err: unknown): void
  /** The call never ran (a later policy refused it): give the permit back uncounted. */
  release(): void
}

/**
 * A circuit breaker with Resilience4j's semantics: rates over a count or time window once
 * a minimum of calls is seen, slow calls as well as failures, a timer-driven move from
 * open to half-open, N probe calls in half-open, and forced, disabled and metrics-only
 * states for operators.
 */
interface AdmittedCall {
  state: BreakerState
  started: number
}

export class CircuitBreaker extends BasePolicy implements Guard {
  readonly kind = 'circuit_breaker'
  readonly name: string
  private readonly o: Required<Omit<BreakerOptions, 'clock' | 'waitInOpenMs' | 'slidingWindow'>>
  private readonly waitInOpen: (openedInARow: number) => number
  private readonly windowSpec: { type: 'count' | 'time'; size: number }
  private readonly clock: Clock
  private current: BreakerState = 'CLOSED'
  private window: SlidingWindow
  private openedInARow = 0
  private openUntil = 0
  private halfOpenPermits = 0
  private timer: TimerHandle | undefined
  private notPermitted = 0
  private readonly totals = { successful: 0, failed: 0, ignored: 0, slow: 0 }
  private lastTransition: number
  private readonly listeners = new Set<(t: StateTransition) => void>()

  constructor(name: string, options: BreakerOptions = {}) {
    super()
    this.name = name
    this.clock = options.clock ?? systemClock
    this.o = {
      failureRateThreshold: options.failureRateThreshold ?? 50,
      slowCallRateThreshold: options.slowCallRateThreshold ?? 100,
      slowCallDurationMs: options.slowCallDurationMs ?? 60_000,
      minimumCalls: options.minimumCalls ?? 100,
      eagerHalfOpen: options.eagerHalfOpen ?? true,
      permittedCallsInHalfOpen: options.permittedCallsInHalfOpen ?? 10,
      maxWaitInHalfOpenMs: options.maxWaitInHalfOpenMs ?? 0,
      isFailure: options.isFailure ?? (() => true),
      isIgnored: options.isIgnored ?? (() => false),
    }
    const wait = options.waitInOpenMs ?? 60_000
    this.waitInOpen = typeof wait === 'number' ? () => wait : wait
    this.windowSpec = options.slidingWindow ?? { type: 'count', size: 100 }
    for (const [key, v] of [
      ['failureRateThreshold', this.o.failureRateThreshold],
      ['slowCallRateThreshold', this.o.slowCallRateThreshold],
    ] as const) {
      if (!(v > 0 && v <= 100)) throw new RangeError(`${key} must be in (0, 100], got ${v}`)
    }
    if (!(this.o.permittedCallsInHalfOpen >= 1)) {
      throw new RangeError('permittedCallsInHalfOpen must be ≥ 1')
    }
    this.window = this.newWindow()
    this.lastTransition = this.clock.now()
    registerPolicy(this)
  }

  get state(): BreakerState {
    // A lazy breaker (no timer) becomes half-open when asked after its wait.
    if (this.current === 'OPEN' && this.clock.now() >= this.openUntil) this.toHalfOpen()
    return this.current
  }

  run<T>(next: Next<T>, e: Execution): Promise<T> {
    return guarded([this], next, e)
  }

  /** Guard: admits the call in the current state, or refuses it. */
  admit(e: Execution): AdmittedCall {
    let state: BreakerState
    try {
      state = this.admitState()
    } finally {
      this.annotate(e)
    }
    return { state, started: this.clock.now() }
  }

  settle(token: unknown, ok: boolean, error: unknown): void {
    const call = token as AdmittedCall
    const now = this.clock.now()
    if (ok) this.onSuccess(call.state, now - call.started, now)
    else this.onError(call.state, now - call.started, error, now)
  }

  release(token: unknown): void {
    this.giveBack((token as AdmittedCall).state)
  }

  private annotate(e: Execution): void {
    if (!e.span) return
    e.span.setAttribute('circuitbreaker.name', this.name)
    e.span.setAttribute('circuitbreaker.state', STATE_ATTRIBUTE[this.current])
  }

  /** Asks to make a call; throws `BreakerOpenError` when refused. */
  acquire(): BreakerPermit {
    const grantedIn = this.admitState()
    let settled = false
    const settle = (): boolean => {
      if (settled) return false
      settled = true
      return true
    }
    return {
      success: (ms) => {
        if (settle()) this.onSuccess(grantedIn, ms, this.clock.now())
      },
      error: (ms, err) => {
        if (settle()) this.onError(grantedIn, ms, err, this.clock.now())
      },
      release: () => {
        if (settle()) this.giveBack(grantedIn)
      },
    }
  }

  /** The state the call is admitted in; throws `BreakerOpenError` when refused. */
  private admitState(): BreakerState {
    const state = this.state
    if (state === 'OPEN' || state === 'FORCED_OPEN') return this.refuse(state)
    if (state === 'HALF_OPEN') {
      if (this.halfOpenPermits <= 0) return this.refuse(state)
      this.halfOpenPermits--
    }
    return state
  }

  private refuse(state: BreakerState): never {
    this.notPermitted++
    throw new BreakerOpenError(this.name, state)
  }

  private onSuccess(grantedIn: BreakerState, ms: number, now: number): void {
    this.onResult(grantedIn, false, ms >= this.o.slowCallDurationMs, now)
  }

  private onError(grantedIn: BreakerState, ms: number, err: unknown, now: number): void {
    if (this.o.isIgnored(err)) {
      this.totals.ignored++
      return this.giveBack(grantedIn)
    }
    this.onResult(grantedIn, this.o.isFailure(err), ms >= this.o.slowCallDurationMs, now)
  }

  private giveBack(grantedIn: BreakerState): void {
    if (grantedIn === 'HALF_OPEN' && this.current === 'HALF_OPEN') this.halfOpenPermits++
  }

  private onResult(grantedIn: BreakerState, failed: boolean, slow: boolean, now: number): void {
    if (failed) this.totals.failed++
    else this.totals.successful++
    if (slow) this.totals.slow++
    // A result from an earlier state (a slow call that outlived a transition) is dropped,
    // so a probe window is judged only on probes.
    const current = this.current
    if (grantedIn !== current) return
    if (current === 'DISABLED' || current === 'FORCED_OPEN') return
    this.window.record(failed, slow, now)
    if (current === 'METRICS_ONLY') return
    const minimum = current === 'HALF_OPEN' ? this.o.permittedCallsInHalfOpen : this.o.minimumCalls
    const t = this.window.totals(now)
    if (t.calls === 0 || t.calls < minimum) return // no rate before the minimum
    const tripped =
      (t.failed * 100) / t.calls >= this.o.failureRateThreshold ||
      (t.slow * 100) / t.calls >= this.o.slowCallRateThreshold
    if (current === 'CLOSED') {
      if (tripped) this.toOpen()
    } else if (current === 'HALF_OPEN') {
      if (tripped) this.toOpen()
      else this.transition('CLOSED')
    }
  }

  metrics(): BreakerMetrics {
    const state = this.state
    const minimum = state === 'HALF_OPEN' ? this.o.permittedCallsInHalfOpen : this.o.minimumCalls
    return {
      ...this.window.snapshot(this.clock.now(), minimum),
      state,
      notPermittedCalls: this.notPermitted,
      totals: { ...this.totals },
      lastTransitionAt: this.lastTransition,
    }
  }

  /** Called with every state change, at the moment it happens. Returns an unsubscribe. */
  onStateChange(listener: (t: StateTransition) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  // Operator controls, named as Resilience4j's so Java and Node runbooks read alike.
  /** Closed: calls pass and are counted; the open backoff starts again from the first wait. */
  transitionToClosedState(): void {
    this.transition('CLOSED')
  }
  /** Open as if tripped: calls are refused until the wait ends, then half-open. */
  transitionToOpenState(): void {
    this.toOpen()
  }
  /** Half-open: the permitted probes pass and decide between closed and open. */
  transitionToHalfOpenState(): void {
    this.toHalfOpen()
  }
  /** Forced open: every call is refused until an operator moves the breaker again. */
  transitionToForcedOpenState(): void {
    this.transition('FORCED_OPEN')
  }
  /** Disabled: every call passes, nothing is counted. */
  transitionToDisabledState(): void {
    this.transition('DISABLED')
  }
  /** Metrics only: every call passes and is counted; the breaker never opens. */
  transitionToMetricsOnlyState(): void {
    this.transition('METRICS_ONLY')
  }
  /** Back to a fresh closed breaker: window cleared, backoff forgotten. */
  reset(): void {
    this.openedInARow = 0
    this.transition('CLOSED')
  }

  private toOpen(): void {
    this.openedInARow++
    const wait = Math.max(0, this.waitInOpen(this.openedInARow))
    this.openUntil = this.clock.now() + wait
    this.transition('OPEN')
    if (this.o.eagerHalfOpen) {
      this.timer = this.clock.setTimeout(
        () =>
          // A timer inherits the context of the call that set it; this change is the
          // timer's own, not that call's.
          context.with(ROOT_CONTEXT, () => {
            this.timer = undefined
            if (this.current === 'OPEN') this.toHalfOpen()
          }),
        wait,
      )
    }
  }

  private toHalfOpen(): void {
    this.halfOpenPermits = this.o.permittedCallsInHalfOpen
    this.transition('HALF_OPEN')
    if (this.o.maxWaitInHalfOpenMs > 0) {
      this.timer = this.clock.setTimeout(
        () =>
          context.with(ROOT_CONTEXT, () => {
            this.timer = undefined
            if (this.current === 'HALF_OPEN') this.toOpen()
          }),
        this.o.maxWaitInHalfOpenMs,
      )
    }
  }

  private transition(to: BreakerState): void {
    const from = this.current
    if (this.timer) this.clock.clearTimeout(this.timer)
    this.timer = undefined
    if (to === 'CLOSED') this.openedInARow = 0
    // Every state starts with a fresh window, as in Resilience4j.
    this.window =
      to === 'HALF_OPEN' ? new CountWindow(this.o.permittedCallsInHalfOpen) : this.newWindow()
    this.current = to
    if (from === to) return
    const at = this.clock.now()
    this.lastTransition = at
    for (const listener of this.listeners) {
      try {
        listener({ breaker: this.name, from, to, at })
      } catch {
        // A failing listener (an exporter, a log sink) must not break the caller's call.
      }
    }
  }

  private newWindow(): SlidingWindow {
    const { type, size } = this.windowSpec
    return type === 'count' ? new CountWindow(size) : new TimeWindow(size)
  }
}

/** OTel attribute values of the states: lower case, as enum values are there. */
const STATE_ATTRIBUTE: Record<BreakerState, string> = {
  CLOSED: 'closed',
  OPEN: 'open',
  HALF_OPEN: 'half_open',
  DISABLED: 'disabled',
  FORCED_OPEN: 'forced_open',
  METRICS_ONLY: 'metrics_only',
}
