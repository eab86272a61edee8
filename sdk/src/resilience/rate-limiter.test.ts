import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FakeClock } from '../testing/fake-clock.js'
import { RateLimitedError } from './errors.js'
import { RateLimiter, type RateLimiterOptions } from './rate-limiter.js'

function limiter(options: RateLimiterOptions) {
  const clock = new FakeClock()
  const l = new RateLimiter('payment', { ...options, clock })
  /** Starts a call; resolves with the time (since start) at which it ran, or the error. */
  const start = clock.now()
  const call = () =>
    l.execute(async () => clock.now() - start).catch((e: unknown) => e as RateLimitedError)
  return { l, clock, call }
}

describe('RateLimiter (token bucket)', () => {
  it('lets a burst through, then refuses with the time of the next permit', async () => {
    const { l, call } = limiter({ algorithm: 'token-bucket', permitsPerSecond: 10, burst: 3 })
    expect(await call()).toBe(0)
    expect(await call()).toBe(0)
    expect(await call()).toBe(0)
    const refused = await call()
    expect(refused).toBeInstanceOf(RateLimitedError)
    expect((refused as RateLimitedError).retryAfterMs).toBe(100)
    expect(l.metrics()).toEqual({ availablePermits: 0, waiting: 0, rejected: 1 })
  })

  it('refills continuously at the configured rate, never above the burst', async () => {
    const { l, clock, call } = limiter({
      algorithm: 'token-bucket',
      permitsPerSecond: 10,
      burst: 3,
    })
    for (let i = 0; i < 3; i++) await call()
    await clock.advance(250) // 2.5 tokens
    expect(l.metrics().availablePermits).toBe(2)
    await clock.advance(10_000)
    expect(l.metrics().availablePermits).toBe(3)
  })

  it('waits for a permit up to maxWaitMs, queuing callers in order', async () => {
    const { l, clock, call } = limiter({
      algorithm: 'token-bucket',
      permitsPerSecond: 10,
      burst: 1,
      maxWaitMs: 250,
    })
    const results = [call(), call(), call(), call()]
    expect(l.metrics().waiting).toBe(2)
    await clock.advance(300)
    expect(await Promise.all(results.slice(0, 3))).toEqual([0, 100, 200])
    // The fourth would have waited 300 ms > 250: refused at once with that wait.
    expect(await results[3]).toBeInstanceOf(RateLimitedError)
    expect(l.metrics().waiting).toBe(0)
  })

  it('gives back the permit of a caller that stopped waiting', async () => {
    const { l, clock, call } = limiter({
      algorithm: 'token-bucket',
      permitsPerSecond: 10,
      burst: 1,
      maxWaitMs: 250,
    })
    expect(await call()).toBe(0)
    const abort = new AbortController()
    const gaveUp = l.execute(async () => 'ran', { signal: abort.signal }).catch((e: unknown) => e)
    abort.abort(new Error('client went away'))
    expect(await gaveUp).toEqual(new Error('client went away'))
    expect(l.metrics().waiting).toBe(0)
    // The next caller waits for the first refill only, not behind the abandoned permit.
    const next = call()
    await clock.advance(100)
    expect(await next).toBe(100)
  })

  it('never grants more than burst + rate × elapsed permits (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 5 }),
        async (gaps, rate, burst) => {
          const { clock, call } = limiter({
            algorithm: 'token-bucket',
            permitsPerSecond: rate,
            burst,
          })
          let granted = 0
          let elapsed = 0
          for (const gap of gaps) {
            await clock.advance(gap)
            elapsed += gap
            if (typeof (await call()) === 'number') granted++
            expect(granted).toBeLessThanOrEqual(burst + (rate * elapsed) / 1000)
          }
        },
      ),
    )
  })
})

describe('RateLimiter (sliding window)', () => {
  it('allows `limit` calls in any window and names when the oldest leaves it', async () => {
    const { clock, call } = limiter({ algorithm: 'sliding-window', limit: 2, windowMs: 1000 })
    expect(await call()).toBe(0)
    await clock.advance(400)
    expect(await call()).toBe(400)
    await clock.advance(100)
    const refused = await call()
    expect((refused as RateLimitedError).retryAfterMs).toBe(500) // the first call ages out at 1000
    await clock.advance(500)
    expect(await call()).toBe(1000)
  })

  it('waits in order when allowed to', async () => {
    const { clock, call } = limiter({
      algorithm: 'sliding-window',
      limit: 2,
      windowMs: 1000,
      maxWaitMs: 2000,
    })
    const results = [call(), call(), call(), call(), call()]
    await clock.advance(3000)
    expect(await Promise.all(results)).toEqual([0, 0, 1000, 1000, 2000])
  })

  it('frees the slot of a caller that stopped waiting', async () => {
    const { l, clock, call } = limiter({
      algorithm: 'sliding-window',
      limit: 1,
      windowMs: 1000,
      maxWaitMs: 5000,
    })
    expect(await call()).toBe(0)
    const abort = new AbortController()
    const gaveUp = l.execute(async () => 'ran', { signal: abort.signal }).catch((e: unknown) => e)
    abort.abort(new Error('client went away'))
    await gaveUp
    // Without the release this caller would wait until 2000 ms, behind the abandoned slot.
    const next = call()
    await clock.advance(1000)
    expect(await next).toBe(1000)
  })

  it('never has more than `limit` grants in any window (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 80 }),
        fc.integer({ min: 1, max: 5 }),
        async (gaps, limit) => {
          const { clock, call } = limiter({ algorithm: 'sliding-window', limit, windowMs: 1000 })
          const grants: number[] = []
          for (const gap of gaps) {
            await clock.advance(gap)
            const r = await call()
            if (typeof r === 'number') grants.push(r)
          }
          for (let i = limit; i < grants.length; i++) {
            expect(grants[i]! - grants[i - limit]!).toBeGreaterThanOrEqual(1000)
          }
        },
      ),
    )
  })

  it('never has more than `limit` grants in any window, with waits and abandoned waits (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            gap: fc.integer({ min: 0, max: 300 }),
            abandonAfter: fc.option(fc.integer({ min: 0, max: 2000 }), { nil: undefined }),
          }),
          { minLength: 1, maxLength: 60 },
        ),
        fc.integer({ min: 1, max: 4 }),
        async (calls, limit) => {
          const clock = new FakeClock()
          const l = new RateLimiter('payment', {
            algorithm: 'sliding-window',
            limit,
            windowMs: 1000,
            maxWaitMs: 3000,
            clock,
          })
          const ran: number[] = []
          const settled: Promise<unknown>[] = []
          for (const { gap, abandonAfter } of calls) {
            await clock.advance(gap)
            const abort = new AbortController()
            if (abandonAfter !== undefined) {
              clock.setTimeout(() => abort.abort(new Error('gave up')), abandonAfter)
            }
            const run = async () => void ran.push(clock.now())
            settled.push(l.execute(run, { signal: abort.signal }).catch(() => undefined))
          }
          await clock.advance(60_000)
          await Promise.all(settled)
          ran.sort((a, b) => a - b)
          for (let i = limit; i < ran.length; i++) {
            expect(ran[i]! - ran[i - limit]!).toBeGreaterThanOrEqual(1000)
          }
        },
      ),
    )
  })
})
