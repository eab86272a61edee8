import type { ClickHouseSettings } from '@clickhouse/client'
import type { Config } from '../config/index.js'

/**
 * What one query of the API may cost the engine. Read caps are checked against the
 * engine's estimate once the primary key has narrowed the parts, so a query that would
 * read too much is refused before it reads, and during the read when the estimate was low.
 */
export function costCaps(config: Config): ClickHouseSettings {
  const q = config.query
  return {
    max_execution_time: q.timeoutSeconds,
    timeout_overflow_mode: 'throw',
    max_rows_to_read: String(q.maxRowsToRead),
    max_bytes_to_read: String(q.maxBytesToRead),
    read_overflow_mode: 'throw',
  }
}

/** A query stopped by a cap, as the client is told: status and what to narrow. */
export interface CapAnswer {
  status: 422 | 503
  message: string
}

const NARROW = 'narrow the time window (from/to) or add filters'

/** The answer for an engine error that is a cap being hit; undefined for any other error. */
export function capHit(err: unknown, config: Config): CapAnswer | undefined {
  // Duck-typed: chDB raises the ClickHouseError of its own copy of the client library.
  const type = (err as { type?: unknown } | null)?.type
  const q = config.query
  switch (type) {
    case 'TOO_MANY_ROWS':
      return {
        status: 422,
        message: `the query would read more than ${q.maxRowsToRead} rows (query.maxRowsToRead): ${NARROW}`,
      }
    case 'TOO_MANY_BYTES':
      return {
        status: 422,
        message: `the query would read more than ${q.maxBytesToRead} bytes (query.maxBytesToRead): ${NARROW}`,
      }
    case 'TIMEOUT_EXCEEDED':
      return {
        status: 503,
        message: `the query ran longer than ${q.timeoutSeconds} s (query.timeoutSeconds): ${NARROW}, or retry when the collector is less busy`,
      }
    case 'MEMORY_LIMIT_EXCEEDED':
      return {
        status: 503,
        message: `the query needed more memory than the engine may use: ${NARROW}, or retry when the collector is less busy`,
      }
    default:
      return undefined
  }
}
