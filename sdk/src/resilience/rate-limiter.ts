import { sleep, systemClock, type Clock } from '../clock.js'
import { RateLimitedError } from './errors.js'
import { annotate, BasePolicy, type Execution, type Next } from './policy.js'
import { registerPolicy } from './registry.js'

export type RateLimiterOptions = (
  | {
      /** Refills `permitsPerSecond` continuously and holds up to `burst` (default: one second's worth). */
      algorithm: 'token-bucket'
      permitsPerSecond: number
      burst?: number
    }
  | {
      /** At most `limit` calls in any `windowMs` (an exact sliding log, O(limit) memory). */
      algorithm: 'sliding-window'
      limit: number
      windowMs: number
    }
) & {
  /** Wait up to this long for a permit instead of refusing at once. Default 0. */
  maxWaitMs?: number
  clock?: Clock
}

export interface RateLimiterMetrics {
  availablePermits: number
  waiting: number
  rejected: number
}

/** Decides, for one permit at `now`, how long to wait: 0 for now, or the wait it would take. */
interface Strategy {
  /** Reserves a permit when its wait is within `maxWaitMs`; returns the wait, or -wait if not. */
  reserve(now: number, maxWaitMs: number): number
  /** Gives back a permit reserved for `at` whose caller stopped waiting. */
  release(at: number): void
  available(now: number): number
}

class TokenBucket implements Strategy {
  private tokens: number
  private refilledAt: number
  constructor(
    private readonly perMs: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst
    this.refilledAt = now
  }
  private refill(now: number): void {
    if (now > this.refilledAt) {
      this.tokens = Math.min(this.burst, this.tokens + (now - this.refilledAt) * this.perMs)
      this.refilledAt = now
    }
  }
  reserve(now: number, maxWaitMs: number): number {
    this.refill(now)
    // Pending reservations leave the bucket negative; the next permit waits behind them.
    const wait = this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) / this.perMs)
    if (wait > maxWaitMs) return -Math.max(1, wait)
    this.tokens -= 1
    return wait
  }
  release(): void {
    this.tokens = Math.min(this.burst, this.tokens + 1)
  }
  available(now: number): number {
    this.refill(now)
    return Math.max(0, Math.floor(this.tokens))
  }
}

class SlidingLog implements Strategy {
  /** Grant times of the last `limit` permits (future times for reserved ones). */
  private readonly grants: Float64Array
  /** What each slot held before its latest grant, to undo a reservation. */
  private readonly replaced: Float64Array
  private oldest = 0
  constructor(
    limit: number,
    private readonly windowMs: number,
  ) {
    this.grants = new Float64Array(limit).fill(-Infinity)
    this.replaced = new Float64Array(limit).fill(-Infinity)
  }
  reserve(now: number, maxWaitMs: number): number {
    const at = Math.max(now, (this.grants[this.oldest] ?? -Infinity) + this.windowMs)
    const wait = at - now
    if (wait > maxWaitMs) return -Math.max(1, wait)
    this.replaced[this.oldest] = this.grants[this.oldest]!
    this.grants[this.oldest] = at
    this.oldest = (this.oldest + 1) % this.grants.length
    return wait
  }
  release(at: number): void {
    // Only the latest reservation can be undone exactly; an earlier one keeps its slot,
    // which errs on the side of waiting longer, never of admitting early.
    const last = (this.oldest + this.grants.length - 1) % this.grants.length
    if (this.grants[last] !== at) return
    this.grants[last] = this.replaced[last]!
    this.oldest = last
  }
  available(now: number): number {
    let n = 0
    for (const t of this.grants) if (t + this.windowMs <= now) n++
    return n
  }
}

/** Limits how often a dependency is called; refuses, or waits a bounded time for a permit. */
export class RateLimiter extends BasePolicy {
  readonly kind = 'rate_limiter'
  readonly name: string
  private readonly strategy: Strategy
  private readonly maxWaitMs: number
  private readonly clock: Clock
  private waiting = 0
  private rejected = 0

  constructor(name: string, options: RateLimiterOptions) {
    super()
    this.name = name
    this.clock = options.clock ?? systemClock
    this.maxWaitMs = options.maxWaitMs ?? 0
    if (options.algorithm === 'token-bucket') {
      const rate = options.permitsPerSecond
      if (!(rate > 0)) throw new RangeError(`permitsPerSecond must be > 0, got ${rate}`)
      const burst = options.burst ?? Math.max(1, rate)
      if (!(burst >= 1)) throw new RangeError(`burst must be ≥ 1, got ${burst}`)
      this.strategy = new TokenBucket(rate / 1000, burst, this.clock.now())
    } else {
      const { limit, windowMs } = options
      if (!Number.isInteger(limit) || limit < 1) {
        throw new RangeError(`limit must be an integer ≥ 1, got ${limit}`)
      }
      if (!(windowMs > 0)) throw new RangeError(`windowMs must be > 0, got ${windowMs}`)
      this.strategy = new SlidingLog(limit, windowMs)
    }
    registerPolicy(this)
  }

  metrics(): RateLimiterMetrics {
    return {
      availablePermits: this.strategy.available(this.clock.now()),
      waiting: this.waiting,
      rejected: this.rejected,
    }
  }

  /** Takes a permit now or throws `RateLimitedError`; for callers outside a pipeline. */
  tryAcquire(): void {
    const wait = this.strategy.reserve(this.clock.now(), 0)
    if (wait < 0) {
      this.rejected++
      throw new RateLimitedError(this.name, -wait)
    }
  }

  run<T>(next: Next<T>, e: Execution): Promise<T> {
    annotate(e, 'ratelimiter.name', this.name)
    const wait = this.strategy.reserve(this.clock.now(), this.maxWaitMs)
    if (wait === 0) {
      annotate(e, 'ratelimiter.result', 'allowed')
      return next(e)
    }
    if (wait < 0) {
      this.rejected++
      annotate(e, 'ratelimiter.result', 'rejected')
      return Promise.reject(new RateLimitedError(this.name, -wait))
    }
    annotate(e, 'ratelimiter.result', 'waited')
    annotate(e, 'ratelimiter.wait_ms', wait)
    this.waiting++
    const at = this.clock.now() + wait
    return sleep(this.clock, wait, e.signal).then(
      () => {
        this.waiting--
        return next(e)
      },
      (err: unknown) => {
        // Aborted while waiting: the permit was never used, so the next caller may have it.
        this.waiting--
        this.strategy.release(at)
        throw err
      },
    )
  }
}
