// Two traces side by side: spans matched by their path of service + operation from the
// root, so the same call in both lines up; each row says how many spans each trace has
// there and how their mean latency differs (Jaeger compares structure only).
import type { Outline } from './outline.js'

export interface CompareRow {
  key: string
  depth: number
  service: string
  operation: string
  a: { count: number; meanNs: number }
  b: { count: number; meanNs: number }
  /** Only in A, only in B, in both with another count, or the same shape. */
  change: 'removed' | 'added' | 'count' | 'same'
  /** Mean latency of B minus A, in ns (0 when absent from one side). */
  deltaNs: number
}

type Side = Pick<Outline, 'count' | 'parent' | 'duration' | 'serviceOf' | 'nameOf' | 'depth'>

interface Acc {
  key: string
  depth: number
  service: string
  operation: string
  count: number
  total: number
  order: number
}

function paths(o: Side): Map<string, Acc> {
  const keys: string[] = new Array<string>(o.count)
  const out = new Map<string, Acc>()
  // Tree order puts each parent before its children: one pass, no recursion.
  for (let i = 0; i < o.count; i++) {
    const service = o.serviceOf(i)
    const operation = o.nameOf(i)
    const p = o.parent[i] ?? -1
    const key = `${p >= 0 ? keys[p] : ''}/${service}\u0001${operation}`
    keys[i] = key
    let acc = out.get(key)
    if (!acc) {
      acc = { key, depth: o.depth[i] ?? 0, service, operation, count: 0, total: 0, order: i }
      out.set(key, acc)
    }
    acc.count++
    acc.total += o.duration[i] ?? 0
  }
  return out
}

export function compareTraces(a: Side, b: Side): CompareRow[] {
  const pa = paths(a)
  const pb = paths(b)
  const rows: CompareRow[] = []
  const seen = new Set<string>()
  // Rows in A's tree order, B's extra paths placed after their parent path's row.
  const order = [...pa.values()].sort((x, y) => x.order - y.order).map((x) => x.key)
  for (const acc of [...pb.values()].sort((x, y) => x.order - y.order)) {
    if (pa.has(acc.key)) continue
    const parent = acc.key.slice(0, acc.key.lastIndexOf('/'))
    let at = order.lastIndexOf(parent)
    // After the parent's whole subtree already listed.
    while (at >= 0 && at + 1 < order.length && (order[at + 1] ?? '').startsWith(`${parent}/`)) at++
    order.splice(at + 1, 0, acc.key)
  }
  for (const key of order) {
    if (seen.has(key)) continue
    seen.add(key)
    const x = pa.get(key)
    const y = pb.get(key)
    const base = (x ?? y)!
    const ma = x ? x.total / x.count : 0
    const mb = y ? y.total / y.count : 0
    rows.push({
      key,
      depth: base.depth,
      service: base.service,
      operation: base.operation,
      a: { count: x?.count ?? 0, meanNs: ma },
      b: { count: y?.count ?? 0, meanNs: mb },
      change: !y ? 'removed' : !x ? 'added' : x.count !== y.count ? 'count' : 'same',
      deltaNs: x && y ? mb - ma : 0,
    })
  }
  return rows
}
