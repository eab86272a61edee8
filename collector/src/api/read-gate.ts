// A trace read holds up to query.maxSpansPerTrace spans as JSON until it is sent (~30 MB
// for 10 000 spans, counting the engine's result text). The gate bounds how many run at
// once, and how many wait, so a burst of large trace views cannot take the process's memory.

/** Answered 503 with Retry-After: the reads already admitted must finish first. */
export class ReadsBusy extends Error {
  override name = 'ReadsBusy'
  readonly statusCode = 503
  constructor(what: string) {
    super(`too many ${what} in progress; retry after the interval in Retry-After`)
  }
}

export class ReadGate {
  private running = 0
  private readonly waiting: (() => void)[] = []

  constructor(
    private readonly what: string,
    private readonly maxRunning: number,
    private readonly maxWaiting: number,
  ) {}

  /** Runs `read` once a place is free; refuses at once when the waiting line is full. */
  async run<T>(read: () => Promise<T>): Promise<T> {
    if (this.running < this.maxRunning) this.running++
    else if (this.waiting.length < this.maxWaiting) {
      // The place is handed over by the read that finishes (running stays counted).
      await new Promise<void>((resolve) => this.waiting.push(resolve))
    } else throw new ReadsBusy(this.what)
    try {
      return await read()
    } finally {
      const next = this.waiting.shift()
      if (next) next()
      else this.running--
    }
  }
}
