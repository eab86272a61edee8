import { describe, expect, it } from 'vitest'
import { flattenTrace, type RawSpans } from './outline-layout.js'

/** [spanId, parentSpanId, start, duration] */
function raw(spans: [string, string, number, number, number?][]): RawSpans {
  return {
    spanId: spans.map((s) => s[0]),
    parentSpanId: spans.map((s) => s[1]),
    service: spans.map(() => 'svc'),
    name: spans.map((s) => `op-${s[0]}`),
    start: Float64Array.from(spans.map((s) => s[2])),
    duration: Float64Array.from(spans.map((s) => s[3])),
    status: Uint8Array.from(spans.map((s) => s[4] ?? 0)),
  }
}

describe('flattenTrace', () => {
  it('orders each span after its parent, siblings by start, with depth and subtree size', () => {
    const o = flattenTrace(
      raw([
        ['c', 'root', 50, 10],
        ['root', '', 0, 100],
        ['b', 'root', 10, 30],
        ['b1', 'b', 12, 5],
      ]),
    )
    expect(o.spanId).toEqual(['root', 'b', 'b1', 'c'])
    expect([...o.depth]).toEqual([0, 1, 2, 1])
    expect([...o.parent]).toEqual([-1, 0, 1, 0])
    expect([...o.size]).toEqual([4, 2, 1, 1])
    expect(o.maxDepth).toBe(2)
    expect(o.durationNs).toBe(100)
  })

  it('marks the critical path: the last child to finish, then what ran before it', () => {
    // root 0–100: a 0–40, b 10–60 (overlaps a), c 70–95; b has b1 20–55.
    const o = flattenTrace(
      raw([
        ['root', '', 0, 100],
        ['a', 'root', 0, 40],
        ['b', 'root', 10, 50],
        ['b1', 'b', 20, 35],
        ['c', 'root', 70, 25],
      ]),
    )
    const on = o.spanId.filter((_, t) => o.critical[t] === 1)
    expect(on.sort()).toEqual(['b', 'b1', 'c', 'root'])
  })

  it('shows spans whose parent never arrived as roots, and counts them', () => {
    const o = flattenTrace(
      raw([
        ['x', 'missing', 5, 1],
        ['root', '', 0, 10],
      ]),
    )
    expect(o.spanId).toEqual(['root', 'x'])
    expect(o.orphans).toBe(1)
    expect([...o.depth]).toEqual([0, 0])
  })

  it('cuts a parent cycle at its earliest span instead of looping', () => {
    const o = flattenTrace(
      raw([
        ['p', 'q', 1, 5],
        ['q', 'p', 2, 5],
        ['root', '', 0, 10],
      ]),
    )
    expect(o.count).toBe(3)
    expect(o.cycles).toBe(1)
    expect(o.spanId).toEqual(['root', 'p', 'q'])
    expect([...o.depth]).toEqual([0, 0, 1])
  })

  it('takes a chain 100 000 spans deep without recursion', () => {
    const n = 100_000
    const spans: [string, string, number, number][] = Array.from({ length: n }, (_, i) => [
      `s${i}`,
      i ? `s${i - 1}` : '',
      i,
      n - i,
    ])
    const o = flattenTrace(raw(spans))
    expect(o.maxDepth).toBe(n - 1)
    expect(o.size[0]).toBe(n)
    expect(o.spanId[n - 1]).toBe(`s${n - 1}`)
  })
})
