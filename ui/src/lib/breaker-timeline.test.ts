import { describe, expect, it } from 'vitest'
import { breakerHistories } from './breaker-timeline.js'

const t = (ms: number, from: string, to: string) => ({
  timeUnixNano: `${ms}000000`,
  service: 'order',
  instance: 'i-1',
  breaker: 'payment',
  from,
  to,
  causeTraceId: '',
})

describe('breakerHistories', () => {
  it('turns transitions into stretches of state over the range', () => {
    const now = Date.now()
    const from = now - 60_000
    const [h] = breakerHistories(
      [
        t(now - 30_000, 'CLOSED', 'OPEN'),
        t(now - 20_000, 'OPEN', 'HALF_OPEN'),
        t(now - 15_000, 'HALF_OPEN', 'CLOSED'),
      ],
      from,
      now,
    )
    expect(h?.stretches.map((s) => [s.state, s.toMs - s.fromMs])).toEqual([
      ['CLOSED', 30_000],
      ['OPEN', 10_000],
      ['HALF_OPEN', 5_000],
      ['CLOSED', 15_000],
    ])
  })
})
