// Errors the policies raise themselves; each names the policy so logs say what refused.

/** Base class: a policy refused or cut short a call. */
export class PolicyError extends Error {
  override name = 'PolicyError'
  /** The policy instance (breaker, limiter, bulkhead…) that raised it. */
  readonly policy: string
  constructor(policy: string, message: string) {
    super(message)
    this.policy = policy
  }
}

/** The breaker is open (or forced open, or out of half-open probes). */
export class BreakerOpenError extends PolicyError {
  override name = 'BreakerOpenError'
  readonly state: string
  constructor(policy: string, state: string) {
    super(policy, `circuit breaker '${policy}' is ${state.toLowerCase()}; call not permitted`)
    this.state = state
  }
}

/** The call ran past its timeout and was aborted. */
export class TimeoutError extends PolicyError {
  override name = 'TimeoutError'
  readonly timeoutMs: number
  constructor(policy: string, timeoutMs: number) {
    super(policy, `'${policy}' timed out after ${timeoutMs} ms`)
    this.timeoutMs = timeoutMs
  }
}

/** Every concurrent slot and queue place of the bulkhead is taken. */
export class BulkheadFullError extends PolicyError {
  override name = 'BulkheadFullError'
  constructor(policy: string, maxConcurrent: number, maxQueue: number) {
    super(policy, `bulkhead '${policy}' is full (${maxConcurrent} running, ${maxQueue} queued)`)
  }
}

/** The rate limiter has no permit now (or not within the allowed wait). */
export class RateLimitedError extends PolicyError {
  override name = 'RateLimitedError'
  /** When a permit is expected, for a Retry-After answer. */
  readonly retryAfterMs: number
  constructor(policy: string, retryAfterMs: number) {
    super(policy, `rate limiter '${policy}' refused the call; next permit in ${retryAfterMs} ms`)
    this.retryAfterMs = retryAfterMs
  }
}
