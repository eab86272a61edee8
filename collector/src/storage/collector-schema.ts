// The collector's schema steps, frozen: each is the DDL as it ran, written out, never
// edited once released and never built from code that live paths share. A change is a new
// step. Nothing was released before 0.1.0, so its development steps 1-9 are one baseline,
// numbered 9 so that stores made during that development (which recorded 1-9) read as
// already at it.
import type { Migration } from './migrate.js'

export const COLLECTOR_MIGRATIONS: readonly Migration[] = [
  {
    version: 9,
    name: 'baseline: spans, trace spans and summaries, business events, logs, metric points, switches, quarantined rows',
    statements: (db, days) => [
      `CREATE TABLE IF NOT EXISTS ${db}.spans (
  timestamp DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
  trace_id String CODEC(ZSTD(1)),
  span_id String CODEC(ZSTD(1)),
  parent_span_id String CODEC(ZSTD(1)),
  trace_state String CODEC(ZSTD(1)),
  flags UInt32 CODEC(ZSTD(1)),
  service_name LowCardinality(String) CODEC(ZSTD(1)),
  span_name LowCardinality(String) CODEC(ZSTD(1)),
  span_kind LowCardinality(String) CODEC(ZSTD(1)),
  duration_ns UInt64 CODEC(ZSTD(1)),
  status_code LowCardinality(String) CODEC(ZSTD(1)),
  status_message String CODEC(ZSTD(1)),
  flow_id String CODEC(ZSTD(1)),
  scope_name LowCardinality(String) CODEC(ZSTD(1)),
  scope_version LowCardinality(String) CODEC(ZSTD(1)),
  resource_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  resource_attribute_types Map(LowCardinality(String), LowCardinality(String)) CODEC(ZSTD(1)),
  span_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  span_attribute_types Map(LowCardinality(String), LowCardinality(String)) CODEC(ZSTD(1)),
  event_times Array(DateTime64(9, 'UTC')) CODEC(ZSTD(1)),
  event_names Array(LowCardinality(String)) CODEC(ZSTD(1)),
  event_attributes Array(String) CODEC(ZSTD(1)),
  link_trace_ids Array(String) CODEC(ZSTD(1)),
  link_span_ids Array(String) CODEC(ZSTD(1)),
  link_trace_states Array(String) CODEC(ZSTD(1)),
  link_attributes Array(String) CODEC(ZSTD(1)),
  dropped_attributes UInt32 CODEC(ZSTD(1)),
  dropped_events UInt32 CODEC(ZSTD(1)),
  dropped_links UInt32 CODEC(ZSTD(1)),
  INDEX idx_flow_id flow_id TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_duration duration_ns TYPE minmax GRANULARITY 1,
  INDEX idx_attr_value mapValues(span_attributes) TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY (service_name, span_name, toDateTime(timestamp))
TTL toDateTime(timestamp) + toIntervalDay(${days})
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, min_bytes_for_wide_part = 268435456`,
      `CREATE TABLE IF NOT EXISTS ${db}.trace_spans (
  trace_id String CODEC(ZSTD(1)),
  timestamp DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
  resource LowCardinality(String) CODEC(ZSTD(1)),
  scope LowCardinality(String) CODEC(ZSTD(1)),
  span String CODEC(ZSTD(1)),
  resource_schema_url LowCardinality(String) CODEC(ZSTD(1)),
  scope_schema_url LowCardinality(String) CODEC(ZSTD(1))
)
ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY trace_id
TTL toDateTime(timestamp) + toIntervalDay(${days})
SETTINGS index_granularity = 1024, ttl_only_drop_parts = 1, min_bytes_for_wide_part = 268435456`,
      `CREATE TABLE IF NOT EXISTS ${db}.trace_summaries (
  trace_id String CODEC(ZSTD(1)),
  start SimpleAggregateFunction(min, DateTime64(9, 'UTC')),
  end SimpleAggregateFunction(max, DateTime64(9, 'UTC')),
  span_count SimpleAggregateFunction(sum, UInt64),
  error_count SimpleAggregateFunction(sum, UInt64),
  services SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
  root_service SimpleAggregateFunction(max, String),
  root_name SimpleAggregateFunction(max, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toDate(start)
ORDER BY trace_id
TTL toDateTime(start) + toIntervalDay(${days})
SETTINGS index_granularity = 256, ttl_only_drop_parts = 1, min_compress_block_size = 4096, max_compress_block_size = 16384, min_bytes_for_wide_part = 268435456`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.trace_summaries_mv TO ${db}.trace_summaries (
  trace_id String,
  start DateTime64(9, 'UTC'),
  end DateTime64(9, 'UTC'),
  span_count UInt64,
  error_count UInt64,
  services Array(String),
  root_service String,
  root_name String
)
AS SELECT trace_id, min(timestamp) AS start, max(addNanoseconds(timestamp, duration_ns)) AS end, count() AS span_count, countIf(status_code = 'Error') AS error_count, groupUniqArray(toString(service_name)) AS services, max(if(parent_span_id = '', toString(service_name), '')) AS root_service, max(if(parent_span_id = '', toString(span_name), '')) AS root_name
FROM ${db}.spans
GROUP BY trace_id`,
      `CREATE TABLE IF NOT EXISTS ${db}.business_events (
  timestamp DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
  observed_timestamp DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
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
  attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  resource_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  event_id String DEFAULT lower(hex(sipHash128(system, event_name, entity, entity_key, status, ifNull(toString(amount), ''), currency, timestamp, flow_id, trace_id, span_id, mapKeys(attributes), mapValues(attributes)))) CODEC(ZSTD(1)),
  amount_text String CODEC(ZSTD(1)),
  attribute_types Map(LowCardinality(String), LowCardinality(String)) CODEC(ZSTD(1)),
  resource_attribute_types Map(LowCardinality(String), LowCardinality(String)) CODEC(ZSTD(1)),
  INDEX idx_flow_id flow_id TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_trace_id trace_id TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_entity_key entity_key TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY (entity, system, event_name, toDateTime(timestamp))
TTL toDateTime(timestamp) + toIntervalDay(${days})
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, min_bytes_for_wide_part = 268435456`,
      `CREATE TABLE IF NOT EXISTS ${db}.logs (
  timestamp DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
  observed_timestamp DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
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
  resource_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  log_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  log_attribute_types Map(LowCardinality(String), LowCardinality(String)) CODEC(ZSTD(1)),
  body_type LowCardinality(String) CODEC(ZSTD(1)),
  dropped_attributes UInt32 CODEC(ZSTD(1)),
  resource_attribute_types Map(LowCardinality(String), LowCardinality(String)) CODEC(ZSTD(1)),
  resource_dropped_attributes UInt32 CODEC(ZSTD(1)),
  resource_schema_url LowCardinality(String) CODEC(ZSTD(1)),
  scope_version LowCardinality(String) CODEC(ZSTD(1)),
  scope_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  scope_attribute_types Map(LowCardinality(String), LowCardinality(String)) CODEC(ZSTD(1)),
  scope_dropped_attributes UInt32 CODEC(ZSTD(1)),
  scope_schema_url LowCardinality(String) CODEC(ZSTD(1)),
  INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
  INDEX idx_flow_id flow_id TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_body body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
)
ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY (service_name, toDateTime(timestamp))
TTL toDateTime(timestamp) + toIntervalDay(${days})
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, min_bytes_for_wide_part = 268435456`,
      `CREATE TABLE IF NOT EXISTS ${db}.metric_points (
  timestamp DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
  start_timestamp DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
  service_name LowCardinality(String) CODEC(ZSTD(1)),
  metric_name LowCardinality(String) CODEC(ZSTD(1)),
  description String CODEC(ZSTD(1)),
  unit LowCardinality(String) CODEC(ZSTD(1)),
  kind Enum8('gauge' = 1, 'sum' = 2, 'histogram' = 3, 'exponential_histogram' = 4, 'summary' = 5),
  temporality Enum8('unspecified' = 0, 'delta' = 1, 'cumulative' = 2),
  is_monotonic Bool,
  scope_name LowCardinality(String) CODEC(ZSTD(1)),
  resource_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
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
  flags UInt32,
  attribute_types Map(LowCardinality(String), LowCardinality(String)) CODEC(ZSTD(1)),
  resource_attribute_types Map(LowCardinality(String), LowCardinality(String)) CODEC(ZSTD(1)),
  resource_dropped_attributes UInt32 CODEC(ZSTD(1)),
  resource_schema_url LowCardinality(String) CODEC(ZSTD(1)),
  scope_version LowCardinality(String) CODEC(ZSTD(1)),
  scope_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
  scope_attribute_types Map(LowCardinality(String), LowCardinality(String)) CODEC(ZSTD(1)),
  scope_dropped_attributes UInt32 CODEC(ZSTD(1)),
  scope_schema_url LowCardinality(String) CODEC(ZSTD(1))
)
ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY (service_name, metric_name, toDateTime(timestamp))
TTL toDateTime(timestamp) + toIntervalDay(${days})
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, min_bytes_for_wide_part = 268435456`,
      `CREATE TABLE IF NOT EXISTS ${db}.switch_changes (
  changed_at DateTime64(9, 'UTC'),
  name String,
  on Bool,
  flow_pinned Bool,
  description String,
  changed_by String,
  reason String
)
ENGINE = MergeTree
ORDER BY (name, changed_at)
SETTINGS index_granularity = 8192`,
      `CREATE TABLE IF NOT EXISTS ${db}.quarantined_rows (
  time DateTime64(9, 'UTC'),
  table_name LowCardinality(String),
  format LowCardinality(String),
  reason String CODEC(ZSTD(1)),
  rows UInt64,
  data String CODEC(ZSTD(1))
)
ENGINE = MergeTree
PARTITION BY toDate(time)
ORDER BY (table_name, time)
TTL toDateTime(time) + toIntervalDay(${days})
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1`,
    ],
  },
  {
    version: 10,
    name: 'auth: API keys, their revocations and last uses, the audit log, the session secret',
    statements: (db) => [
      `CREATE TABLE IF NOT EXISTS ${db}.api_keys (
  id String,
  name String,
  role LowCardinality(String),
  secret_hash String,
  created_at DateTime64(9, 'UTC'),
  created_by String,
  expires_at Nullable(DateTime64(9, 'UTC'))
)
ENGINE = ReplacingMergeTree
ORDER BY id`,
      `CREATE TABLE IF NOT EXISTS ${db}.api_key_revocations (
  id String,
  revoked_at DateTime64(9, 'UTC'),
  revoked_by String
)
ENGINE = ReplacingMergeTree
ORDER BY id`,
      `CREATE TABLE IF NOT EXISTS ${db}.api_key_uses (
  id String,
  used_at DateTime64(9, 'UTC')
)
ENGINE = ReplacingMergeTree(used_at)
ORDER BY id`,
      `CREATE TABLE IF NOT EXISTS ${db}.audit_log (
  at DateTime64(9, 'UTC'),
  identity String,
  role LowCardinality(String),
  via LowCardinality(String),
  action LowCardinality(String),
  target String,
  details String CODEC(ZSTD(1)),
  address String,
  request_id String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY at`,
      `CREATE TABLE IF NOT EXISTS ${db}.auth_secrets (
  name String,
  value String,
  created_at DateTime64(9, 'UTC')
)
ENGINE = MergeTree
ORDER BY name`,
    ],
  },
  {
    version: 11,
    name: 'spans: a bloom filter on trace_id, so a trace outline reads only its granules',
    statements: (db) => [
      // Parts written before it are read whole until merges rebuild them; new ones use it.
      `ALTER TABLE ${db}.spans ADD INDEX IF NOT EXISTS idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1`,
    ],
  },
]
