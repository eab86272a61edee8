import { describe, expect, it } from 'vitest'
import { FakeClock } from '../testing/fake-clock.js'
import { Bulkhead, type BulkheadOptions } from './bulkhead.js'
import { BulkheadFullError } from './errors.js'

function bulkhead(options: Omit<BulkheadOptions, 'clock'>) {
  const clock = new FakeClock()
  const b = new Bulkhead('inventory', { ...options, clock })
  let running = 0
  let peak = 0
  const started: string[] = []
  /** A call that holds its slot for `ms` of fake time. */
  const call = (id: string, ms = 100, signal?: AbortSignal) =>
    b
      .execute(
        async () => {
          started.push(id)
          running++
          peak = Math.max(peak, running)
          await new Promise<void>((r) => clock.setTimeout(r, ms))
          running--
          return id
        },
        { signal },
      )
      .catch((e: unknown) => e as Error)
  return { b, clock, call, started, peak: () => peak }
}

describe('Bulkhead', () => {
  it('runs at most maxConcurrent, queues up to maxQueue in order, refuses beyond', async () => {
    const { b, clock, call, started, peak } = bulkhead({ maxConcurrent: 2, maxQueue: 2 })
    const calls = ['a', 'b', 'c', 'd', 'e'].map((id) => call(id))
    expect(b.metrics()).toMatchObject({ availableConcurrent: 0, queued: 2, rejected: 1 })
    expect(await calls[4]).toBeInstanceOf(BulkheadFullError)
    await clock.advance(1000)
    expect(await Promise.all(calls.slice(0, 4))).toEqual(['a', 'b', 'c', 'd'])
    expect(started).toEqual(['a', 'b', 'c', 'd'])
    expect(peak()).toBe(2)
    expect(b.metrics()).toMatchObject({ availableConcurrent: 2, queued: 0 })
  })

  it('gives up on a queued call after maxWaitMs, and frees its queue place', async () => {
    const { b, clock, call } = bulkhead({ maxConcurrent: 1, maxQueue: 1, maxWaitMs: 50 })
    const first = call('a', 100)
    const second = call('b')
    await clock.advance(60)
    expect(await second).toBeInstanceOf(BulkheadFullError)
    expect(b.metrics().queued).toBe(0)
    const third = call('c') // the queue place is free again
    await clock.advance(200)
    expect(await first).toBe('a')
    expect(await third).toBe('c')
  })

  it('removes a queued call when its signal aborts, and hands the slot to the next', async () => {
    const { b, clock, call, started } = bulkhead({ maxConcurrent: 1, maxQueue: 2 })
    const controller = new AbortController()
    const first = call('a', 100)
    const second = call('b', 100, controller.signal)
    const third = call('c', 100)
    controller.abort(new Error('client went away'))
    expect(((await second) as Error).message).toBe('client went away')
    await clock.advance(500)
    expect([await first, await third]).toEqual(['a', 'c'])
    expect(started).toEqual(['a', 'c'])
    expect(b.metrics()).toMatchObject({ availableConcurrent: 1, queued: 0 })
  })

  it('frees the slot when the call throws synchronously', async () => {
    const { b } = bulkhead({ maxConcurrent: 1 })
    const syncThrow = (): Promise<string> => {
      throw new Error('sync')
    }
    await expect(b.execute(syncThrow)).rejects.toThrow('sync')
    expect(b.metrics().availableConcurrent).toBe(1)
  })
})
