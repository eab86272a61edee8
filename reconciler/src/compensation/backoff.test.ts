// The waits between failed attempts, as a person configuring `backoff` would check them.
import { describe, expect, it } from 'vitest'
import { backoffMs, retryAfterMs } from './backoff.js'

const oneSecondToFiveMinutes = { initialMs: 1000, maxMs: 300_000 }

describe('backoffMs', () => {
  it('doubles from initial to max; equal jitter keeps each wait in [step/2, step]', () => {
    const lowest = (n: number) => backoffMs(oneSecondToFiveMinutes, n, () => 0)
    const highest = (n: number) => backoffMs(oneSecondToFiveMinutes, n, () => 0.999999)
    expect([1, 2, 3, 4, 5, 9, 10, 50].map(highest)).toEqual([
      1000, 2000, 4000, 8000, 16_000, 256_000, 300_000, 300_000,
    ])
    expect([1, 2, 3, 10].map(lowest)).toEqual([500, 1000, 2000, 150_000])
  })

  it('spreads findings that failed together', () => {
    const waits = new Set(Array.from({ length: 50 }, () => backoffMs(oneSecondToFiveMinutes, 3)))
    expect(waits.size).toBeGreaterThan(10)
    for (const w of waits) {
      expect(w).toBeGreaterThanOrEqual(2000)
      expect(w).toBeLessThanOrEqual(4000)
    }
  })

  it('stays finite however many attempts failed, and treats nonsense counts as the first', () => {
    expect(backoffMs({ initialMs: 50, maxMs: 200 }, 5000, () => 0.5)).toBe(150)
    expect(backoffMs({ initialMs: 50, maxMs: 200 }, 0, () => 0)).toBe(25)
    expect(backoffMs({ initialMs: 50, maxMs: 200 }, Number.NaN, () => 0)).toBe(25)
  })
})

describe('retryAfterMs', () => {
  it('takes seconds or an HTTP date, capped at max; ignores what makes no sense', () => {
    const now = Date.parse('2026-12-01T10:00:00Z')
    expect(retryAfterMs('3', 60_000, now)).toBe(3000)
    expect(retryAfterMs('3600', 60_000, now)).toBe(60_000)
    expect(retryAfterMs('Tue, 01 Dec 2026 10:00:10 GMT', 60_000, now)).toBe(10_000)
    expect(retryAfterMs('soon', 60_000, now)).toBeUndefined()
    expect(retryAfterMs('-1', 60_000, now)).toBeUndefined()
    expect(retryAfterMs(null, 60_000, now)).toBeUndefined()
  })
})
