// Business events are stored once per copy sent (an exporter's retry stores a second) and
// read once per event: the first copy, by time, of each (system, event ID).
import type { Params } from '../db.js'

/** The rows of a listing of events need these two to be told apart. */
export interface EventIdentity {
  system: string
  event_id: string
}

const ORDER = 'ORDER BY timestamp, observed_timestamp'

/**
 * Runs a listing of business events (`read` appends `tail`, its ORDER BY and LIMIT, and
 * binds `params`) and keeps the first copy of each event, up to `limit` events.
 *
 * The first rows with room for copies are read and the copies dropped here: a top-N read,
 * which stops early. `LIMIT 1 BY system, event_id` in the query sorts every matching row
 * first instead; a ReplacingMergeTree read with FINAL merges at read time, and would only
 * drop copies of the same day: both are slower (bench:events, docs/benchmarks.md). Only
 * when copies fill the room is the sorted query run.
 */
export async function oncePerEvent<T extends EventIdentity>(
  limit: number,
  read: (tail: string, params: Params) => Promise<T[]>,
): Promise<T[]> {
  const room = limit * 2 + 1
  const rows = await read(`${ORDER} LIMIT {room:UInt32}`, { room })
  const seen = new Set<string>()
  const events: T[] = []
  for (const r of rows) {
    const id = `${r.system}\0${r.event_id}`
    if (seen.has(id)) continue
    seen.add(id)
    events.push(r)
    if (events.length === limit) return events
  }
  if (rows.length < room) return events
  return read(`${ORDER} LIMIT 1 BY system, event_id LIMIT {limit:UInt32}`, { limit })
}
