// GET /api/traces/:id/spans/:spanId: one span in full, for the span the UI selects. The
// columnar table finds when it started; the stored protobuf of that instant is decoded, so
// a million-span trace costs a handful of spans here, not the whole trace.
import type { Storage } from '../../storage/client.js'
import { nanos, select } from '../db.js'
import { spanOrigin } from './span-view.js'
import { entry, type StoredSpanRow } from './traces.js'

export async function getSpan(
  storage: Storage,
  traceId: string,
  spanId: string,
  timeout: number,
): Promise<string | undefined> {
  const db = storage.database
  const [at] = await select<{ start: string }>(
    storage,
    `SELECT ${nanos('timestamp')} AS start FROM ${db}.spans
     WHERE trace_id = {traceId:String} AND span_id = {spanId:String}
       AND timestamp >= (SELECT min(start) FROM ${db}.trace_summaries WHERE trace_id = {traceId:String})
       AND timestamp <= (SELECT max(end) FROM ${db}.trace_summaries WHERE trace_id = {traceId:String})
     LIMIT 1`,
    { traceId, spanId },
    timeout,
  )
  if (!at) return undefined
  const rows = await select<StoredSpanRow>(
    storage,
    `SELECT base64Encode(resource) AS resource, base64Encode(scope) AS scope,
       base64Encode(span) AS span, resource_schema_url, scope_schema_url, ${nanos('timestamp')} AS start
     FROM ${db}.trace_spans
     WHERE trace_id = {traceId:String} AND timestamp = fromUnixTimestamp64Nano({start:Int64}, 'UTC')
     LIMIT 1000`,
    { traceId, start: at.start },
    timeout,
  )
  for (const r of rows) {
    const origin = spanOrigin(r.resource, r.scope, r.resource_schema_url, r.scope_schema_url)
    const e = entry(r, origin)
    if (e.spanId === spanId) return e.json
  }
  return undefined
}
