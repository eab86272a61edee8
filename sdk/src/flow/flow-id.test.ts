import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { FakeClock } from '../testing/fake-clock.js'
import {
  ClockMovedBackwardsError,
  defaultWorkerId,
  FlowIdGenerator,
  parseFlowId,
} from './flow-id.js'

/** A generator whose blocking sleep moves the fake clock, as real time would. */
function generator(clock: FakeClock, workerId = 7, maxBackwardsMs = 10) {
  const slept: number[] = []
  const gen = new FlowIdGenerator({
    workerId,
    clock,
    maxBackwardsMs,
    sleepSync: (ms) => {
      slept.push(ms)
      clock.jump(ms)
    },
  })
  return { gen, slept }
}

describe('FlowIdGenerator', () => {
  it('issues decimal IDs that carry the time, the worker and a sequence', () => {
    const clock = new FakeClock()
    const { gen } = generator(clock, 513)
    const a = gen.next()
    const b = gen.next()
    expect(a).toMatch(/^\d+$/)
    expect(parseFlowId(a)).toEqual({ time: new Date(clock.now()), workerId: 513, sequence: 0 })
    expect(parseFlowId(b)).toEqual({ time: new Date(clock.now()), workerId: 513, sequence: 1 })
  })

  it('waits for the next millisecond when 4096 IDs were issued in one', () => {
    const clock = new FakeClock()
    const { gen, slept } = generator(clock)
    const ids = Array.from({ length: 4097 }, () => gen.next())
    expect(new Set(ids).size).toBe(4097)
    expect(slept).toEqual([1])
    expect(parseFlowId(ids[4096]!)).toMatchObject({ sequence: 0, time: new Date(clock.now()) })
  })

  it('waits out a small step back of the clock instead of reusing an ID', () => {
    const clock = new FakeClock()
    const { gen, slept } = generator(clock)
    const before = gen.next()
    clock.jump(-5)
    const after = gen.next()
    expect(slept).toEqual([5])
    expect(BigInt(after)).toBeGreaterThan(BigInt(before))
  })

  it('refuses with a clear error when the clock steps back too far', () => {
    const clock = new FakeClock()
    const { gen } = generator(clock)
    gen.next()
    clock.jump(-60_000)
    expect(() => gen.next()).toThrow(ClockMovedBackwardsError)
    expect(() => gen.next()).toThrow(/clock moved back 60000 ms/)
  })

  it('never repeats and never goes backwards, whatever the clock does within the limit', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: -10, max: 3 }), fc.constant(0)), { maxLength: 300 }),
        (moves) => {
          const clock = new FakeClock()
          const { gen } = generator(clock)
          let last = -1n
          for (const move of moves) {
            clock.jump(move)
            const id = BigInt(gen.next())
            if (id <= last) return false
            last = id
          }
          return true
        },
      ),
    )
  })

  it('rejects a worker ID outside 0–1023, from options or the environment', () => {
    expect(() => new FlowIdGenerator({ workerId: 1024 })).toThrow(/workerId must be/)
    expect(() => defaultWorkerId({ RECKON_WORKER_ID: 'x' })).toThrow(/RECKON_WORKER_ID/)
    expect(defaultWorkerId({ RECKON_WORKER_ID: '42' })).toBe(42)
    expect(defaultWorkerId({})).toBeLessThanOrEqual(1023)
  })

  it('treats a business key as a flow ID with no parts', () => {
    expect(parseFlowId('ORD-2026-0001')).toBeUndefined()
  })
})
