import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FakeClock } from '../testing/fake-clock.js'
import { BreakerOpenError, TimeoutError } from './errors.js'
import { Retry, isTransient, type RetryEvent, type RetryOptions } from './retry.js'
import { RetryBudget } from './retry-budget.js'

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`)
  }
}

function retry(options: RetryOptions = {}) {
  const clock = new FakeClock()
  const events: RetryEvent[] = []
  const r = new Retry('payment', {
    jitter: 'none',
    clock,
    onRetry: (e) => events.push(e),
    ...options,
  })
  /** Runs the retry over a call that fails with `errors` in turn, then succeeds. */
  const run = (errors: Error[]) => {
    const started = clock.now()
    const times: number[] = []
    const p = r
      .execute(async ({ attempt }) => {
        times.push(clock.now() - started)
        const err = errors[attempt - 1]
        if (err) throw err
        return `ok on attempt ${attempt}`
      })
      .then(
        (v) => ({ value: v, times }),
        (e: unknown) => ({ error: e, times }),
      )
    return p
  }
  return { r, clock, events, run }
}

describe('Retry', () => {
  it('retries transient failures with exponential backoff until one passes', async () => {
    const { clock, events, run } = retry({ maxAttempts: 4 })
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })
    const p = run([new HttpError(503), new TimeoutError('payment', 500), reset])
    await clock.advance(1_000)
    expect(await p).toEqual({ value: 'ok on attempt 4', times: [0, 100, 300, 700] })
    expect(events.map((e) => [e.attempt, e.delayMs])).toEqual([
      [2, 100],
      [3, 200],
      [4, 400],
    ])
  })

  it('gives up after the last attempt with the last error, unchanged', async () => {
    const { clock, run } = retry({ maxAttempts: 2 })
    const last = new HttpError(502)
    const p = run([new HttpError(503), last, new HttpError(504)])
    await clock.advance(1_000)
    expect(await p).toEqual({ error: last, times: [0, 100] })
  })

  it('never retries business errors, an open breaker or a full bulkhead', async () => {
    for (const err of [new HttpError(400), new HttpError(404), new HttpError(409)]) {
      const { clock, run } = retry()
      const p = run([err])
      await clock.advance(10_000)
      expect(await p).toEqual({ error: err, times: [0] })
    }
    expect(isTransient(new BreakerOpenError('payment', 'OPEN'))).toBe(false)
    expect(isTransient(new Error('validation failed'))).toBe(false)
  })

  it('waits as long as Retry-After asks, and does not wait for one beyond the limit', async () => {
    const { clock, run } = retry({ maxRetryAfterMs: 30_000 })
    const p = run([new HttpError(429, { 'retry-after': '5' })])
    await clock.advance(10_000)
    expect(await p).toEqual({ value: 'ok on attempt 2', times: [0, 5_000] })

    const tooLong = new HttpError(503, { 'retry-after': '120' })
    const q = run([tooLong])
    await clock.advance(200_000)
    expect(await q).toEqual({ error: tooLong, times: [0] })
  })

  it('keeps every jittered delay inside its strategy bounds', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('full', 'equal', 'decorrelated' as const),
        fc.integer({ min: 1, max: 12 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 0, max: 20_000 }),
        (jitter, n, random, previous) => {
          const r = new Retry('p', {
            jitter,
            initialDelayMs: 100,
            maxDelayMs: 5_000,
            random: () => random,
          })
          const d = r.delay(n, previous)
          const exp = Math.min(5_000, 100 * 2 ** (n - 1))
          if (jitter === 'full') return d >= 0 && d <= exp
          if (jitter === 'equal') return d >= Math.floor(exp / 2) && d <= exp
          return d >= 100 && d <= 5_000 && d <= Math.max(100, previous * 3)
        },
      ),
    )
  })

  it('stops retrying once the shared budget is spent, and recovers with successes', async () => {
    const budget = new RetryBudget({ maxTokens: 4, tokenRatio: 0.5 })
    const { clock, run } = retry({ maxAttempts: 5, budget })
    const attempts: number[] = []
    for (let call = 0; call < 4; call++) {
      const p = run(Array.from({ length: 5 }, () => new HttpError(503)))
      await clock.advance(60_000)
      attempts.push((await p).times.length)
    }
    // 4 tokens, retries only above 2: the outage gets 2 retries in all, then single calls.
    expect(attempts).toEqual([2, 1, 1, 1])
    expect(budget.canRetry).toBe(false)
    for (let i = 0; i < 8; i++) budget.onSuccess()
    expect(budget.canRetry).toBe(true)
  })

  it('stops waiting when the caller aborts', async () => {
    const clock = new FakeClock()
    const r = new Retry('p', { jitter: 'none', initialDelayMs: 1_000, clock })
    const controller = new AbortController()
    const p = r
      .execute(
        async () => {
          throw new HttpError(503)
        },
        { signal: controller.signal },
      )
      .catch((e: unknown) => e)
    await clock.advance(10)
    controller.abort(new Error('caller gave up'))
    expect(await p).toEqual(new Error('caller gave up'))
  })
})
