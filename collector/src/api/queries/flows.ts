import type { Storage } from '../../storage/client.js'
import { inWindow, select, type Window } from '../db.js'
import { findEvents, type EventView } from './events.js'
import { summaries, type TraceSummary } from './traces.js'

export interface FlowView {
  flowId: string
  traces: TraceSummary[]
  events: EventView[]
}

/** Everything recorded under one business flow: its traces and events, in time order. */
export async function getFlow(
  storage: Storage,
  flowId: string,
  window: Window,
  limit: number,
  timeout: number,
): Promise<FlowView> {
  const ids = await select<{ trace_id: string }>(
    storage,
    `SELECT trace_id FROM ${storage.database}.spans
     WHERE flow_id = {flowId:String} AND ${inWindow('timestamp')}
     GROUP BY trace_id ORDER BY min(timestamp) LIMIT {limit:UInt32}`,
    { flowId, ...window, limit },
    timeout,
  )
  const [traces, events] = await Promise.all([
    summaries(
      storage,
      ids.map((r) => r.trace_id),
      timeout,
    ),
    findEvents(storage, { flowId, window, limit }, timeout),
  ])
  traces.sort((a, b) => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1))
  return { flowId, traces, events }
}
