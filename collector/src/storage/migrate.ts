import { MIGRATIONS, RETAINED_TABLES, type Migration } from './migrations.js'
import { ttl } from './tables.js'
import type { Storage } from './client.js'

export interface MigrationReport {
  applied: { version: number; name: string }[]
  current: number
  retentionChanged: string[]
  /** Tables no longer written, dropped once they hold nothing. */
  retired: string[]
}

/** Tables later steps stopped writing; each goes once its rows have expired. */
const RETIRED_WHEN_EMPTY = ['spans_by_trace'] as const

async function appliedVersions(storage: Storage): Promise<Set<number>> {
  const rs = await storage.client.query({
    query: `SELECT DISTINCT version FROM ${storage.database}.schema_migrations`,
    format: 'JSONEachRow',
  })
  const rows = await rs.json<{ version: number }>()
  return new Set(rows.map((r) => Number(r.version)))
}

/** Applies every pending migration in order, then brings TTLs in line with the retention. */
export async function migrate(
  storage: Storage,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrationReport> {
  const { client, database: db, retentionDays } = storage
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` })
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (
      version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree ORDER BY version`,
  })
  const done = await appliedVersions(storage)
  const applied: MigrationReport['applied'] = []
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue
    for (const statement of m.statements(db, retentionDays)) {
      await client.command({ query: statement })
    }
    await client.insert({
      table: `${db}.schema_migrations`,
      values: [{ version: m.version, name: m.name }],
      format: 'JSONEachRow',
    })
    applied.push({ version: m.version, name: m.name })
  }
  const retired = await dropEmptyRetiredTables(storage)
  const retentionChanged = await applyRetention(storage)
  return { applied, current: latestVersion(migrations), retentionChanged, retired }
}

/**
 * Migration 6 stopped writing `spans_by_trace`; its traces are still read until retention
 * empties it, and then it goes. A new store, where it never held a row, drops it at once.
 * No step can do this: the SQL has no conditional DROP.
 */
async function dropEmptyRetiredTables(storage: Storage): Promise<string[]> {
  const { client, database: db } = storage
  const dropped: string[] = []
  for (const table of RETIRED_WHEN_EMPTY) {
    const [row] = await client
      .query({
        query: `SELECT total_rows AS n FROM system.tables
                WHERE database = {db:String} AND name = {table:String}`,
        query_params: { db, table },
        format: 'JSONEachRow',
      })
      .then((r) => r.json<{ n: string | number | null }>())
    if (row === undefined || Number(row.n) !== 0) continue
    await client.command({ query: `DROP TABLE IF EXISTS ${db}.${table}` })
    dropped.push(table)
  }
  return dropped
}

export function latestVersion(migrations: readonly Migration[] = MIGRATIONS): number {
  return migrations.reduce((max, m) => Math.max(max, m.version), 0)
}

/** True when every known migration has been applied (what /readyz checks). */
export async function isMigrated(storage: Storage): Promise<boolean> {
  try {
    const done = await appliedVersions(storage)
    return MIGRATIONS.every((m) => done.has(m.version))
  } catch {
    return false
  }
}

async function applyRetention(storage: Storage): Promise<string[]> {
  const { client, database: db, retentionDays } = storage
  const rs = await client.query({
    query: `SELECT name, engine_full FROM system.tables WHERE database = {db:String}`,
    query_params: { db },
    format: 'JSONEachRow',
  })
  const engines = new Map(
    (await rs.json<{ name: string; engine_full: string }>()).map((r) => [r.name, r.engine_full]),
  )
  const changed: string[] = []
  for (const { table, column } of RETAINED_TABLES) {
    const engine = engines.get(table)
    if (engine === undefined || engine.includes(`toIntervalDay(${retentionDays})`)) continue
    await client.command({
      query: `ALTER TABLE ${db}.${table} MODIFY ${ttl(column, retentionDays)}`,
    })
    changed.push(table)
  }
  return changed
}
