import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FakeClock } from '../testing/fake-clock.js'
import { CircuitBreaker, type BreakerOptions, type StateTransition } from './circuit-breaker.js'
import { BreakerOpenError } from './errors.js'

class HttpError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`)
  }
}

function breaker(options: BreakerOptions = {}) {
  const clock = new FakeClock()
  const b = new CircuitBreaker('payment', {
    slidingWindow: { type: 'count', size: 4 },
    minimumCalls: 4,
    failureRateThreshold: 50,
    waitInOpenMs: 10_000,
    permittedCallsInHalfOpen: 2,
    clock,
    ...options,
  })
  const transitions: StateTransition[] = []
  b.onStateChange((t) => transitions.push(t))
  const ok = () => b.execute(async () => 'ok')
  const fail = (err: unknown = new Error('boom')) =>
    b
      .execute(async () => {
        throw err
      })
      .catch((e: unknown) => e)
  /** A call that takes `ms` on the fake clock. */
  const slow = async (ms: number) => {
    const p = b.execute(() => new Promise<string>((r) => clock.setTimeout(() => r('late'), ms)))
    await clock.advance(ms)
    return p
  }
  return { b, clock, transitions, ok, fail, slow }
}

describe('CircuitBreaker', () => {
  it('stays closed below the minimum number of calls, opens when the failure rate reaches the threshold', async () => {
    const { b, clock, transitions, ok, fail } = breaker()
    await fail()
    await fail()
    await fail()
    expect(b.state).toBe('CLOSED') // 3 of 3 failed, but the minimum is 4
    await ok()
    expect(b.state).toBe('OPEN') // 3 of 4 = 75 % ≥ 50 %
    expect(transitions).toEqual([
      { breaker: 'payment', from: 'CLOSED', to: 'OPEN', at: clock.now() },
    ])
  })

  it('stays closed while the failure rate stays under the threshold', async () => {
    const { b, ok, fail } = breaker()
    for (let i = 0; i < 20; i++) {
      await ok()
      await ok()
      await fail() // one failure in every 4 consecutive calls: 25 %
      await ok()
    }
    expect(b.metrics()).toMatchObject({
      state: 'CLOSED',
      calls: 4,
      failedCalls: 1,
      failureRate: 25,
    })
  })

  it('refuses calls while open, without running them, and counts the refusals', async () => {
    const { b, fail, ok } = breaker()
    for (let i = 0; i < 4; i++) await fail()
    let ran = false
    await expect(
      b.execute(async () => {
        ran = true
      }),
    ).rejects.toBeInstanceOf(BreakerOpenError)
    await expect(ok()).rejects.toThrow("circuit breaker 'payment' is open")
    expect(ran).toBe(false)
    expect(b.metrics().notPermittedCalls).toBe(2)
  })

  it('moves to half-open by timer exactly when the open wait ends', async () => {
    const { b, clock, transitions, fail } = breaker()
    for (let i = 0; i < 4; i++) await fail()
    const openedAt = clock.now()
    await clock.advance(9_999)
    expect(b.state).toBe('OPEN')
    await clock.advance(1)
    expect(transitions.at(-1)).toEqual({
      breaker: 'payment',
      from: 'OPEN',
      to: 'HALF_OPEN',
      at: openedAt + 10_000,
    })
  })

  it('without the eager timer, becomes half-open only when next asked', async () => {
    const { b, clock, transitions, fail } = breaker({ eagerHalfOpen: false })
    for (let i = 0; i < 4; i++) await fail()
    await clock.advance(60_000)
    expect(transitions.map((t) => t.to)).toEqual(['OPEN'])
    expect(clock.pendingTimers).toBe(0)
    expect(b.state).toBe('HALF_OPEN')
  })

  it('lets N probes through in half-open and closes when they succeed', async () => {
    const { b, clock, transitions, fail, ok } = breaker()
    for (let i = 0; i < 4; i++) await fail()
    await clock.advance(10_000)
    const first = b.acquire()
    const second = b.acquire()
    expect(() => b.acquire()).toThrow(BreakerOpenError) // only 2 probes
    first.success(5)
    expect(b.state).toBe('HALF_OPEN')
    second.success(5)
    expect(b.state).toBe('CLOSED')
    expect(transitions.map((t) => t.to)).toEqual(['OPEN', 'HALF_OPEN', 'CLOSED'])
    await expect(ok()).resolves.toBe('ok')
  })

  it('reopens when the probes fail, waiting longer each time with a backoff', async () => {
    const { b, clock, transitions, fail } = breaker({ waitInOpenMs: (n) => 1000 * 2 ** (n - 1) })
    for (let i = 0; i < 4; i++) await fail()
    const waits: number[] = []
    for (let round = 0; round < 3; round++) {
      const opened = clock.now()
      await clock.advance(100_000)
      waits.push(transitions.at(-1)!.at - opened)
      await fail()
      await fail()
      expect(b.state).toBe('OPEN')
    }
    expect(waits).toEqual([1000, 2000, 4000])
  })

  it('gives a refused or ignored probe back, so half-open cannot starve', async () => {
    const { b, clock, fail } = breaker({
      isIgnored: (e) => e instanceof HttpError && e.status < 500,
    })
    for (let i = 0; i < 4; i++) await fail()
    await clock.advance(10_000)
    b.acquire().release()
    await fail(new HttpError(404))
    // Both permits are back: two real probes can still run and decide.
    const a = b.acquire()
    const c = b.acquire()
    a.success(1)
    c.success(1)
    expect(b.state).toBe('CLOSED')
  })

  it('opens on slow calls even when every call succeeds', async () => {
    const { b, slow, ok } = breaker({ slowCallRateThreshold: 50, slowCallDurationMs: 2_000 })
    await ok()
    await slow(2_000)
    await ok()
    expect(b.state).toBe('CLOSED')
    await slow(3_000)
    expect(b.metrics()).toMatchObject({ state: 'OPEN' })
  })

  it('does not count business errors as failures', async () => {
    const { b, fail } = breaker({
      isIgnored: (e) => e instanceof HttpError && e.status === 409,
      isFailure: (e) => !(e instanceof HttpError && e.status < 500),
    })
    for (let i = 0; i < 10; i++) await fail(new HttpError(i % 2 ? 404 : 409))
    const m = b.metrics()
    expect(m.state).toBe('CLOSED')
    expect(m.calls).toBe(4) // 404s count as successful calls, 409s not at all
    expect(m.failedCalls).toBe(0)
  })

  it('forgets failures that fell out of a time window', async () => {
    const { b, clock, fail, ok } = breaker({ slidingWindow: { type: 'time', size: 10 } })
    await fail()
    await fail()
    await fail()
    await clock.advance(11_000)
    await ok()
    await ok()
    await ok()
    expect(b.metrics()).toMatchObject({ calls: 3, failedCalls: 0, state: 'CLOSED' })
    await fail()
    await fail()
    await fail()
    expect(b.state).toBe('OPEN') // 3 of 6 in the last 10 s
  })

  it('reopens a half-open breaker whose probes take too long', async () => {
    const { b, clock, transitions, fail } = breaker({ maxWaitInHalfOpenMs: 5_000 })
    for (let i = 0; i < 4; i++) await fail()
    await clock.advance(10_000)
    b.acquire()
    await clock.advance(5_000)
    expect(transitions.map((t) => t.to)).toEqual(['OPEN', 'HALF_OPEN', 'OPEN'])
  })

  it('obeys the operator: forced open refuses, disabled lets all through, metrics-only only counts', async () => {
    const { b, transitions, ok, fail } = breaker()
    b.transitionToForcedOpenState()
    await expect(ok()).rejects.toThrow('is forced_open')
    b.transitionToDisabledState()
    for (let i = 0; i < 10; i++) await fail()
    expect(b.metrics()).toMatchObject({ state: 'DISABLED', calls: 0 })
    b.transitionToMetricsOnlyState()
    for (let i = 0; i < 10; i++) await fail()
    expect(b.metrics()).toMatchObject({ state: 'METRICS_ONLY', calls: 4, failureRate: 100 })
    b.reset()
    expect(transitions.map((t) => t.to)).toEqual([
      'FORCED_OPEN',
      'DISABLED',
      'METRICS_ONLY',
      'CLOSED',
    ])
  })

  it('moves open, half-open and closed on the operator’s word, as if the calls had led there', async () => {
    const { b, clock, transitions, ok } = breaker()
    b.transitionToOpenState()
    await expect(ok()).rejects.toBeInstanceOf(BreakerOpenError)
    // Opened by hand, it waits and probes like a tripped breaker.
    await clock.advance(10_000)
    expect(b.state).toBe('HALF_OPEN')
    b.transitionToClosedState()
    expect(b.state).toBe('CLOSED')
    expect(await ok()).toBe('ok')
    b.transitionToHalfOpenState()
    await ok()
    await ok()
    expect(b.state).toBe('CLOSED') // both probes passed
    expect(transitions.map((t) => t.to)).toEqual([
      'OPEN',
      'HALF_OPEN',
      'CLOSED',
      'HALF_OPEN',
      'CLOSED',
    ])
  })

  it('survives a listener that throws', async () => {
    const { b, fail } = breaker()
    b.onStateChange(() => {
      throw new Error('exporter down')
    })
    for (let i = 0; i < 4; i++) await fail()
    expect(b.state).toBe('OPEN')
  })

  it('opens exactly when a naive model of the window says the threshold is reached', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 100 }),
        fc.array(fc.boolean(), { maxLength: 60 }),
        (size, minimumCalls, threshold, failures) => {
          const clock = new FakeClock()
          const b = new CircuitBreaker('p', {
            slidingWindow: { type: 'count', size },
            minimumCalls,
            failureRateThreshold: threshold,
            clock,
          })
          const seen: boolean[] = []
          for (const failed of failures) {
            const permit = b.acquire()
            if (failed) permit.error(1, new Error('x'))
            else permit.success(1)
            seen.push(failed)
            const window = seen.slice(-size)
            const rate = (window.filter(Boolean).length * 100) / window.length
            const shouldOpen = window.length >= minimumCalls && rate >= threshold
            if (shouldOpen !== (b.state === 'OPEN')) return false
            if (shouldOpen) return true
          }
          return true
        },
      ),
    )
  })
})
