import {
  businessEventsTable,
  logsTable,
  metricPointsTable,
  spansTable,
  switchChangesTable,
  traceIndexTable,
  traceIndexView,
} from './tables.js'

/**
 * A schema step. Statements must be idempotent (IF NOT EXISTS …) so a step that stopped
 * half-way is simply run again. Steps are never edited once released: add a new one.
 */
export interface Migration {
  version: number
  name: string
  statements: (db: string, retentionDays: number) => string[]
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'spans, trace index, business events, logs, metric points',
    statements: (db, days) => [
      spansTable(db, days),
      traceIndexTable(db, days),
      traceIndexView(db),
      businessEventsTable(db, days),
      logsTable(db, days),
      metricPointsTable(db, days),
    ],
  },
  {
    version: 2,
    name: 'degradation switches (audited changes)',
    statements: (db) => [switchChangesTable(db)],
  },
]

/** Tables whose rows expire, and the column their TTL is measured from. */
export const RETAINED_TABLES: readonly { table: string; column: string }[] = [
  { table: 'spans', column: 'timestamp' },
  { table: 'trace_index', column: 'start' },
  { table: 'business_events', column: 'timestamp' },
  { table: 'logs', column: 'timestamp' },
  { table: 'metric_points', column: 'timestamp' },
]
