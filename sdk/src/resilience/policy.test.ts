import { describe, expect, expectTypeOf, it } from 'vitest'
import { FakeClock } from '../testing/fake-clock.js'
import { Bulkhead } from './bulkhead.js'
import { CircuitBreaker } from './circuit-breaker.js'
import { BreakerOpenError, TimeoutError } from './errors.js'
import { Fallback } from './fallback.js'
import { policy } from './policy.js'
import { RateLimiter } from './rate-limiter.js'
import { Retry } from './retry.js'
import { Timeout } from './timeout.js'

class HttpError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`)
  }
}

function shop() {
  const clock = new FakeClock()
  const breaker = new CircuitBreaker('payment', {
    slidingWindow: { type: 'count', size: 4 },
    minimumCalls: 4,
    waitInOpenMs: 5000,
    permittedCallsInHalfOpen: 1,
    isIgnored: (e) => e instanceof HttpError && e.status < 500,
    clock,
  })
  const retry = new Retry('payment', { maxAttempts: 3, initialDelayMs: 10, jitter: 'none', clock })
  const timeout = new Timeout('payment', { timeoutMs: 100, clock })
  const fallback = new Fallback('payment', { degrade: () => 'queued for later' as const })
  const limiter = new RateLimiter('payment', {
    algorithm: 'token-bucket',
    permitsPerSecond: 1000,
    clock,
  })
  const bulkhead = new Bulkhead('payment', { maxConcurrent: 10, clock })
  const p = policy(fallback, retry, breaker, limiter, bulkhead, timeout)
  return { clock, breaker, retry, timeout, fallback, p }
}

describe('policy(...)', () => {
  it('types the result as the call’s or the fallback’s', () => {
    const { p } = shop()
    expectTypeOf(p.execute(async () => 42)).toEqualTypeOf<Promise<number | 'queued for later'>>()
    const plain = policy(new Retry('x'), new Timeout('x', { timeoutMs: 1 }))
    expectTypeOf(plain.execute(async () => 42)).toEqualTypeOf<Promise<number>>()
  })

  it('bounds each attempt with the timeout and retries it; the breaker counts every attempt', async () => {
    const { clock, breaker, p } = shop()
    const attempts: number[] = []
    const result = p.execute(async ({ attempt, signal }) => {
      attempts.push(attempt)
      if (attempt < 3)
        return new Promise<string>(() => signal?.addEventListener('abort', () => undefined))
      return 'captured'
    })
    await clock.advance(100 + 10 + 100 + 20)
    expect(await result).toBe('captured')
    expect(attempts).toEqual([1, 2, 3])
    expect(breaker.metrics()).toMatchObject({ calls: 3, failedCalls: 2 })
  })

  it('answers from the fallback once the breaker opens, without calling the dependency', async () => {
    const { clock, breaker, p } = shop()
    let calls = 0
    const failing = () =>
      p.execute(async () => {
        calls++
        throw new HttpError(503)
      })
    const first = failing()
    const second = failing()
    await clock.advance(1000)
    expect(await first).toBe('queued for later') // 3 attempts failed, then degraded
    expect(await second).toBe('queued for later')
    expect(breaker.state).toBe('OPEN')
    const before = calls
    expect(await failing()).toBe('queued for later')
    expect(calls).toBe(before) // refused by the open breaker
  })

  it('lets business errors through untouched: no retry, no fallback, breaker unaffected', async () => {
    const { breaker, p } = shop()
    let calls = 0
    const err = await p
      .execute(async () => {
        calls++
        throw new HttpError(409)
      })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(HttpError)
    expect(calls).toBe(1)
    expect(breaker.metrics().calls).toBe(0)
  })

  it('without a fallback, the caller sees the policy’s own error', async () => {
    const clock = new FakeClock()
    const breaker = new CircuitBreaker('stock', { clock })
    breaker.transitionToForcedOpenState()
    const p = policy(
      new Retry('stock', { clock }),
      breaker,
      new Timeout('stock', { timeoutMs: 50, clock }),
    )
    await expect(p.execute(async () => 'x')).rejects.toBeInstanceOf(BreakerOpenError)
    const slow = policy(new Timeout('slow', { timeoutMs: 50, clock })).execute(
      () => new Promise(() => undefined),
    )
    const caught = slow.catch((e: unknown) => e)
    await clock.advance(50)
    expect(await caught).toBeInstanceOf(TimeoutError)
  })

  it('refuses the same policy twice in one pipeline', () => {
    const r = new Retry('dup')
    expect(() => policy(r, r)).toThrow('policy retry:dup appears twice in one pipeline')
  })
})
