// A business flow on one timeline: business events from every system, the traces that
// carried them, logs, and the reconciler's compensation attempts, in time order and placed
// on lanes (one per system, one for traces). Pure: the Flow page only draws it.
import { nanosToMs } from './format.js'
import type {
  BusinessEventView,
  FindingDetailView,
  LogRecordView,
  TraceSummaryView,
} from './types.js'

export type TimelineItem =
  | { kind: 'event'; ms: number; lane: string; event: BusinessEventView }
  | { kind: 'trace'; ms: number; endMs: number; lane: string; trace: TraceSummaryView }
  | { kind: 'log'; ms: number; lane: string; log: LogRecordView }
  | {
      kind: 'compensation'
      ms: number
      lane: string
      finding: FindingDetailView
      attempt: FindingDetailView['attempts'][number]
    }

export interface FlowTimeline {
  items: TimelineItem[]
  lanes: string[]
  fromMs: number
  toMs: number
}

export const TRACE_LANE = 'traces'
export const RECONCILER_LANE = 'reconciler'

export function flowTimeline(
  events: BusinessEventView[],
  traces: TraceSummaryView[],
  logs: LogRecordView[],
  findings: FindingDetailView[],
): FlowTimeline {
  const items: TimelineItem[] = []
  for (const e of events)
    items.push({ kind: 'event', ms: nanosToMs(e.timeUnixNano), lane: e.system, event: e })
  for (const t of traces) {
    const ms = nanosToMs(t.startTimeUnixNano)
    items.push({
      kind: 'trace',
      ms,
      endMs: ms + Number(t.durationNano) / 1e6,
      lane: TRACE_LANE,
      trace: t,
    })
  }
  for (const l of logs)
    items.push({ kind: 'log', ms: nanosToMs(l.timeUnixNano), lane: l.service, log: l })
  for (const f of findings)
    for (const a of f.attempts)
      items.push({
        kind: 'compensation',
        ms: Date.parse(a.startedAt),
        lane: RECONCILER_LANE,
        finding: f,
        attempt: a,
      })
  items.sort((a, b) => a.ms - b.ms)
  const systems = [...new Set(events.map((e) => e.system))]
  const services = [...new Set(logs.map((l) => l.service))].filter((s) => !systems.includes(s))
  const lanes = [...systems, ...services]
  if (traces.length) lanes.push(TRACE_LANE)
  if (items.some((i) => i.kind === 'compensation')) lanes.push(RECONCILER_LANE)
  const times = items.flatMap((i) => (i.kind === 'trace' ? [i.ms, i.endMs] : [i.ms]))
  const fromMs = times.length ? Math.min(...times) : 0
  const toMs = times.length ? Math.max(...times) : 0
  return { items, lanes, fromMs, toMs: toMs > fromMs ? toMs : fromMs + 1 }
}

/** Each system's latest status in the flow, and when. */
export function systemStatuses(events: BusinessEventView[]) {
  const out = new Map<string, { status: string; ns: string; events: number; types: Set<string> }>()
  for (const e of events) {
    const cur = out.get(e.system)
    if (!cur)
      out.set(e.system, {
        status: e.status,
        ns: e.timeUnixNano,
        events: 1,
        types: new Set([e.type]),
      })
    else {
      cur.events++
      cur.types.add(e.type)
      if (BigInt(e.timeUnixNano) >= BigInt(cur.ns)) {
        cur.status = e.status
        cur.ns = e.timeUnixNano
      }
    }
  }
  return out
}
