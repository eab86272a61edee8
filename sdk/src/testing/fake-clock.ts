import type { Clock, TimerHandle } from '../clock.js'

interface Timer {
  id: number
  at: number
  fn: () => void
}

/** A clock that only moves when told to; timers fire in time order during `advance`. */
export class FakeClock implements Clock {
  private time: number
  private timers: Timer[] = []
  private nextId = 1

  constructor(start = Date.UTC(2026, 10, 22, 12)) {
    this.time = start
  }

  now(): number {
    return this.time
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.time + Math.max(0, ms), fn }
    this.timers.push(timer)
    return { id: timer.id }
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle.id)
  }

  /** Moves time forward, firing due timers; awaits between them so promise chains settle. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms
    for (;;) {
      await flushMicrotasks()
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)
      const next = due[0]
      if (!next) break
      this.timers = this.timers.filter((t) => t !== next)
      this.time = Math.max(this.time, next.at)
      next.fn()
    }
    this.time = end
    await flushMicrotasks()
  }

  /** Steps the wall clock without firing timers (an NTP correction). */
  jump(ms: number): void {
    this.time += ms
  }

  get pendingTimers(): number {
    return this.timers.length
  }
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}
