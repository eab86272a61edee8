import { describe, expect, it } from 'vitest'
import { ancestors, collapseToDepth, visibleRows } from './tree-rows.js'

// root(0) → a(1) → a1(2), a2(3); root → b(4)
const tree = {
  count: 5,
  size: Int32Array.from([5, 3, 1, 1, 1]),
  depth: Int32Array.from([0, 1, 2, 2, 1]),
  parent: Int32Array.from([-1, 0, 1, 1, 0]),
  loaded: Uint8Array.from([1, 1, 1, 1, 1]),
}

describe('visibleRows', () => {
  it('shows every span in tree order when nothing is collapsed', () => {
    expect(visibleRows(tree, new Set())).toEqual([0, 1, 2, 3, 4])
  })
  it('leaves a collapsed subtree out, the collapsed span itself stays', () => {
    expect(visibleRows(tree, new Set([1]))).toEqual([0, 1, 4])
  })
  it('folds runs of non-matching spans into one hidden row', () => {
    expect(visibleRows(tree, new Set(), (i) => i === 0 || i === 3)).toEqual([0, -2, 3, -1])
  })
  it('collapses to a depth and walks ancestors', () => {
    expect([...collapseToDepth(tree, 1)]).toEqual([1])
    expect(ancestors(tree, 3)).toEqual([1, 0])
  })
  it('takes a chain 100 000 levels deep without recursion', () => {
    const n = 100_000
    const deep = {
      count: n,
      size: Int32Array.from({ length: n }, (_, i) => n - i),
      parent: Int32Array.from({ length: n }, (_, i) => i - 1),
    }
    expect(visibleRows(deep, new Set([10])).length).toBe(11)
    expect(ancestors(deep, n - 1).length).toBe(n - 1)
  })
})
