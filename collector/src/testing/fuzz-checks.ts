// What the ingest fuzz test (ingest/fuzz.test.ts) compares: each body's answer with what
// the query API reads back and the tables hold. Each check returns the differences found,
// as text naming the body and the item, so one run reports every problem at once.
import { isDeepStrictEqual } from 'node:util'
import { storedText, type TypedValue } from '../otlp-to-native/typed-value.js'
import type { FuzzBody } from './fuzz-bodies.js'
import { UNCHECKED, type Expected } from './fuzz-values.js'

/** What the ingest answered to one body. */
export interface Answer {
  status: number
  /** Items refused in a 200 (partial success); for events, as many as `rejectedRows`. */
  rejected: number
  rejectedRows: number[]
  /** Rows stored, as /v1/events answers. */
  accepted: number | undefined
  text: string
}

export interface ViewSpan {
  spanId: string
  name: string
  startTimeUnixNano: string
  durationNano: string
  attributes: Record<string, TypedValue>
  events: { name: string }[]
  decodeWarning?: string
}

/** A row of `spans`, as the test reads it. */
export interface SpanRow {
  trace_id: string
  span_id: string
  span_name: string
  start: string
  duration_ns: string
  span_attributes: Record<string, string>
  span_attribute_types: Record<string, string>
}

export interface Read {
  attributes: Record<string, TypedValue>
  [field: string]: unknown
}

/** Everything stored, grouped by the key each body's items carry. */
export interface Stored {
  spanRows: Map<string, SpanRow[]>
  views: Map<string, ViewSpan[]>
  logRows: Map<string, number>
  logs: Map<string, Read[]>
  events: Map<string, Read[]>
  pointRows: Map<string, number>
  points: Map<string, Read[]>
}

export const short = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v)
  return s.length > 200 ? `${s.slice(0, 200)}…` : s
}

/** JSON's view of a value: objects without a prototype equal parsed ones. */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v) ?? 'null') as unknown

/** Where a read differs from what was sent: '' when it does not. */
function differs(what: string, got: unknown, want: Expected): string {
  if (want === UNCHECKED || isDeepStrictEqual(plain(got), plain(want))) return ''
  return `${what}: read ${short(got)}, sent ${short(want)}`
}

/** Attributes read back against those sent: every key, and each value that can be predicted. */
function attributeProblems(
  got: Record<string, TypedValue>,
  want: Record<string, Expected>,
  ignore = /^reckon\./,
): string[] {
  const read = Object.keys(got)
    .filter((k) => !ignore.test(k))
    .sort()
  const sent = Object.keys(want)
    .filter((k) => !ignore.test(k))
    .sort()
  const problems = [
    short(read) === short(sent) ? '' : `attribute keys: read ${short(read)}, sent ${short(sent)}`,
  ]
  for (const k of sent) {
    if (Object.hasOwn(got, k))
      problems.push(differs(`attribute ${JSON.stringify(k)}`, got[k], want[k]!))
  }
  return problems
}

/** A trace view span and its `spans` row, field by field: the two tables must agree. */
export function tableProblems(view: ViewSpan, row: SpanRow): string[] {
  const asStored = (o: Record<string, TypedValue>) =>
    Object.keys(o)
      .sort()
      .map((k) => {
        const s = storedText(o[k]!)
        return [k, s.text, s.type ?? '']
      })
  const inSpans = Object.keys(row.span_attributes)
    .sort()
    .map((k) => {
      const types = row.span_attribute_types
      return [k, row.span_attributes[k], Object.hasOwn(types, k) ? types[k] : '']
    })
  return [
    differs('name in spans', row.span_name, view.name),
    differs('start in spans', row.start, view.startTimeUnixNano),
    differs('duration in spans', row.duration_ns, view.durationNano),
    short(asStored(view.attributes)) === short(inSpans)
      ? ''
      : `attributes: view ${short(asStored(view.attributes))}, spans ${short(inSpans)}`,
  ].filter(Boolean)
}

/**
 * One body against what is stored: as many items as acknowledged, every good item among
 * them, each read back as sent; a body refused whole leaves nothing.
 */
