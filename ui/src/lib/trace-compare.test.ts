import { describe, expect, it } from 'vitest'
import { compareTraces } from './trace-compare.js'

function side(spans: [parent: number, service: string, name: string, durationNs: number][]) {
  return {
    count: spans.length,
    parent: Int32Array.from(spans.map((s) => s[0])),
    depth: Int32Array.from(spans.map((s) => (s[0] < 0 ? 0 : 1))),
    duration: Float64Array.from(spans.map((s) => s[3])),
    serviceOf: (i: number) => spans[i]?.[1] ?? '',
    nameOf: (i: number) => spans[i]?.[2] ?? '',
  }
}

describe('compareTraces', () => {
  it('matches spans by service and operation path, and reports structure and latency', () => {
    const a = side([
      [-1, 'order', 'POST /orders', 10e6],
      [0, 'payment', 'charge', 4e6],
      [0, 'inventory', 'reserve', 2e6],
    ])
    const b = side([
      [-1, 'order', 'POST /orders', 30e6],
      [0, 'payment', 'charge', 20e6],
      [0, 'payment', 'charge', 24e6],
      [0, 'email', 'send', 1e6],
    ])
    const rows = compareTraces(a, b)
    const by = Object.fromEntries(rows.map((r) => [`${r.service} ${r.operation}`, r]))
    expect(by['order POST /orders']?.change).toBe('same')
    expect(by['order POST /orders']?.deltaNs).toBe(20e6)
    expect(by['payment charge']).toMatchObject({
      change: 'count',
      a: { count: 1 },
      b: { count: 2 },
    })
    expect(by['payment charge']?.deltaNs).toBe(18e6)
    expect(by['inventory reserve']?.change).toBe('removed')
    expect(by['email send']?.change).toBe('added')
    expect(rows[0]?.service).toBe('order')
  })
})
