import {
  businessEventsTable,
  logsTable,
  metricPointsTable,
  quarantinedRowsTable,
  spansByTraceBackfill,
  spansByTraceCheaper,
  spansByTraceTable,
  spansByTraceView,
  spansTable,
  switchChangesTable,
  traceSpansTable,
  traceIndexTable,
  traceIndexView,
  traceSummariesTable,
  traceSummariesView,
} from './tables.js'

/** Written to all the time, in small parts: kept compact until merges make them large. */
const COMPACT_TABLES = [
  'spans',
  'trace_spans',
  'trace_summaries',
  'business_events',
  'logs',
  'metric_points',
]
const COMPACT_PART_BYTES = 256 * 1024 * 1024

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
  {
    version: 3,
    name: 'trace lookups: spans ordered by trace ID, finer-grained trace summaries',
    // Run with no collector writing (reckon up and reckon migrate do): the copies below
    // are only made while the new tables are still empty.
    statements: (db, days) => [
      spansByTraceTable(db, days),
      spansByTraceView(db),
      traceSummariesTable(db, days),
      traceSummariesView(db),
      `INSERT INTO ${db}.trace_summaries SELECT * FROM ${db}.trace_index
      WHERE (SELECT count() FROM ${db}.trace_summaries) = 0`,
      spansByTraceBackfill(db),
      // Traces are read from spans_by_trace now: the bloom filter only cost inserts.
      `ALTER TABLE ${db}.spans DROP INDEX IF EXISTS idx_trace_id`,
    ],
  },
  {
    version: 4,
    // A step of its own, so a rerun of step 3 still finds the table it copies from.
    name: 'drop the old trace index (copied into trace_summaries)',
    statements: (db) => [
      `DROP VIEW IF EXISTS ${db}.trace_index_mv`,
      `DROP TABLE IF EXISTS ${db}.trace_index`,
    ],
  },
  {
    version: 5,
    name: 'a cheaper trace-ordered copy (LZ4, wide parts)',
    statements: (db) => spansByTraceCheaper(db),
  },
  {
    version: 6,
    name: 'trace lookups from spans kept as protobuf; no bloom filter on attribute keys',
    // spans_by_trace is no longer written; traces stored before this step are still read
    // from it until its rows expire. The bloom filter on attribute keys cost ~3 µs of
    // engine CPU per span (9.7 → 6.6 µs in a raw insert) and rarely skipped a granule, as
    // the same keys occur in all of them; the value filter, for attr.KEY=VALUE, stays.
    statements: (db, days) => [
      traceSpansTable(db, days),
      `DROP VIEW IF EXISTS ${db}.spans_by_trace_mv`,
      `ALTER TABLE ${db}.spans DROP INDEX IF EXISTS idx_attr_key`,
    ],
  },
  {
    version: 7,
    name: 'fresh parts compact (all columns in one data file) up to 256 MiB uncompressed',
    // Above 10 MiB (the default) a part is wide: two files per column stream, 169 for a
    // part of `spans`, made by each insert and again by each merge. On ext4 without a
    // journal, creating a file scans past every inode freed in the last half minute: 12% of
    // all CPU in a bench:ingest run, 4% with compact parts, ~2 µs less per span. Merges
    // make parts large enough to turn wide, as scans of a settled store prefer.
    statements: (db) =>
      COMPACT_TABLES.map(
        (table) =>
          `ALTER TABLE ${db}.${table} MODIFY SETTING min_bytes_for_wide_part = ${COMPACT_PART_BYTES}`,
      ),
  },
  {
    version: 8,
    name: 'quarantined rows: what the engine refused, apart from the good rows of its batch',
    statements: (db, days) => [quarantinedRowsTable(db, days)],
  },
]

/** Tables whose rows expire, and the column their TTL is measured from. */
export const RETAINED_TABLES: readonly { table: string; column: string }[] = [
  { table: 'spans', column: 'timestamp' },
  { table: 'spans_by_trace', column: 'timestamp' },
  { table: 'trace_spans', column: 'timestamp' },
  { table: 'trace_summaries', column: 'start' },
  { table: 'business_events', column: 'timestamp' },
  { table: 'logs', column: 'timestamp' },
  { table: 'metric_points', column: 'timestamp' },
  { table: 'quarantined_rows', column: 'time' },
]
