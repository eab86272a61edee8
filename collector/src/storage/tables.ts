// Table layout follows what SigNoz, Jaeger v2 and the contrib ClickHouse exporter learned:
// daily partitions dropped whole by TTL, sort keys that start with what searches filter on,
// bloom filters for IDs that are looked up point-wise, LowCardinality for repeated names.

/** TTL clause shared by every table; `ttl_only_drop_parts` drops whole days at once. */
export const ttl = (column: string, days: number): string =>
  `TTL toDateTime(${column}) + toIntervalDay(${days})`

const Ts = `DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1))`
const Attrs = `Map(LowCardinality(String), String) CODEC(ZSTD(1))`
const Types = `Map(LowCardinality(String), LowCardinality(String)) CODEC(ZSTD(1))`
const Settings = `SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1`
/**
 * For tables read by key a few rows at a time: small granules, and small compressed blocks,
 * since a lookup decompresses every block its granules touch (64 KiB–1 MiB by default, per
 * column and part: that, not the rows, was most of a lookup's time).
 */
const POINT_LOOKUP_SETTINGS = `SETTINGS index_granularity = 256, ttl_only_drop_parts = 1,
  min_compress_block_size = 4096, max_compress_block_size = 16384`

/** What a span says, after its IDs: the columns `spans` and `spans_by_trace` both hold. */
const SPAN_BODY_COLUMNS = `  service_name LowCardinality(String) CODEC(ZSTD(1)),
  span_name LowCardinality(String) CODEC(ZSTD(1)),
  span_kind LowCardinality(String) CODEC(ZSTD(1)),
  duration_ns UInt64 CODEC(ZSTD(1)),
  status_code LowCardinality(String) CODEC(ZSTD(1)),
  status_message String CODEC(ZSTD(1)),
  flow_id String CODEC(ZSTD(1)),
  scope_name LowCardinality(String) CODEC(ZSTD(1)),
  scope_version LowCardinality(String) CODEC(ZSTD(1)),
  resource_attributes ${Attrs},
  resource_attribute_types ${Types},
  span_attributes ${Attrs},
  span_attribute_types ${Types},
  event_times Array(DateTime64(9, 'UTC')) CODEC(ZSTD(1)),
  event_names Array(LowCardinality(String)) CODEC(ZSTD(1)),
  event_attributes Array(String) CODEC(ZSTD(1)),
  link_trace_ids Array(String) CODEC(ZSTD(1)),
  link_span_ids Array(String) CODEC(ZSTD(1)),
  link_trace_states Array(String) CODEC(ZSTD(1)),
  link_attributes Array(String) CODEC(ZSTD(1))`

export function spansTable(db: string, days: number): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.spans (
  timestamp ${Ts},
  trace_id String CODEC(ZSTD(1)),
  span_id String CODEC(ZSTD(1)),
  parent_span_id String CODEC(ZSTD(1)),
  trace_state String CODEC(ZSTD(1)),
  flags UInt32 CODEC(ZSTD(1)),
${SPAN_BODY_COLUMNS},
  dropped_attributes UInt32 CODEC(ZSTD(1)),
  dropped_events UInt32 CODEC(ZSTD(1)),
  dropped_links UInt32 CODEC(ZSTD(1)),
  INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
  INDEX idx_flow_id flow_id TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_duration duration_ns TYPE minmax GRANULARITY 1,
  INDEX idx_attr_key mapKeys(span_attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_attr_value mapValues(span_attributes) TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY (service_name, span_name, toDateTime(timestamp))
${ttl('timestamp', days)}
${Settings}`
}

/** Per trace, merged by key: what `trace_index` and `trace_summaries` both hold. */
const TRACE_SUMMARY_COLUMNS = `  trace_id String CODEC(ZSTD(1)),
  start SimpleAggregateFunction(min, DateTime64(9, 'UTC')),
  end SimpleAggregateFunction(max, DateTime64(9, 'UTC')),
  span_count SimpleAggregateFunction(sum, UInt64),
  error_count SimpleAggregateFunction(sum, UInt64),
  services SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
  root_service SimpleAggregateFunction(max, String),
  root_name SimpleAggregateFunction(max, String)`

/**
 * Trace-ID lookup (migration 1; replaced by `trace_summaries` in migration 3): one row per
 * trace and insert block, merged by key.
 */
export function traceIndexTable(db: string, days: number): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.trace_index (
${TRACE_SUMMARY_COLUMNS}
) ENGINE = AggregatingMergeTree
PARTITION BY toDate(start)
ORDER BY trace_id
${ttl('start', days)}
${Settings}`
}

export function traceIndexView(db: string): string {
  return `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.trace_index_mv TO ${db}.trace_index AS
${TRACE_SUMMARY_SELECT(db)}`
}

/**
 * Per trace: time range, span and error counts, services, root. One row per trace and
 * insert block, merged by key. Granules of 256 rows: searches look up twenty traces by ID
 * at a time, and 8192-row granules made that read 600 000 rows for 20.
 */
export function traceSummariesTable(db: string, days: number): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.trace_summaries (
${TRACE_SUMMARY_COLUMNS}
) ENGINE = AggregatingMergeTree
PARTITION BY toDate(start)
ORDER BY trace_id
${ttl('start', days)}
${POINT_LOOKUP_SETTINGS}`
}

export function traceSummariesView(db: string): string {
  return `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.trace_summaries_mv TO ${db}.trace_summaries AS
${TRACE_SUMMARY_SELECT(db)}`
}

const TRACE_SUMMARY_SELECT = (db: string): string => `SELECT
  trace_id,
  min(timestamp) AS start,
  max(addNanoseconds(timestamp, duration_ns)) AS end,
  count() AS span_count,
  countIf(status_code = 'Error') AS error_count,
  groupUniqArray(toString(service_name)) AS services,
  max(if(parent_span_id = '', toString(service_name), '')) AS root_service,
  max(if(parent_span_id = '', toString(span_name), '')) AS root_name
FROM ${db}.spans
GROUP BY trace_id`

export function businessEventsTable(db: string, days: number): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.business_events (
  timestamp ${Ts},
  observed_timestamp ${Ts},
  event_name LowCardinality(String) CODEC(ZSTD(1)),
  flow_id String CODEC(ZSTD(1)),
  system LowCardinality(String) CODEC(ZSTD(1)),
  entity LowCardinality(String) CODEC(ZSTD(1)),
  entity_key String CODEC(ZSTD(1)),
  status LowCardinality(String) CODEC(ZSTD(1)),
  amount Nullable(Decimal(38, 9)),
  currency LowCardinality(String) CODEC(ZSTD(1)),
  service_name LowCardinality(String) CODEC(ZSTD(1)),
  trace_id String CODEC(ZSTD(1)),
  span_id String CODEC(ZSTD(1)),
  attributes ${Attrs},
  resource_attributes ${Attrs},
  INDEX idx_flow_id flow_id TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_trace_id trace_id TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_entity_key entity_key TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY (entity, system, event_name, toDateTime(timestamp))
${ttl('timestamp', days)}
${Settings}`
}

