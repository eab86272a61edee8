import { BreakerOpenError, BulkheadFullError, RateLimitedError, TimeoutError } from './errors.js'
import { annotate, BasePolicy, type CallContext, type Execution, type Next } from './policy.js'
import { registerPolicy } from './registry.js'
import { isTransient } from './retry.js'

export interface FallbackOptions<F> {
  /** The degraded result: a cached value, a default, a "try later" answer. */
  degrade: (err: unknown, call: CallContext) => F | Promise<F>
  /**
   * Which failures get the degraded result. Default: the policies' own refusals (open
   * breaker, full bulkhead, rate limit, timeout) and transient errors; business errors
   * still reach the caller.
   */
  when?: (err: unknown) => boolean
}

export function isDegradable(err: unknown): boolean {
  return (
    err instanceof BreakerOpenError ||
    err instanceof BulkheadFullError ||
    err instanceof RateLimitedError ||
    err instanceof TimeoutError ||
    isTransient(err)
  )
}

/** Answers with a degraded result when the call (or a policy inside) fails. */
export class Fallback<F> extends BasePolicy<F> {
  readonly kind = 'fallback'
  readonly name: string
  readonly degrade: (err: unknown, call: CallContext) => F | Promise<F>
  private readonly when: (err: unknown) => boolean
  private used = 0

  constructor(name: string, options: FallbackOptions<F>) {
    super()
    this.name = name
    this.degrade = options.degrade
    this.when = options.when ?? isDegradable
    registerPolicy(this)
  }

  metrics(): { used: number } {
    return { used: this.used }
  }

  run<T>(next: Next<T>, e: Execution): Promise<T | F> {
    return next(e).catch((err: unknown) => {
      if (!this.when(err)) throw err
      this.used++
      annotate(e, 'fallback.name', this.name)
      annotate(e, 'fallback.used', true)
      return this.degrade(err, e)
    })
  }
}
