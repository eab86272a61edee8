import { describe, expect, it } from 'vitest'
import { FakeClock } from '../testing/fake-clock.js'
import { TimeoutError } from './errors.js'
import { Timeout } from './timeout.js'

describe('Timeout', () => {
  it('aborts the call’s signal at the deadline and rejects with TimeoutError', async () => {
    const clock = new FakeClock()
    const t = new Timeout('payment', { timeoutMs: 200, clock })
    let seen: AbortSignal | undefined
    const p = t
      .execute(({ signal }) => {
        seen = signal
        return new Promise((_, reject) =>
          signal?.addEventListener('abort', () => reject(new Error('aborted'))),
        )
      })
      .catch((e: unknown) => e)
    await clock.advance(199)
    expect(seen?.aborted).toBe(false)
    await clock.advance(1)
    const err = await p
    expect(err).toBeInstanceOf(TimeoutError)
    expect((err as TimeoutError).message).toBe("'payment' timed out after 200 ms")
    expect(seen?.aborted).toBe(true)
    expect(t.metrics().timeouts).toBe(1)
  })

  it('abandons a call that ignores its signal', async () => {
    const clock = new FakeClock()
    const t = new Timeout('payment', { timeoutMs: 100, clock })
    const p = t.execute(() => new Promise(() => undefined)).catch((e: unknown) => e)
    await clock.advance(100)
    expect(await p).toBeInstanceOf(TimeoutError)
  })

  it('passes results and errors through before the deadline and clears its timer', async () => {
    const clock = new FakeClock()
    const t = new Timeout('payment', { timeoutMs: 100, clock })
    expect(await t.execute(async () => 'ok')).toBe('ok')
    await expect(t.execute(() => Promise.reject(new Error('409 conflict')))).rejects.toThrow(
      '409 conflict',
    )
    expect(clock.pendingTimers).toBe(0)
    expect(t.metrics().timeouts).toBe(0)
  })

  it('follows the caller’s own signal', async () => {
    const clock = new FakeClock()
    const t = new Timeout('payment', { timeoutMs: 1000, clock })
    const controller = new AbortController()
    let inner: AbortSignal | undefined
    const p = t
      .execute(
        ({ signal }) => {
          inner = signal
          return new Promise(() => undefined)
        },
        { signal: controller.signal },
      )
      .catch((e: unknown) => e)
    controller.abort(new Error('shutting down'))
    expect(inner?.aborted).toBe(true)
    expect(((await p) as Error).message).toBe('shutting down')
    expect(clock.pendingTimers).toBe(0)
  })
})
