import { systemClock, type Clock } from '../clock.js'
import { TimeoutError } from './errors.js'
import { annotate, BasePolicy, type Execution, type Next } from './policy.js'
import { registerPolicy } from './registry.js'

export interface TimeoutOptions {
  /** How long one execution (one attempt, when placed inside a retry) may take. */
  timeoutMs: number
  clock?: Clock
}

/**
 * Bounds a call's time. The call gets an AbortSignal that fires at the deadline, so the
 * HTTP request or query is really cancelled; a call that ignores the signal is still
 * abandoned at the deadline with a `TimeoutError`.
 */
export class Timeout extends BasePolicy {
  readonly kind = 'timeout'
  readonly name: string
  readonly timeoutMs: number
  private readonly clock: Clock
  private timeouts = 0

  constructor(name: string, options: TimeoutOptions) {
    super()
    if (!(options.timeoutMs > 0)) {
      throw new RangeError(`timeoutMs must be > 0, got ${options.timeoutMs}`)
    }
    this.name = name
    this.timeoutMs = options.timeoutMs
    this.clock = options.clock ?? systemClock
    registerPolicy(this)
  }

  metrics(): { timeouts: number } {
    return { timeouts: this.timeouts }
  }

  run<T>(next: Next<T>, e: Execution): Promise<T> {
    const parent = e.signal
    if (parent?.aborted) return Promise.reject(parent.reason as Error)
    const controller = new AbortController()
    return new Promise<T>((resolve, reject) => {
      // Whichever comes first — deadline, caller's abort, the call's end — settles it.
      const stop = (err: unknown): void => {
        done()
        controller.abort(err)
        reject(err)
      }
      const onParentAbort = (): void => stop(parent?.reason)
      const timer = this.clock.setTimeout(() => {
        this.timeouts++
        annotate(e, 'timeout.triggered', true)
        stop(new TimeoutError(this.name, this.timeoutMs))
      }, this.timeoutMs)
      const done = (): void => {
        this.clock.clearTimeout(timer)
        parent?.removeEventListener('abort', onParentAbort)
      }
      parent?.addEventListener('abort', onParentAbort, { once: true })
      const inner: Execution = {
        signal: controller.signal,
        attempt: e.attempt,
        span: e.span,
      }
      next(inner).then(
        (result) => {
          done()
          resolve(result)
        },
        (err: unknown) => {
          done()
          reject(err) // after an abort the promise is settled already: ignored
        },
      )
    })
  }
}
