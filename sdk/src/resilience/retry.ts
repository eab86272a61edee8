import { context } from '@opentelemetry/api'
import { sleep, systemClock, type Clock } from '../clock.js'
import { ATTEMPT_KEY } from '../flow/context-keys.js'
import { BreakerOpenError, BulkheadFullError, RateLimitedError, TimeoutError } from './errors.js'
import { addEvent, annotate, BasePolicy, type Execution, type Next } from './policy.js'
import { guarded, type Guard, type GuardedRunner } from './guard.js'
import { registerPolicy } from './registry.js'
import type { RetryBudget } from './retry-budget.js'

export type Jitter = 'none' | 'full' | 'equal' | 'decorrelated'

export interface RetryOptions {
  /** Attempts in total, the first included. Default 3. */
  maxAttempts?: number
  /** First backoff. Default 100 ms. */
  initialDelayMs?: number
  /** Growth per attempt. Default 2. */
  multiplier?: number
  /** No backoff is longer than this. Default 10 000 ms. */
  maxDelayMs?: number
  /** Default `full` (AWS's recommendation: spreads synchronized clients best). */
  jitter?: Jitter
  /** Which errors are worth another attempt. Default: `isTransient`. */
  isRetryable?: (err: unknown) => boolean
  /** A server's Retry-After beyond this is not waited for: the error is thrown. Default 60 s. */
  maxRetryAfterMs?: number
  /** Shared between the calls to one dependency, so retries cannot multiply an outage. */
  budget?: RetryBudget
  /** Called before each retry; feeds span events and metrics. */
  onRetry?: (event: RetryEvent) => void
  random?: () => number
  clock?: Clock
}

export interface RetryEvent {
  retry: string
  /** The attempt about to start (2 for the first retry). */
  attempt: number
  delayMs: number
  error: unknown
}

/** Calls since the retry was created, by Resilience4j's `kind` label. */
export interface RetryTotals {
  successfulWithoutRetry: number
  successfulWithRetry: number
  failedWithoutRetry: number
  failedWithRetry: number
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_SOCKET',
])
const TRANSIENT_STATUS = new Set([408, 429, 502, 503, 504])

/** Reads `status`/`statusCode` from an error, as HTTP client errors usually carry it. */
export function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined
  const e = err as { status?: unknown; statusCode?: unknown }
  const s = e.status ?? e.statusCode
  return typeof s === 'number' ? s : undefined
}

/**
 * Seed 000: retry what may pass next time — timeouts, refused or reset connections, busy
 * or unavailable answers (408, 429, 502–504) — never business errors. An open breaker, a
 * full bulkhead or a local rate limit are not retried: waiting here only adds load.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof TimeoutError) return true
  if (err instanceof BreakerOpenError || err instanceof BulkheadFullError) return false
  if (err instanceof RateLimitedError) return false
  const status = statusOf(err)
  if (status !== undefined) return TRANSIENT_STATUS.has(status)
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && TRANSIENT_CODES.has(code)
}

/** Retry-After from the error: `retryAfterMs`, or a `retry-after` header in seconds or a date. */
export function retryAfterOf(err: unknown, nowMs: number): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined
  const e = err as { retryAfterMs?: unknown; headers?: unknown }
  if (typeof e.retryAfterMs === 'number') return e.retryAfterMs
  const headers = e.headers
  if (typeof headers !== 'object' || headers === null) return undefined
  // A fetch Headers object, or the plain header record of node:http and undici.
  const raw =
    headers instanceof Headers
      ? headers.get('retry-after')
      : (headers as Record<string, unknown>)['retry-after']
  if (typeof raw !== 'string' || raw.trim() === '') return undefined
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim()) * 1000
  const at = Date.parse(raw)
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs)
}

/** Retries a call with exponential backoff and jitter, within an optional retry budget. */
export class Retry extends BasePolicy implements GuardedRunner {
  readonly kind = 'retry'
  readonly name: string
  private readonly totals: RetryTotals = {
    successfulWithoutRetry: 0,
    successfulWithRetry: 0,
    failedWithoutRetry: 0,
    failedWithRetry: 0,
  }
  private readonly o: Required<Omit<RetryOptions, 'budget' | 'onRetry' | 'clock'>>
  private readonly budget: RetryBudget | undefined
  private readonly onRetry: ((e: RetryEvent) => void) | undefined
  private readonly clock: Clock

