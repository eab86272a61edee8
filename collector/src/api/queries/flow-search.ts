import type { Storage } from '../../storage/client.js'
import { Filter, inWindow, nanos, select, type Window } from '../db.js'

/** One system's part in a flow: its events and the status its latest event gave. */
export interface FlowSystem {
  system: string
  events: number
  lastStatus: string
  lastUnixNano: string
}

/** A business flow as a search result: when it ran, which systems saw it, and how it stands. */
export interface FlowSummary {
  flowId: string
  firstUnixNano: string
  lastUnixNano: string
  events: number
  /** Business keys seen in the flow (at most five), e.g. the order number. */
  keys: string[]
  systems: FlowSystem[]
}

export interface FlowFilter {
  key?: string | undefined
  system?: string | undefined
  status?: string | undefined
  type?: string | undefined
  window: Window
  limit: number
}

/**
 * The newest flows with a business event matching every filter, each summarised over all its
 * events in the window (not only the matching ones: a flow that reached `payment` shows
 * `order` too). Events sent twice count once (by their ID).
 */
export async function searchFlows(
  storage: Storage,
  f: FlowFilter,
  timeout: number,
): Promise<FlowSummary[]> {
  const db = storage.database
  const match = new Filter(f.window, 'timestamp', { limit: f.limit })
    .and(`flow_id != ''`)
    .equals('entity_key', 'key', f.key)
    .equals('system', 'system', f.system)
    .equals('status', 'status', f.status)
    .equals('event_name', 'type', f.type)
  const rows = await select<{
    flow_id: string
    first_ns: string
    last_ns: string
    events: string
    flow_keys: string[]
    by_system: [string, string, string, string][]
  }>(
    storage,
    `WITH matching AS (
       SELECT flow_id FROM ${db}.business_events WHERE ${match.sql}
       GROUP BY flow_id ORDER BY max(timestamp) DESC LIMIT {limit:UInt32}
     )
     SELECT flow_id, ${nanos('min(first)')} AS first_ns, ${nanos('max(last)')} AS last_ns,
       toString(sum(n)) AS events, arraySlice(arrayDistinct(arrayFlatten(groupArray(keys))), 1, 5) AS flow_keys,
       arraySort(x -> x.1, groupArray((system, toString(n), status, ${nanos('last')}))) AS by_system
     FROM (
       SELECT flow_id, system, uniqExact(event_id) AS n, argMax(status, timestamp) AS status,
         min(timestamp) AS first, max(timestamp) AS last, groupUniqArray(5)(entity_key) AS keys
       FROM ${db}.business_events
       WHERE ${inWindow('timestamp')} AND flow_id IN (SELECT flow_id FROM matching)
       GROUP BY flow_id, system
     )
     GROUP BY flow_id ORDER BY max(last) DESC, flow_id`,
    match.params,
    timeout,
  )
  return rows.map((r) => ({
    flowId: r.flow_id,
    firstUnixNano: r.first_ns,
    lastUnixNano: r.last_ns,
    events: Number(r.events),
    keys: r.flow_keys,
    systems: r.by_system.map(([system, n, lastStatus, last]) => ({
      system,
      events: Number(n),
      lastStatus,
      lastUnixNano: last,
    })),
  }))
}
