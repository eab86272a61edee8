import { describe, expect, it } from 'vitest'
import { testApps } from '../testing/apps.js'
import { hex } from '../testing/harness.js'
import { protobufSpans } from '../testing/otlp.js'
import { ReadGate, ReadsBusy } from './read-gate.js'

/** A read that finishes when told to. */
function held<T>(value: T) {
  let finish!: () => void
  const done = new Promise<void>((resolve) => (finish = resolve))
  const started = { yes: false }
  const read = async () => {
    started.yes = true
    await done
    return value
  }
  return { read, finish, started }
}

describe('ReadGate', () => {
  it('runs up to its limit, queues as many again in order, and refuses the next', async () => {
    const gate = new ReadGate('trace reads', 1, 1)
    const [a, b] = [held('a'), held('b')]
    const first = gate.run(a.read)
    const second = gate.run(b.read)
    await expect(gate.run(async () => 'c')).rejects.toThrow(ReadsBusy)
    expect([a.started.yes, b.started.yes]).toEqual([true, false])
    a.finish()
    expect(await first).toBe('a')
    await Promise.resolve()
    expect(b.started.yes).toBe(true)
    b.finish()
    expect(await second).toBe('b')
    // Everything finished: the places are free again.
    expect(await gate.run(async () => 'd')).toBe('d')
  })

  it('frees the place of a read that fails', async () => {
    const gate = new ReadGate('trace reads', 1, 0)
    await expect(gate.run(() => Promise.reject(new Error('engine down')))).rejects.toThrow(
      'engine down',
    )
    expect(await gate.run(async () => 'next')).toBe('next')
  })

  it('answers a trace view past the limit with 503 and Retry-After', async () => {
    const t = await testApps({ query: { traceReads: 1 } })
    try {
      const traceId = hex(16)
      const body = protobufSpans('batch', traceId, 5000)
      const sent = await t.postProtobuf('/v1/traces', body)
      expect(sent.statusCode).toBe(200)
      await t.flush()
      // One reads, one waits, the third is turned away.
      const answers = await Promise.all(
        [1, 2, 3].map(() => t.api.inject({ url: `/api/traces/${traceId}` })),
      )
      const refused = answers.filter((a) => a.statusCode === 503)
      expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 200, 503])
      expect(refused[0]?.headers['retry-after']).toBe('1')
      expect(refused[0]?.json().message).toMatch(/^too many trace reads in progress/)
    } finally {
      await t.close()
    }
  })
})
