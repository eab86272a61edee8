import { systemClock, type Clock, type TimerHandle } from '../clock.js'
import { BulkheadFullError } from './errors.js'
import { annotate, BasePolicy, type Execution, type Next } from './policy.js'
import { registerPolicy } from './registry.js'

export interface BulkheadOptions {
  /** Calls allowed to run at once. */
  maxConcurrent: number
  /** Calls allowed to wait for a slot; more are refused at once. Default 0. */
  maxQueue?: number
  /** A queued call gives up after this long. Default: waits until a slot or its signal. */
  maxWaitMs?: number
  clock?: Clock
}

export interface BulkheadMetrics {
  maxConcurrent: number
  availableConcurrent: number
  queued: number
  rejected: number
}

interface Waiter {
  grant: () => void
  refuse: (err: unknown) => void
  settled: boolean
}

/**
 * Isolates a dependency: at most `maxConcurrent` calls run at once and at most `maxQueue`
 * wait (first come, first served), so one slow dependency cannot take every socket and
 * event-loop turn of the service (seed 000 §5).
 */
export class Bulkhead extends BasePolicy {
  readonly kind = 'bulkhead'
  readonly name: string
  private readonly maxConcurrent: number
  private readonly maxQueue: number
  private readonly maxWaitMs: number | undefined
  private readonly clock: Clock
  private running = 0
  private queue: Waiter[] = []
  private head = 0
  /** Queued waiters not yet granted, timed out or aborted. */
  private waiting = 0
  private rejected = 0

  constructor(name: string, options: BulkheadOptions) {
    super()
    this.name = name
    this.maxConcurrent = options.maxConcurrent
    this.maxQueue = options.maxQueue ?? 0
    this.maxWaitMs = options.maxWaitMs
    if (!Number.isInteger(this.maxConcurrent) || this.maxConcurrent < 1) {
      throw new RangeError(`maxConcurrent must be an integer ≥ 1, got ${this.maxConcurrent}`)
    }
    if (!Number.isInteger(this.maxQueue) || this.maxQueue < 0) {
      throw new RangeError(`maxQueue must be an integer ≥ 0, got ${this.maxQueue}`)
    }
    this.clock = options.clock ?? systemClock
    registerPolicy(this)
  }

  metrics(): BulkheadMetrics {
    return {
      maxConcurrent: this.maxConcurrent,
      availableConcurrent: this.maxConcurrent - this.running,
      queued: this.waiting,
      rejected: this.rejected,
    }
  }

  run<T>(next: Next<T>, e: Execution): Promise<T> {
    annotate(e, 'bulkhead.name', this.name)
    if (this.running < this.maxConcurrent && this.queued === 0) {
      this.running++
      annotate(e, 'bulkhead.result', 'admitted')
      return this.runHolding(next, e)
    }
    if (this.queued >= this.maxQueue) {
      this.rejected++
      annotate(e, 'bulkhead.result', 'rejected')
      return Promise.reject(new BulkheadFullError(this.name, this.maxConcurrent, this.maxQueue))
    }
    annotate(e, 'bulkhead.result', 'queued')
    return this.wait(e.signal).then(() => this.runHolding(next, e))
  }

  private get queued(): number {
    return this.waiting
  }

  private runHolding<T>(next: Next<T>, e: Execution): Promise<T> {
    let p: Promise<T>
    try {
      p = next(e)
    } catch (err) {
      p = Promise.reject(err)
    }
    return p.finally(() => this.release())
  }

  /** Resolves when a slot is handed over (the slot is already counted as running). */
  private wait(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let timer: TimerHandle | undefined
      const cleanup = (): void => {
        this.waiting--
        if (timer) this.clock.clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
      }
      const waiter: Waiter = {
        settled: false,
        grant: () => {
          waiter.settled = true
          cleanup()
          resolve()
        },
        refuse: (err) => {
          waiter.settled = true
          cleanup()
          reject(err)
        },
      }
      const onAbort = (): void => waiter.refuse(signal?.reason)
      if (signal?.aborted) return reject(signal.reason as Error)
      signal?.addEventListener('abort', onAbort, { once: true })
      if (this.maxWaitMs !== undefined) {
        timer = this.clock.setTimeout(() => {
          this.rejected++
          waiter.refuse(new BulkheadFullError(this.name, this.maxConcurrent, this.maxQueue))
        }, this.maxWaitMs)
      }
      this.queue.push(waiter)
      this.waiting++
    })
  }

  private release(): void {
    while (this.head < this.queue.length) {
      const waiter = this.queue[this.head++]
      if (waiter && !waiter.settled) {
        this.compact()
        waiter.grant() // the slot passes straight to the waiter: running stays the same
        return
      }
    }
    this.compact()
    this.running--
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = []
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
  }
}
