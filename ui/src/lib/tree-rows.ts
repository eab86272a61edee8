// Which rows of a trace's tree are on screen: collapsed subtrees leave out their spans, and a
// filter folds each run of non-matching spans into one "N spans hidden" row. Iterative over
// the tree order, so 1,000-level nesting or a million spans cost one pass, no recursion.
import type { Outline } from './outline.js'

/**
 * Rows on screen: a number ≥ 0 is a span's tree index; a negative one, -N, is a row that
 * stands for N spans the filter hides.
 */
export type RowEntry = number

export function visibleRows(
  o: Pick<Outline, 'count' | 'size'>,
  collapsed: ReadonlySet<number>,
  matches?: (i: number) => boolean,
): RowEntry[] {
  const out: RowEntry[] = []
  let hidden = 0
  let i = 0
  while (i < o.count) {
    const skip = collapsed.has(i) ? Math.max(1, o.size[i] ?? 1) : 1
    if (!matches || matches(i)) {
      if (hidden) out.push(-hidden)
      hidden = 0
      out.push(i)
    } else hidden += skip
    i += skip
  }
  if (hidden) out.push(-hidden)
  return out
}

/** Every span at `depth` (0 = roots) with children: collapsing them shows `depth + 1` levels. */
export function collapseToDepth(
  o: Pick<Outline, 'count' | 'size' | 'depth' | 'loaded'>,
  depth: number,
): Set<number> {
  const out = new Set<number>()
  for (let i = 0; i < o.count; i++) {
    if (o.loaded[i] && o.depth[i] === depth && (o.size[i] ?? 1) > 1) out.add(i)
  }
  return out
}

/** The tree indexes of a span's ancestors, nearest first. */
export function ancestors(o: Pick<Outline, 'parent'>, i: number): number[] {
  const out: number[] = []
  let p = o.parent[i] ?? -1
  // A bound on the walk: a broken parent column cannot make it loop.
  for (let guard = 0; p >= 0 && guard < o.parent.length; guard++) {
    out.push(p)
    p = o.parent[p] ?? -1
  }
  return out
}
