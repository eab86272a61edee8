// Each source, as the rows of one SELECT with the same columns whatever it is: the
// comparison joins two of these inside the engine. Every value from reckon.yaml is a bound
// parameter; only names made here (the parameter prefix, the database) are in the text.
import type { SourceConfig } from '../config.js'

/** key String, key_parts Array(String), amount Nullable(Decimal(38, 9)), currency, status,
 * time DateTime64(9), flow_id, trace_id, id (one per record: an event's ID, a file's line). */
export interface SourceSql {
  sql: string
  params: Record<string, unknown>
}

export interface SourceWindow {
  /** Inclusive and exclusive bounds, Unix nanoseconds as decimal text. */
  lo: string
  hi: string
}

/** Where a file or PostgreSQL source's rows are: a file's imports, or a run's snapshot. */
export type RecordsBatch = { kind: 'imports' } | { kind: 'snapshot'; batch: string }

const time = (p: string) => `fromUnixTimestamp64Nano(toInt64({${p}:String}), 'UTC')`

export function sourceSql(
  db: string,
  name: string,
  source: SourceConfig,
  prefix: string,
  window: SourceWindow,
  batch: RecordsBatch = { kind: 'imports' },
): SourceSql {
  const p = (k: string) => `${prefix}_${k}`
  const params: Record<string, unknown> = { [p('lo')]: window.lo, [p('hi')]: window.hi }
  if ('events' in source) {
    const e = source.events
    const where = [`system = {${p('system')}:String}`]
    params[p('system')] = e.system
    if (e.type !== undefined) {
      where.push(`event_name IN {${p('types')}:Array(String)}`)
      params[p('types')] = typeof e.type === 'string' ? [e.type] : e.type
    }
    if (e.entity !== undefined) {
      where.push(`entity = {${p('entity')}:String}`)
      params[p('entity')] = e.entity
    }
    where.push(`timestamp >= ${time(p('lo'))}`, `timestamp < ${time(p('hi'))}`, `entity_key != ''`)
    const from = `${db}.business_events WHERE ${where.join(' AND ')}`
    // A re-sent event carries its ID again: it is one record, not a duplicate.
    const sql = e.latest
      ? `SELECT entity_key AS key, [entity_key] AS key_parts,
           argMax(amount, timestamp) AS amount, argMax(currency, timestamp) AS currency,
           argMax(status, timestamp) AS status, max(timestamp) AS time,
           argMax(flow_id, timestamp) AS flow_id, argMax(trace_id, timestamp) AS trace_id,
           argMax(event_id, timestamp) AS id
         FROM ${from} GROUP BY entity_key`
      : `SELECT entity_key AS key, [entity_key] AS key_parts, amount, currency, status,
           timestamp AS time, flow_id, trace_id, event_id AS id
         FROM ${from} LIMIT 1 BY event_id`
    return { sql, params }
  }
  params[p('source')] = name
  const inBatch =
    batch.kind === 'snapshot'
      ? `batch = {${p('batch')}:String}`
      : `batch IN (SELECT batch FROM ${db}.reconcile_imports FINAL
           WHERE source = {${p('source')}:String} AND state = 'done')`
  if (batch.kind === 'snapshot') params[p('batch')] = batch.batch
  return {
    sql: `SELECT key, key_parts, amount, currency, status, time, '' AS flow_id, '' AS trace_id,
        concat(batch, ':', toString(line)) AS id
      FROM ${db}.reconcile_records
      WHERE source = {${p('source')}:String} AND ${inBatch}
        AND time >= ${time(p('lo'))} AND time < ${time(p('hi'))}`,
    params,
  }
}