  constructor(name: string, options: RetryOptions = {}) {
    super()
    this.name = name
    this.o = {
      maxAttempts: options.maxAttempts ?? 3,
      initialDelayMs: options.initialDelayMs ?? 100,
      multiplier: options.multiplier ?? 2,
      maxDelayMs: options.maxDelayMs ?? 10_000,
      jitter: options.jitter ?? 'full',
      isRetryable: options.isRetryable ?? isTransient,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
      random: options.random ?? Math.random,
    }
    if (!Number.isInteger(this.o.maxAttempts) || this.o.maxAttempts < 1) {
      throw new RangeError(`maxAttempts must be an integer ≥ 1, got ${this.o.maxAttempts}`)
    }
    this.budget = options.budget
    this.onRetry = options.onRetry
    this.clock = options.clock ?? systemClock
    registerPolicy(this)
  }

  metrics(): RetryTotals {
    return { ...this.totals }
  }

  /** The backoff before retry number `retry` (1-based), given the previous one. */
  delay(retry: number, previousMs: number): number {
    const { initialDelayMs: base, multiplier, maxDelayMs: cap, jitter } = this.o
    const exp = Math.min(cap, base * multiplier ** (retry - 1))
    const r = this.o.random()
    switch (jitter) {
      case 'none':
        return exp
      case 'full':
        return Math.floor(r * exp)
      case 'equal':
        return Math.floor(exp / 2 + r * (exp / 2))
      case 'decorrelated':
        // AWS: sleep = min(cap, random_between(base, previous * 3)).
        return Math.floor(Math.min(cap, base + r * (Math.max(base, previousMs * 3) - base)))
    }
  }

  run<T>(next: Next<T>, e: Execution): Promise<T> {
    return this.runGuarded([], next, e)
  }

  /**
   * The first attempt without an async frame (most calls succeed, and each promise costs
   * more under an active context manager), sharing its one reaction with the guards inside.
   */
  runGuarded<T>(guards: readonly Guard[], inner: Next<T>, e: Execution): Promise<T> {
    annotate(e, 'retry.attempt', 1)
    return guarded(guards, inner, e, this.firstAttemptSucceeded as (r: T) => T, (err: unknown) =>
      this.retryAfter(err, (x) => guarded(guards, inner, x), e),
    )
  }

  /** Created once: the happy path allocates no closure for it. */
  private readonly firstAttemptSucceeded = (result: unknown): unknown => {
    this.budget?.onSuccess()
    this.totals.successfulWithoutRetry++
    return result
  }

  private async retryAfter<T>(firstError: unknown, next: Next<T>, e: Execution): Promise<T> {
    let err = firstError
    let previous = this.o.initialDelayMs
    for (let attempt = 1; ; attempt++) {
      const delayMs = this.retryDelay(err, attempt, previous, e.signal)
      if (delayMs === undefined) {
        if (attempt === 1) this.totals.failedWithoutRetry++
        else this.totals.failedWithRetry++
        throw err
      }
      previous = Math.max(delayMs, this.o.initialDelayMs)
      addEvent(
        e,
        'retry',
        { 'retry.attempt': attempt + 1, 'retry.delay_ms': delayMs, 'error.type': errorType(err) },
        this.clock.now(),
      )
      try {
        this.onRetry?.({ retry: this.name, attempt: attempt + 1, delayMs, error: err })
      } catch {
        // Instrumentation must not change the call's outcome.
      }
      await sleep(this.clock, delayMs, e.signal)
      annotate(e, 'retry.attempt', attempt + 1)
      try {
        const result = await this.retryAttempt(next, e, attempt + 1)
        this.budget?.onSuccess()
        this.totals.successfulWithRetry++
        return result
      } catch (next) {
        err = next
      }
    }
  }

  /** A retry runs with its attempt number in context, so the spans it starts carry it. */
  private retryAttempt<T>(next: Next<T>, e: Execution, attempt: number): Promise<T> {
    const child: Execution = { signal: e.signal, attempt, span: e.span }
    return context.with(context.active().setValue(ATTEMPT_KEY, attempt), next, undefined, child)
  }

  /** How long to wait before the next attempt, or undefined when there is none. */
  private retryDelay(
    err: unknown,
    attempt: number,
    previous: number,
    signal: AbortSignal | undefined,
  ): number | undefined {
    if (!this.o.isRetryable(err)) return undefined
    this.budget?.onFailure()
    if (attempt >= this.o.maxAttempts) return undefined
    if (this.budget && !this.budget.canRetry) return undefined
    if (signal?.aborted) return undefined
    const delayMs = this.delay(attempt, previous)
    const after = retryAfterOf(err, this.clock.now())
    if (after === undefined) return delayMs
    // The server said when to come back: sooner is rude, much later is not worth it.
    return after > this.o.maxRetryAfterMs ? undefined : Math.max(delayMs, after)
  }
}

function errorType(err: unknown): string {
  if (err instanceof Error) return err.name
  return typeof err
}
