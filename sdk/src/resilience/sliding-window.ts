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
  record(outcome: CallOutcome, nowMs: number): void
  snapshot(nowMs: number, minimumCalls: number): WindowSnapshot
}

interface Totals {
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

/** The last `size` calls, in a ring. */
export class CountWindow implements SlidingWindow {
  private readonly ring: (CallOutcome | undefined)[]
  private next = 0
  private readonly totals: Totals = { calls: 0, failed: 0, slow: 0 }

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('window size must be ≥ 1')
    this.ring = new Array<CallOutcome | undefined>(size)
  }

  record(outcome: CallOutcome): void {
    const evicted = this.ring[this.next]
    if (evicted) {
      this.totals.calls--
      if (evicted.failed) this.totals.failed--
      if (evicted.slow) this.totals.slow--
    }
    this.ring[this.next] = outcome
    this.next = (this.next + 1) % this.ring.length
    this.totals.calls++
    if (outcome.failed) this.totals.failed++
    if (outcome.slow) this.totals.slow++
  }

  snapshot(_nowMs: number, minimumCalls: number): WindowSnapshot {
    return snapshotOf(this.totals, minimumCalls)
  }
}

/** The calls of the last `seconds` seconds, one bucket per epoch second. */
export class TimeWindow implements SlidingWindow {
  private readonly buckets: (Totals & { second: number })[]
  private readonly totals: Totals = { calls: 0, failed: 0, slow: 0 }
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

  record(outcome: CallOutcome, nowMs: number): void {
    const bucket = this.bucketFor(nowMs)
    bucket.calls++
    this.totals.calls++
    if (outcome.failed) {
      bucket.failed++
      this.totals.failed++
    }
    if (outcome.slow) {
      bucket.slow++
      this.totals.slow++
    }
  }

  snapshot(nowMs: number, minimumCalls: number): WindowSnapshot {
    this.expire(Math.floor(nowMs / 1000))
    return snapshotOf(this.totals, minimumCalls)
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
      this.totals.calls -= b.calls
      this.totals.failed -= b.failed
      this.totals.slow -= b.slow
      b.second = -1
      b.calls = b.failed = b.slow = 0
    }
  }
}
