// The two windows of Resilience4j: the last N calls, or the calls of the last N seconds
// (one bucket per second). Both keep running totals, so recording and reading are O(1)
// amortised and memory is bounded by the window size.

/** How one finished call counts. */
export interface CallOutcome {
  failed: boolean
  slow: boolean
}

export interface WindowSnapshot {
  calls: number
  failedCalls: number
  slowCalls: number
  /** Percent of calls that failed; -1 until the window holds the minimum number of calls. */
  failureRate: number
  /** Percent of calls slower than the slow-call threshold; -1 likewise. */
  slowCallRate: number
}

export interface SlidingWindow {
  record(failed: boolean, slow: boolean, nowMs: number): void
  snapshot(nowMs: number, minimumCalls: number): WindowSnapshot
  /** The running totals, without copying (the hot path reads them after every call). */
  totals(nowMs: number): Readonly<Totals>
}

export interface Totals {
  calls: number
  failed: number
  slow: number
}

function snapshotOf(t: Totals, minimumCalls: number): WindowSnapshot {
  const ready = t.calls > 0 && t.calls >= minimumCalls
  return {
    calls: t.calls,
    failedCalls: t.failed,
    slowCalls: t.slow,
    failureRate: ready ? (t.failed * 100) / t.calls : -1,
    slowCallRate: ready ? (t.slow * 100) / t.calls : -1,
  }
}

const RECORDED = 1
const FAILED = 2
const SLOW = 4

/** The last `size` calls, in a ring of flag bytes. */
export class CountWindow implements SlidingWindow {
  private readonly ring: Uint8Array
  private next = 0
  private readonly sums: Totals = { calls: 0, failed: 0, slow: 0 }

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('window size must be ≥ 1')
    this.ring = new Uint8Array(size)
  }

  record(failed: boolean, slow: boolean): void {
    const sums = this.sums
    const evicted = this.ring[this.next]!
    if (evicted & RECORDED) {
      sums.calls--
      if (evicted & FAILED) sums.failed--
      if (evicted & SLOW) sums.slow--
    }
    this.ring[this.next] = RECORDED | (failed ? FAILED : 0) | (slow ? SLOW : 0)
    this.next = this.next + 1 === this.ring.length ? 0 : this.next + 1
    sums.calls++
    if (failed) sums.failed++
    if (slow) sums.slow++
  }

  totals(): Readonly<Totals> {
    return this.sums
  }

  snapshot(_nowMs: number, minimumCalls: number): WindowSnapshot {
    return snapshotOf(this.sums, minimumCalls)
  }
}

/** The calls of the last `seconds` seconds, one bucket per epoch second. */
export class TimeWindow implements SlidingWindow {
  private readonly buckets: (Totals & { second: number })[]
  private readonly sums: Totals = { calls: 0, failed: 0, slow: 0 }
  private checkedSecond = -1

  constructor(seconds: number) {
    if (!Number.isInteger(seconds) || seconds < 1) throw new RangeError('window must be ≥ 1 s')
    this.buckets = Array.from({ length: seconds }, () => ({
      second: -1,
      calls: 0,
      failed: 0,
      slow: 0,
    }))
  }

  record(failed: boolean, slow: boolean, nowMs: number): void {
    const bucket = this.bucketFor(nowMs)
    bucket.calls++
    this.sums.calls++
    if (failed) {
      bucket.failed++
      this.sums.failed++
    }
    if (slow) {
      bucket.slow++
      this.sums.slow++
    }
  }

  totals(nowMs: number): Readonly<Totals> {
    this.expire(Math.floor(nowMs / 1000))
    return this.sums
  }

  snapshot(nowMs: number, minimumCalls: number): WindowSnapshot {
    return snapshotOf(this.totals(nowMs), minimumCalls)
  }

  private bucketFor(nowMs: number): Totals & { second: number } {
    const second = Math.floor(nowMs / 1000)
    this.expire(second)
    const bucket = this.buckets[second % this.buckets.length]!
    if (bucket.second !== second) {
      bucket.second = second
      bucket.calls = bucket.failed = bucket.slow = 0
    }
    return bucket
  }

  /** Drops buckets older than the window (and any from the future, after a clock step). */
  private expire(second: number): void {
    if (second === this.checkedSecond) return
    this.checkedSecond = second
    const oldest = second - this.buckets.length + 1
    for (const b of this.buckets) {
      if (b.second === -1 || (b.second >= oldest && b.second <= second)) continue
      this.sums.calls -= b.calls
      this.sums.failed -= b.failed
      this.sums.slow -= b.slow
      b.second = -1
      b.calls = b.failed = b.slow = 0
    }
  }
}
