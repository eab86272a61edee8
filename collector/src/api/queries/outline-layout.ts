// A trace flattened into tree order for the outline: each span after its parent, siblings by
// start time then span ID, with depth, subtree size and the critical path. Every step is a
// loop over arrays (no recursion), so a 1,000-level chain or a parent cycle costs the same as
// a flat trace, and a million spans stay in typed arrays.

/** A trace's spans as read, one entry per span (already deduplicated by span ID). */
export interface RawSpans {
  spanId: string[]
  parentSpanId: string[]
  service: string[]
  name: string[]
  /** Nanoseconds since the trace's first span started. */
  start: Float64Array
  duration: Float64Array
  /** 0 unset, 1 ok, 2 error. */
  status: Uint8Array
}

/** The outline in tree order: index `t` in every array is the t-th row of the tree. */
export interface FlatOutline {
  count: number
  spanId: string[]
  parent: Int32Array
  depth: Int32Array
  service: Int32Array
  name: Int32Array
  start: Float64Array
  duration: Float64Array
  status: Uint8Array
  size: Int32Array
  critical: Uint8Array
  services: string[]
  names: string[]
  maxDepth: number
  /** Spans whose parent is not in the trace: shown as roots. */
  orphans: number
  /** Spans only reachable through a parent cycle: the cycle is cut there, shown as roots. */
  cycles: number
  durationNs: number
}

function dictionary(values: string[]): { codes: Int32Array; words: string[] } {
  const index = new Map<string, number>()
  const words: string[] = []
  const codes = new Int32Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? ''
    let c = index.get(v)
    if (c === undefined) {
      c = words.length
      words.push(v)
      index.set(v, c)
    }
    codes[i] = c
  }
  return { codes, words }
}

