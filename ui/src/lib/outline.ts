// A trace's outline on the client: the API serves the whole trace flattened in tree order
// as columns (GET /api/traces/:id/outline), a window at a time; the columns fill typed
// arrays as windows arrive, so a million-span trace costs a few bytes per span here.
import type { TraceOutline } from '@reckon/collector/schemas'
import type { Static } from 'typebox'

/** One window of the outline, as the API sends it (its `TraceOutline` schema). */
export type OutlinePage = Static<typeof TraceOutline>

export const STATUS_ERROR = 2

/** Rows per request: large enough that a 100k trace loads in a handful of reads. */
export const PAGE_ROWS = 20_000

export class Outline {
  readonly traceId: string
  readonly count: number
  readonly truncated: boolean
  readonly startUnixNano: string
  readonly durationNs: number
  readonly maxDepth: number
  readonly orphans: number
  readonly cycles: number
  readonly services: string[] = []
  readonly names: string[] = []
  readonly spanId: (string | undefined)[]
  readonly parent: Int32Array
  readonly depth: Int32Array
  readonly service: Int32Array
  readonly name: Int32Array
  readonly start: Float64Array
  readonly duration: Float64Array
  readonly status: Uint8Array
  readonly size: Int32Array
  readonly critical: Uint8Array
  /** Which rows have arrived. */
  readonly loaded: Uint8Array
  loadedRows = 0
  readonly #serviceIndex = new Map<string, number>()
  readonly #nameIndex = new Map<string, number>()
  readonly #bySpanId = new Map<string, number>()

  constructor(first: OutlinePage) {
    const n = first.spanCount
    this.traceId = first.traceId
    this.count = n
    this.truncated = first.truncated
    this.startUnixNano = first.startUnixNano
    this.durationNs = Number(first.durationNano)
    this.maxDepth = first.maxDepth
    this.orphans = first.orphans
    this.cycles = first.cycles
    this.spanId = new Array<string | undefined>(n)
    this.parent = new Int32Array(n).fill(-1)
    this.depth = new Int32Array(n)
    this.service = new Int32Array(n)
    this.name = new Int32Array(n)
    this.start = new Float64Array(n)
    this.duration = new Float64Array(n)
    this.status = new Uint8Array(n)
    this.size = new Int32Array(n).fill(1)
    this.critical = new Uint8Array(n)
    this.loaded = new Uint8Array(n)
    this.add(first)
  }

  get complete() {
    return this.loadedRows === this.count
  }

  /** Takes in one window; its dictionaries are mapped onto this outline's. */
  add(page: OutlinePage) {
    const svc = page.services.map((s) => intern(s, this.services, this.#serviceIndex))
    const nm = page.names.map((s) => intern(s, this.names, this.#nameIndex))
    const r = page.rows
    for (let k = 0; k < r.spanId.length; k++) {
      const i = page.offset + k
      if (i >= this.count) break
      if (!this.loaded[i]) this.loadedRows++
      this.loaded[i] = 1
      const id = r.spanId[k] ?? ''
      this.spanId[i] = id
      this.#bySpanId.set(id, i)
      this.parent[i] = r.parent[k] ?? -1
      this.depth[i] = r.depth[k] ?? 0
      this.service[i] = svc[r.service[k] ?? 0] ?? 0
      this.name[i] = nm[r.name[k] ?? 0] ?? 0
      this.start[i] = r.start[k] ?? 0
      this.duration[i] = r.duration[k] ?? 0
      this.status[i] = r.status[k] ?? 0
      this.size[i] = r.size[k] ?? 1
      this.critical[i] = r.critical[k] ?? 0
    }
  }

  /** The tree index of a span that has arrived, or -1. */
  indexOf(spanId: string): number {
    return this.#bySpanId.get(spanId) ?? -1
  }

  /** The first row of `[from, to)` that has not arrived, or -1. */
  firstMissing(from: number, to: number): number {
    for (let i = Math.max(0, from); i < Math.min(to, this.count); i++) if (!this.loaded[i]) return i
    return -1
  }

  serviceOf(i: number) {
    return this.services[this.service[i] ?? 0] ?? ''
  }

  nameOf(i: number) {
    return this.names[this.name[i] ?? 0] ?? ''
  }
}

function intern(s: string, list: string[], index: Map<string, number>): number {
  let i = index.get(s)
  if (i === undefined) {
    i = list.length
    list.push(s)
    index.set(s, i)
  }
  return i
}

/** A stable colour per service, the same on every page and every trace. */
export function serviceColor(service: string): string {
  let h = 0
  for (let i = 0; i < service.length; i++) h = (h * 31 + service.charCodeAt(i)) >>> 0
  return `hsl(${h % 360} 62% 52%)`
}
