// The state of one open trace: its outline as windows arrive, collapsed subtrees, the filter
// and the rows they leave on screen. The page and its components read it; the URL holds what
// must survive a reload (selected span, filter), this holds the rest.
import { api } from './api.js'
import { Outline, PAGE_ROWS, STATUS_ERROR, type OutlinePage } from './outline.js'
import { ancestors, collapseToDepth, visibleRows, type RowEntry } from './tree-rows.js'

/** Traces up to this size load whole in the background, so filter and search see every span. */
export const FULL_LOAD_LIMIT = 200_000

export interface TraceFilter {
  service?: string | undefined
  operation?: string | undefined
  minDurationMs?: number | undefined
  errorsOnly?: boolean | undefined
}

export const hasFilter = (f: TraceFilter) =>
  !!(f.service || f.operation || f.minDurationMs || f.errorsOnly)

export class TraceView {
  outline = $state.raw<Outline | undefined>(undefined)
  /** Bumped when a window arrives: the typed arrays change in place. */
  version = $state(0)
  collapsed = $state.raw<Set<number>>(new Set())
  filter = $state.raw<TraceFilter>({})
  error = $state<string | undefined>(undefined)
  notFound = $state(false)
  #pending = new Set<number>()
  #closed = false

  entries: RowEntry[] = $derived.by(() => {
    void this.version
    const o = this.outline
    if (!o) return []
    const f = this.filter
    if (!hasFilter(f) || !o.complete) return visibleRows(o, this.collapsed)
    const minNs = (f.minDurationMs ?? 0) * 1e6
    const svc = f.service ? o.services.indexOf(f.service) : -1
    const op = f.operation?.toLowerCase()
    return visibleRows(o, this.collapsed, (i) => {
      if (f.service && o.service[i] !== svc) return false
      if (op && !o.nameOf(i).toLowerCase().includes(op)) return false
      if (minNs && (o.duration[i] ?? 0) < minNs) return false
      if (f.errorsOnly && o.status[i] !== STATUS_ERROR) return false
      return true
    })
  })

  constructor(readonly traceId: string) {}

  /** Opens the trace at the window holding `spanId` (or its start), then loads the rest. */
  async open(spanId?: string) {
    try {
      const first = await this.#read(spanId ? { around: spanId } : { offset: 0 })
      if (this.#closed) return
      this.outline = new Outline(first)
      this.version++
      if (first.spanCount <= FULL_LOAD_LIMIT) void this.#loadAll()
    } catch (err) {
      const status = (err as { status?: number }).status
      this.notFound = status === 404
      this.error = err instanceof Error ? err.message : String(err)
    }
  }

  close() {
    this.#closed = true
  }

  /** Makes sure the rows `[from, to)` (tree indexes) are here or on their way. */
  ensure(from: number, to: number) {
    const o = this.outline
    if (!o) return
    for (let i = o.firstMissing(from, to); i >= 0 && i < to; i = o.firstMissing(i, to)) {
      const page = Math.floor(i / PAGE_ROWS) * PAGE_ROWS
      if (!this.#pending.has(page)) void this.#loadPage(page)
      i = page + PAGE_ROWS
    }
  }

  toggle(i: number) {
    const next = new Set(this.collapsed)
    if (next.has(i)) next.delete(i)
    else if ((this.outline?.size[i] ?? 1) > 1) next.add(i)
    this.collapsed = next
  }

  /** Shows `levels` levels of the tree (1 = roots only). */
  showDepth(levels: number) {
    if (this.outline) this.collapsed = collapseToDepth(this.outline, levels - 1)
  }

  expandAll() {
    this.collapsed = new Set()
  }

  /** Opens every collapsed ancestor of span `i`, so it is on screen. */
  reveal(i: number) {
    const o = this.outline
    if (!o) return
    const up = ancestors(o, i).filter((a) => this.collapsed.has(a))
    if (up.length === 0) return
    const next = new Set(this.collapsed)
    for (const a of up) next.delete(a)
    this.collapsed = next
  }

  async #loadAll() {
    const o = this.outline
    if (!o) return
    for (let page = 0; page < o.count && !this.#closed; page += PAGE_ROWS) {
      if (o.firstMissing(page, page + PAGE_ROWS) >= 0) await this.#loadPage(page)
    }
  }

  async #loadPage(offset: number) {
    if (this.#pending.has(offset)) return
    this.#pending.add(offset)
    try {
      const page = await this.#read({ offset })
      if (this.#closed || !this.outline) return
      this.outline.add(page)
      this.version++
    } catch (err) {
      this.error = err instanceof Error ? err.message : String(err)
    } finally {
      this.#pending.delete(offset)
    }
  }

  #read(q: { offset?: number; around?: string }) {
    return api.get<OutlinePage>(`/api/traces/${encodeURIComponent(this.traceId)}/outline`, {
      ...q,
      limit: PAGE_ROWS,
    })
  }
}
