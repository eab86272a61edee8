// The reconciler's schema steps, frozen like the collector's: each is the DDL as it ran,
// never edited once released; a change is a new step. Findings, runs and sign-offs are the
// books finance closes on, so none of these tables expires with the telemetry retention;
// the alerts' operational records expire on their own TTLs.
import type { ComponentMigrations } from '@reckon/collector/storage'

export const RECONCILER: ComponentMigrations = {
  component: 'reconciler',
  migrations: [
    {
      version: 1,
      name: 'records, imports, runs, breaks, findings, attempts, leases, sign-offs',
      statements: (db) => [
        // Rows of file and PostgreSQL sources, brought in so the comparison runs in the
        // engine. A file's rows are its batch (the file's SHA-256); a PostgreSQL source's
        // rows are read at each run into a batch of their own, kept a week for audit.
        `CREATE TABLE IF NOT EXISTS ${db}.reconcile_records (
  source LowCardinality(String),
  batch String,
  line UInt64,
  key String,
  key_parts Array(String),
  amount Decimal(38, 9),
  amount_text String,
  currency LowCardinality(String),
  status LowCardinality(String),
  time DateTime64(9, 'UTC'),
  imported_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY (source, batch, key, time)
TTL toDateTime(imported_at) + toIntervalDay(7) DELETE WHERE startsWith(batch, 'run:')`,
        `CREATE TABLE IF NOT EXISTS ${db}.reconcile_imports (
  source LowCardinality(String),
  batch String,
  file_name String,
  state LowCardinality(String),
  rows UInt64,
  bad_rows UInt64,
  by String,
  at DateTime64(9, 'UTC') DEFAULT now64(9)
)
ENGINE = ReplacingMergeTree(at)
ORDER BY (source, batch)`,
        `CREATE TABLE IF NOT EXISTS ${db}.reconcile_runs (
  id String,
  rule LowCardinality(String),
  from DateTime64(9, 'UTC'),
  to DateTime64(9, 'UTC'),
  now DateTime64(9, 'UTC'),
  dry_run UInt8,
  trigger LowCardinality(String),
  state LowCardinality(String),
  started_by String,
  started_at DateTime64(9, 'UTC'),
  finished_at Nullable(DateTime64(9, 'UTC')),
  progress String,
  report String,
  error String,
  version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id`,
        // One row per finding a run saw (and per pending key), with both sides' values:
        // the run's itemized report.
        `CREATE TABLE IF NOT EXISTS ${db}.reconcile_breaks (
  run_id String,
  rule LowCardinality(String),
  finding_id String,
  category LowCardinality(String),
  pending UInt8,
  key String,
  key_parts Array(String),
  time DateTime64(9, 'UTC'),
  keys UInt64,
  left_count UInt64,
  left_amount Nullable(Decimal(38, 9)),
  left_currencies Array(String),
  left_statuses Array(String),
  right_count UInt64,
  right_amount Nullable(Decimal(38, 9)),
  right_currencies Array(String),
  right_statuses Array(String),
  flow_ids Array(String),
  trace_ids Array(String)
)
ENGINE = MergeTree
ORDER BY (run_id, category, key)`,
        // Every change of a finding's state, appended: its state is its latest row.
        `CREATE TABLE IF NOT EXISTS ${db}.reconcile_findings (
  finding_id String,
  rule LowCardinality(String),
  category LowCardinality(String),
  key String,
  state LowCardinality(String),
  at DateTime64(9, 'UTC'),
  by String,
  why String,
  run_id String
)
ENGINE = MergeTree
ORDER BY (rule, finding_id, at)`,
        `CREATE TABLE IF NOT EXISTS ${db}.reconcile_attempts (
  finding_id String,
  attempt UInt32,
  step LowCardinality(String),
  outcome LowCardinality(String),
  http_status UInt16,
  error String,
  trace_id String,
  started_at DateTime64(9, 'UTC'),
  finished_at DateTime64(9, 'UTC'),
  next_at Nullable(DateTime64(9, 'UTC')),
  holder String
)
ENGINE = MergeTree
ORDER BY (finding_id, attempt, started_at)`,
        // A claim per holder; the earliest unexpired claim of a name holds it. The engine's
        // clock stamps claims, so a claim made after another was read sorts after it.
        `CREATE TABLE IF NOT EXISTS ${db}.reconcile_leases (
  name String,
  holder String,
  claimed_at DateTime64(9, 'UTC') DEFAULT now64(9),
  until DateTime64(9, 'UTC'),
  version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (name, holder, claimed_at)`,
        `CREATE TABLE IF NOT EXISTS ${db}.reconcile_signoffs (
  run_id String,
  by String,
  comment String,
  at DateTime64(9, 'UTC') DEFAULT now64(9)
)
ENGINE = MergeTree
ORDER BY (run_id, at)`,
      ],
    },
    {
      version: 2,
      name: 'alerts: states, silences, evaluations, notifications (the outbox) and deliveries',
      statements: (db) => [
        // One row per write of an alert (rule and label set); its state is the latest
        // version. Resolved alerts are kept an hour, then a tombstone (deleted = 1) ends them.
        `CREATE TABLE IF NOT EXISTS ${db}.alert_states (
  fingerprint String,
  rule LowCardinality(String),
  labels Map(String, String),
  annotations Map(String, String),
  links String,
  state LowCardinality(String),
  value Float64,
  display String,
  active_at DateTime64(9, 'UTC'),
  fired_at Nullable(DateTime64(9, 'UTC')),
  last_seen_at DateTime64(9, 'UTC'),
  resolved_at Nullable(DateTime64(9, 'UTC')),
  evaluated_at DateTime64(9, 'UTC'),
  deleted UInt8,
  version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY fingerprint`,
        `CREATE TABLE IF NOT EXISTS ${db}.alert_silences (
  fingerprint String,
  until DateTime64(9, 'UTC'),
  by String,
  reason String,
  at DateTime64(9, 'UTC') DEFAULT now64(9)
)
ENGINE = MergeTree
ORDER BY (fingerprint, at)`,
        // Each evaluation of each rule: its health for GET /api/alerts/rules, and what keeps
        // two evaluators from evaluating one tick twice.
        `CREATE TABLE IF NOT EXISTS ${db}.alert_evaluations (
  rule LowCardinality(String),
  at DateTime64(9, 'UTC'),
  holder String,
  ok UInt8,
  error String,
  judged UInt32,
  active UInt32,
  duration_ms UInt32
)
ENGINE = MergeTree
ORDER BY (rule, at)
TTL toDateTime(at) + toIntervalDay(7)`,
        // The outbox: every notification owed to a receiver, until sent, refused or
        // superseded by a newer one for the same alert; its latest version is its state.
        `CREATE TABLE IF NOT EXISTS ${db}.alert_notifications (
  id String,
  receiver LowCardinality(String),
  fingerprint String,
  event LowCardinality(String),
  reason LowCardinality(String),
  alert String,
  state LowCardinality(String),
  attempts UInt32,
  next_at DateTime64(9, 'UTC'),
  created_at DateTime64(9, 'UTC'),
  updated_at DateTime64(9, 'UTC'),
  last_error String,
  version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id
TTL toDateTime(created_at) + toIntervalDay(30)`,
        // Every attempt at a notification, as the receiver answered it.
        `CREATE TABLE IF NOT EXISTS ${db}.alert_deliveries (
  notification_id String,
  receiver LowCardinality(String),
  fingerprint String,
  event LowCardinality(String),
  attempt UInt32,
  at DateTime64(9, 'UTC'),
  outcome LowCardinality(String),
  http_status UInt16,
  error String,
  retry_after_ms UInt32
)
ENGINE = MergeTree
ORDER BY (fingerprint, at)
TTL toDateTime(at) + toIntervalDay(30)`,
      ],
    },
  ],
}