export function logsTable(db: string, days: number): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.logs (
  timestamp ${Ts},
  observed_timestamp ${Ts},
  trace_id String CODEC(ZSTD(1)),
  span_id String CODEC(ZSTD(1)),
  flags UInt32 CODEC(ZSTD(1)),
  severity_text LowCardinality(String) CODEC(ZSTD(1)),
  severity_number UInt8,
  service_name LowCardinality(String) CODEC(ZSTD(1)),
  event_name LowCardinality(String) CODEC(ZSTD(1)),
  body String CODEC(ZSTD(1)),
  flow_id String CODEC(ZSTD(1)),
  scope_name LowCardinality(String) CODEC(ZSTD(1)),
  resource_attributes ${Attrs},
  log_attributes ${Attrs},
  log_attribute_types ${Types},
  INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
  INDEX idx_flow_id flow_id TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_body body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
) ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY (service_name, toDateTime(timestamp))
${ttl('timestamp', days)}
${Settings}`
}

/** One table for every point kind; the kind says which value columns are meaningful. */
export function metricPointsTable(db: string, days: number): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.metric_points (
  timestamp ${Ts},
  start_timestamp DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
  service_name LowCardinality(String) CODEC(ZSTD(1)),
  metric_name LowCardinality(String) CODEC(ZSTD(1)),
  description String CODEC(ZSTD(1)),
  unit LowCardinality(String) CODEC(ZSTD(1)),
  kind Enum8('gauge' = 1, 'sum' = 2, 'histogram' = 3, 'exponential_histogram' = 4, 'summary' = 5),
  temporality Enum8('unspecified' = 0, 'delta' = 1, 'cumulative' = 2),
  is_monotonic Bool,
  scope_name LowCardinality(String) CODEC(ZSTD(1)),
  resource_attributes ${Attrs},
  attributes ${Attrs},
  value Float64 CODEC(ZSTD(1)),
  int_value Nullable(Int64),
  count UInt64 CODEC(ZSTD(1)),
  sum Nullable(Float64),
  min Nullable(Float64),
  max Nullable(Float64),
  bucket_counts Array(UInt64) CODEC(ZSTD(1)),
  explicit_bounds Array(Float64) CODEC(ZSTD(1)),
  scale Int32,
  zero_count UInt64,
  positive_offset Int32,
  positive_counts Array(UInt64) CODEC(ZSTD(1)),
  negative_offset Int32,
  negative_counts Array(UInt64) CODEC(ZSTD(1)),
  quantiles Array(Float64) CODEC(ZSTD(1)),
  quantile_values Array(Float64) CODEC(ZSTD(1)),
  flags UInt32
) ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY (service_name, metric_name, toDateTime(timestamp))
${ttl('timestamp', days)}
${Settings}`
}

/** The columns of a span a trace view shows: all but the flags and dropped counts. */
const TRACE_VIEW_COLUMNS = `trace_id, timestamp, span_id, parent_span_id, trace_state,
  service_name, span_name, span_kind, duration_ns, status_code, status_message, flow_id,
  scope_name, scope_version, resource_attributes, resource_attribute_types, span_attributes,
  span_attribute_types, event_times, event_names, event_attributes, link_trace_ids,
  link_span_ids, link_trace_states, link_attributes`