export function flattenTrace(raw: RawSpans): FlatOutline {
  const n = raw.spanId.length
  const { start, duration, spanId } = raw
  const bySpan = new Map<string, number>()
  for (let i = 0; i < n; i++) bySpan.set(spanId[i] ?? '', i)

  // Each span's parent as an index (-1: a root, or an orphan whose parent never arrived).
  const parentOf = new Int32Array(n).fill(-1)
  let orphans = 0
  for (let i = 0; i < n; i++) {
    const p = raw.parentSpanId[i] ?? ''
    if (!p) continue
    const at = bySpan.get(p)
    if (at === undefined || at === i) orphans += at === undefined ? 1 : 0
    else parentOf[i] = at
  }

  const order = (a: number, b: number) =>
    (start[a] ?? 0) - (start[b] ?? 0) || ((spanId[a] ?? '') < (spanId[b] ?? '') ? -1 : 1)

  // Children of each span, contiguous (CSR), each group in start order.
  const childCount = new Int32Array(n + 1)
  for (let i = 0; i < n; i++) if ((parentOf[i] ?? -1) >= 0) childCount[(parentOf[i] ?? 0) + 1]!++
  const first = new Int32Array(n + 1)
  for (let i = 0; i < n; i++) first[i + 1] = (first[i] ?? 0) + (childCount[i + 1] ?? 0)
  const fill = first.slice(0, n)
  const children = new Int32Array(first[n] ?? 0)
  for (let i = 0; i < n; i++) {
    const p = parentOf[i] ?? -1
    if (p >= 0) children[fill[p]!++] = i
  }
  for (let i = 0; i < n; i++) {
    const a = first[i] ?? 0
    const b = first[i + 1] ?? 0
    if (b - a > 1) children.subarray(a, b).sort(order)
  }

  const roots: number[] = []
  for (let i = 0; i < n; i++) if ((parentOf[i] ?? -1) < 0) roots.push(i)
  roots.sort(order)

  // Depth-first with an explicit stack: tree order, depth and each row's parent row.
  const rowOf = new Int32Array(n).fill(-1)
  const spanAt = new Int32Array(n)
  const depth = new Int32Array(n)
  const parentRow = new Int32Array(n).fill(-1)
  const stack = new Int32Array(n)
  let rows = 0
  let cycles = 0
  let maxDepth = 0
  const walk = (root: number) => {
    let top = 0
    stack[top++] = root
    while (top > 0) {
      const s = stack[--top] ?? 0
      if ((rowOf[s] ?? -1) >= 0) continue
      const row = rows++
      rowOf[s] = row
      spanAt[row] = s
      const p = parentOf[s] ?? -1
      const pr = p >= 0 ? (rowOf[p] ?? -1) : -1
      parentRow[row] = pr
      const d = pr >= 0 ? (depth[pr] ?? 0) + 1 : 0
      depth[row] = d
      if (d > maxDepth) maxDepth = d
      for (let k = (first[s + 1] ?? 0) - 1; k >= (first[s] ?? 0); k--) {
        const c = children[k] ?? 0
        if ((rowOf[c] ?? -1) < 0) stack[top++] = c
      }
    }
  }
  for (const r of roots) walk(r)
  if (rows < n) {
    // What is left hangs off a parent cycle: cut each cycle at its earliest span.
    const left: number[] = []
    for (let i = 0; i < n; i++) if ((rowOf[i] ?? -1) < 0) left.push(i)
    left.sort(order)
    for (const s of left) {
      if ((rowOf[s] ?? -1) >= 0) continue
      cycles++
      parentOf[s] = -1
      walk(s)
    }
  }

  const out: FlatOutline = {
    count: n,
    spanId: new Array<string>(n),
    parent: parentRow,
    depth,
    service: new Int32Array(n),
    name: new Int32Array(n),
    start: new Float64Array(n),
    duration: new Float64Array(n),
    status: new Uint8Array(n),
    size: new Int32Array(n).fill(1),
    critical: new Uint8Array(n),
    services: [],
    names: [],
    maxDepth,
    orphans,
    cycles,
    durationNs: 0,
  }
  const svc = dictionary(raw.service)
  const nm = dictionary(raw.name)
  out.services = svc.words
  out.names = nm.words
  let end = 0
  for (let t = 0; t < n; t++) {
    const s = spanAt[t] ?? 0
    out.spanId[t] = spanId[s] ?? ''
    out.service[t] = svc.codes[s] ?? 0
    out.name[t] = nm.codes[s] ?? 0
    out.start[t] = start[s] ?? 0
    out.duration[t] = duration[s] ?? 0
    out.status[t] = raw.status[s] ?? 0
    end = Math.max(end, (start[s] ?? 0) + (duration[s] ?? 0))
  }
  out.durationNs = end
  // Subtree sizes: children come after their parent, so one pass from the end adds them up.
  for (let t = n - 1; t > 0; t--) {
    const p = parentRow[t] ?? -1
    if (p >= 0) out.size[p]! += out.size[t] ?? 1
  }
  markCriticalPath(out, rowOf, children, first, spanAt)
  return out
}

/**
 * The critical path of the first root, as Jaeger draws it: from a span's end, the child
 * that finished last is on it; before that child started, the child that finished last
 * before then; and so on into each chosen child. Children ending after their parent count
 * as ending with it.
 */
function markCriticalPath(
  o: FlatOutline,
  rowOf: Int32Array,
  children: Int32Array,
  first: Int32Array,
  spanAt: Int32Array,
) {
  if (o.count === 0) return
  const stack: number[] = [0]
  while (stack.length) {
    const row = stack.pop() ?? 0
    o.critical[row] = 1
    const s = spanAt[row] ?? 0
    const a = first[s] ?? 0
    const b = first[s + 1] ?? 0
    if (a === b) continue
    const parentEnd = (o.start[row] ?? 0) + (o.duration[row] ?? 0)
    const kids: { row: number; start: number; end: number }[] = []
    for (let k = a; k < b; k++) {
      const r = rowOf[children[k] ?? 0] ?? 0
      if (o.parent[r] !== row) continue
      const st = o.start[r] ?? 0
      kids.push({ row: r, start: st, end: Math.min(parentEnd, st + (o.duration[r] ?? 0)) })
    }
    kids.sort((x, y) => y.end - x.end)
    let cursor = parentEnd
    for (const k of kids) {
      if (k.end > cursor) continue
      stack.push(k.row)
      cursor = k.start
    }
  }
}
