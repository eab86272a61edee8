// One API read behind a view: its data, whether it is loading, and what went wrong. A read
// that cannot reach the API is retried on its own; a newer read wins over an older one.
import { ApiUnreachable, describeError } from './api.js'

const RETRY_MS = 3000

export class Loader<T> {
  data = $state<T | undefined>(undefined)
  error = $state<string | undefined>(undefined)
  /** The API could not be reached; the read is retried every few seconds. */
  unreachable = $state(false)
  loading = $state(false)
  #seq = 0
  #timer: ReturnType<typeof setTimeout> | undefined

  /**
   * Reads with `fetch` now, and again every `every` ms when given (live pages). Returns the
   * stop function, which an `$effect` returns so a view that goes away stops reading.
   */
  load(fetch: () => Promise<T>, { every }: { every?: number } = {}): () => void {
    const seq = ++this.#seq
    clearTimeout(this.#timer)
    const run = (first: boolean) => {
      if (first) this.loading = true
      let promise: Promise<T>
      try {
        promise = fetch()
      } catch (err) {
        promise = Promise.reject(err instanceof Error ? err : new Error(String(err)))
      }
      promise.then(
        (data) => {
          if (seq !== this.#seq) return
          this.data = data
          this.error = undefined
          this.unreachable = false
          this.loading = false
          if (every) this.#timer = setTimeout(() => run(false), every)
        },
        (err: unknown) => {
          if (seq !== this.#seq) return
          this.loading = false
          this.unreachable = err instanceof ApiUnreachable
          this.error = describeError(err)
          if (this.unreachable || every)
            this.#timer = setTimeout(() => run(false), this.unreachable ? RETRY_MS : every)
        },
      )
    }
    run(true)
    return () => {
      if (seq === this.#seq) {
        this.#seq++
        clearTimeout(this.#timer)
      }
    }
  }
}