export function bodyProblems(b: FuzzBody, a: Answer, s: Stored): string[] {
  const refused = a.status >= 400
  const problems: string[] = []
  for (const id of refused ? b.traceIds : []) {
    if (s.spanRows.has(id) || s.logRows.has(id))
      problems.push(`answered ${a.status} but trace ${id} was stored`)
  }
  const c = b.check
  if (!c) return problems
  const acknowledged = refused ? 0 : c.kind === 'events' ? (a.accepted ?? 0) : sent(b) - a.rejected
  const items = itemsOf(b)
  // A body may be refused whole for a poison (a wrong type: 400), never when all of it is good.
  if (refused && items.every((x) => x.clean))
    problems.push(`a good body was answered ${a.status}: ${a.text}`)
  const count = (what: string, read: number, stored = read): void => {
    if (read !== stored) problems.push(`${read} ${what} read, ${stored} stored`)
    if (read !== acknowledged) problems.push(`${read} ${what} read, ${acknowledged} acknowledged`)
  }
  const item = (
    what: string,
    got: Read | ViewSpan | undefined,
    clean: boolean,
    diffs: () => string[],
  ): void => {
    if (!got) {
      if (clean && !refused) problems.push(`good ${what} was not stored`)
      return
    }
    for (const d of diffs()) if (d) problems.push(`${what} ${d}`)
  }
  switch (c.kind) {
    case 'traces': {
      const view = b.traceIds.flatMap((id) => s.views.get(id) ?? [])
      const rows = b.traceIds.flatMap((id) => s.spanRows.get(id) ?? []).length
      count('spans', view.length, rows)
      for (const x of c.spans) {
        const got = view.find((v) => v.spanId === x.spanId)
        item(`span ${x.spanId}`, got, x.clean, () => [
          differs('name', got!.name, x.name),
          differs('start', got!.startTimeUnixNano, x.startTimeUnixNano),
          differs('duration', got!.durationNano, x.durationNano),
          differs(
            'event names',
            got!.events.map((e) => e.name),
            x.eventNames,
          ),
          ...attributeProblems(got!.attributes, x.attributes),
        ])
      }
      break
    }
    case 'logs': {
      const logs = s.logs.get(c.traceId) ?? []
      const events = s.events.get(c.flowId) ?? []
      if (logs.length !== (s.logRows.get(c.traceId) ?? 0)) {
        problems.push(`${logs.length} logs read, ${s.logRows.get(c.traceId) ?? 0} stored`)
      }
      count('logs and events', logs.length + events.length)
      for (const r of c.records) {
        const got = (r.event ? events : logs).find((x) => x.attributes['fuzz.n'] === r.n)
        item(`log record ${r.n}`, got, r.clean, () => [
          ...Object.entries(r.fields).map(([k, v]) => differs(k, got![k], v)),
          ...attributeProblems(got!.attributes, r.attributes),
        ])
      }
      break
    }
    case 'metrics': {
      const points = s.points.get(c.service) ?? []
      count('points', points.length, s.pointRows.get(c.service) ?? 0)
      for (const p of c.points) {
        const got = points.find((x) => x.attributes['fuzz.n'] === p.n)
        item(`point ${p.n}`, got, p.clean, () => [
          ...Object.entries(p.fields).map(([k, v]) => differs(k, got![k], v)),
          ...attributeProblems(got!.attributes, p.attributes),
        ])
      }
      break
    }
    case 'events': {
      const events = s.events.get(c.flowId) ?? []
      count('events', events.length)
      if (new Set(events.map((e) => e.id)).size !== events.length)
        problems.push('an event is listed twice')
      c.rows.forEach((r, index) => {
        const got = events.find((e) => e.attributes['fuzz.n'] === r.n)
        const kept = !refused && r.n >= 0 && !a.rejectedRows.includes(index)
        if (r.clean && !kept) problems.push(`good row ${index} was refused: ${a.text}`)
        if (kept && !got) problems.push(`row ${index} was acknowledged but is not stored`)
        if (!kept && got) problems.push(`row ${index} was refused but is stored`)
        item(`row ${index}`, got, false, () => [
          ...Object.entries(r.fields).map(([k, v]) => differs(k, got![k], v)),
          ...attributeProblems(got!.attributes, r.attributes, /^$/),
        ])
      })
      break
    }
  }
  return problems
}

/** The items of a checked body (none for a mutated one). */
function itemsOf(b: FuzzBody): { clean: boolean }[] {
  const c = b.check
  if (!c) return []
  if (c.kind === 'events') return c.rows
  if (c.kind === 'traces') return c.spans
  return c.kind === 'logs' ? c.records : c.points
}

/** Items a body carries, as partial success counts them. */
export const sent = (b: FuzzBody): number => itemsOf(b).length

/** Items without a poison, which must be stored. */
export const clean = (b: FuzzBody): number => itemsOf(b).filter((x) => x.clean).length