/**
 * The spans again, ordered by trace ID: a trace's spans sit in one granule per part instead
 * of one granule per (service, operation) range, which took a bloom-filter check over every
 * granule of the day (jaeger-clickhouse keeps a trace-ordered copy too). Fed by a view from
 * `spans`, so every path that writes spans fills it. Compact parts (all columns in one file,
 * granule by granule) make a lookup one contiguous read per part instead of twenty-five
 * (p50 7–10 ms against 11–18 ms for wide parts). It costs the engine about as much as
 * the insert into `spans` itself (bench:ingest raw rate ~190k → ~100k rows/s); formatting
 * each span as one JSON string instead cost four times as much.
 */
export function spansByTraceTable(db: string, days: number): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.spans_by_trace (
  trace_id String CODEC(ZSTD(1)),
  timestamp ${Ts},
  span_id String CODEC(ZSTD(1)),
  parent_span_id String CODEC(ZSTD(1)),
  trace_state String CODEC(ZSTD(1)),
${SPAN_BODY_COLUMNS}
) ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY trace_id
${ttl('timestamp', days)}
${POINT_LOOKUP_SETTINGS},
  min_bytes_for_wide_part = 1000000000000, min_rows_for_wide_part = 1000000000000`
}

/**
 * Migration 5: the trace-ordered copy costs the engine less. Under steady ingest its merges
 * (ZSTD over 4–16 KiB blocks, compact parts) took three times the CPU of the `spans` insert
 * itself; LZ4 with the default block sizes and wide parts roughly halves that. Parts written
 * before keep their codec until they are merged.
 */
export function spansByTraceCheaper(db: string): string[] {
  const columns = TRACE_VIEW_COLUMNS.split(',')
    .map((c) => c.trim())
    .filter((c) => c !== 'timestamp')
  return [
    `ALTER TABLE ${db}.spans_by_trace RESET SETTING min_bytes_for_wide_part,
      min_rows_for_wide_part, min_compress_block_size, max_compress_block_size`,
    `ALTER TABLE ${db}.spans_by_trace MODIFY COLUMN timestamp CODEC(Delta, LZ4), ${columns
      .map((c) => `MODIFY COLUMN ${c} CODEC(LZ4)`)
      .join(', ')}`,
  ]
}

export function spansByTraceView(db: string): string {
  return `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.spans_by_trace_mv TO ${db}.spans_by_trace AS
SELECT ${TRACE_VIEW_COLUMNS} FROM ${db}.spans`
}

/** Copies the spans stored before `spans_by_trace` existed (only while it is empty). */
export function spansByTraceBackfill(db: string): string {
  return `INSERT INTO ${db}.spans_by_trace SELECT ${TRACE_VIEW_COLUMNS} FROM ${db}.spans
WHERE (SELECT count() FROM ${db}.spans_by_trace) = 0`
}

/**
 * Each span as OTLP protobuf (span, resource, scope), ordered by trace ID: what a trace view
 * reads. Written by the collector beside `spans` (a view cannot encode protobuf). Replaces
 * the columnar `spans_by_trace`, which cost the engine twice as much per span under steady
 * ingest and made a lookup open 25 column files per part instead of 5. Resource and scope
 * repeat across a request's spans: LowCardinality stores each distinct one once per part.
 */
export function traceSpansTable(db: string, days: number): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.trace_spans (
  trace_id String CODEC(ZSTD(1)),
  timestamp ${Ts},
  resource LowCardinality(String) CODEC(ZSTD(1)),
  scope LowCardinality(String) CODEC(ZSTD(1)),
  span String CODEC(ZSTD(1))
) ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY trace_id
${ttl('timestamp', days)}
SETTINGS index_granularity = 1024, ttl_only_drop_parts = 1`
}

/**
 * Degradation switches as an append-only audit log: every change is a row (who, why,
 * when); a switch's current value is its latest row. No TTL: the audit is kept.
 */
export function switchChangesTable(db: string): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.switch_changes (
  changed_at DateTime64(9, 'UTC'),
  name String,
  on Bool,
  flow_pinned Bool,
  description String,
  changed_by String,
  reason String
) ENGINE = MergeTree
ORDER BY (name, changed_at)`
}

/**
 * Rows the engine refused, isolated from the good rows of their batch (isolate.ts): what
 * they were for, the engine's reason, and their bytes exactly as they were offered (a JSON
 * line, or a whole Native block), for a person to read, fix and insert again.
 */
export function quarantinedRowsTable(db: string, days: number): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.quarantined_rows (
  time DateTime64(9, 'UTC'),
  table_name LowCardinality(String),
  format LowCardinality(String),
  reason String CODEC(ZSTD(1)),
  rows UInt64,
  data String CODEC(ZSTD(1))
) ENGINE = MergeTree
PARTITION BY toDate(time)
ORDER BY (table_name, time)
${ttl('time', days)}
${Settings}`
}
