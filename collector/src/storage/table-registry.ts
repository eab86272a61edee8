// Every table the collector keeps, in one place: which the write pipeline fills and in what
// format, and which column retention measures rows by. The DDL is in the frozen schema
// steps (collector-schema.ts).
import type { InsertFormat } from './insert.js'

interface TableEntry {
  /** Filled by the write pipeline, in this format; otherwise by a view or a route. */
  written?: InsertFormat
  /** The column the TTL counts from; absent: rows are kept until removed. */
  retainedBy?: string
}

export const COLLECTOR_TABLES = {
  // Spans, the bulk of the volume, go in Native; the rest as JSON lines.
  spans: { written: 'Native', retainedBy: 'timestamp' },
  trace_spans: { written: 'Native', retainedBy: 'timestamp' },
  logs: { written: 'JSONEachRow', retainedBy: 'timestamp' },
  business_events: { written: 'JSONEachRow', retainedBy: 'timestamp' },
  metric_points: { written: 'JSONEachRow', retainedBy: 'timestamp' },
  trace_summaries: { retainedBy: 'start' },
  quarantined_rows: { retainedBy: 'time' },
  switch_changes: {},
  api_keys: {},
  api_key_revocations: {},
  api_key_uses: {},
  audit_log: {},
  auth_secrets: {},
} as const satisfies Record<string, TableEntry>

type Registry = typeof COLLECTOR_TABLES
/** The tables the write pipeline fills. */
export type Table = {
  [K in keyof Registry]: Registry[K] extends { written: InsertFormat } ? K : never
}[keyof Registry]

const entries = Object.entries(COLLECTOR_TABLES) as [keyof Registry, TableEntry][]

export const TABLES = entries.filter(([, e]) => e.written).map(([name]) => name) as Table[]

export const FORMATS = Object.fromEntries(
  entries.flatMap(([name, e]) => (e.written ? [[name, e.written]] : [])),
) as Record<Table, InsertFormat>

/** Tables whose rows expire, and the column their TTL is measured from. */
export const RETAINED_TABLES: readonly { table: string; column: string }[] = entries.flatMap(
  ([table, e]) => (e.retainedBy ? [{ table, column: e.retainedBy }] : []),
)
