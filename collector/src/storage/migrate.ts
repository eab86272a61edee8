import type { Storage } from './client.js'
import { COLLECTOR_MIGRATIONS } from './collector-schema.js'
import { RETAINED_TABLES } from './table-registry.js'

/**
 * A schema step of one component. Statements must be idempotent (IF NOT EXISTS …) so a step
 * that stopped half-way is simply run again. Steps are never edited once released.
 */
export interface Migration {
  version: number
  name: string
  statements: (db: string, retentionDays: number) => string[]
}

/** One component's steps, recorded under its name in `schema_migrations`. */
export interface ComponentMigrations {
  component: string
  migrations: readonly Migration[]
}

/** The components this package knows; the CLI adds the others' (reconciler…). */
export const COLLECTOR: ComponentMigrations = {
  component: 'collector',
  migrations: COLLECTOR_MIGRATIONS,
}

export interface MigrationReport {
  applied: { component: string; version: number; name: string }[]
  /** Each component's schema version after the run. */
  current: Record<string, number>
  retentionChanged: string[]
}

/** Thrown for a store this version cannot bring up to date. */
export class MigrationError extends Error {
  override name = 'MigrationError'
}

/** The table of applied steps; before 0.1.0 it had no `component` (all were the collector's). */
async function migrationsTable(storage: Storage): Promise<void> {
  const { client, database: db } = storage
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (
      component LowCardinality(String), version UInt32, name String,
      applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree ORDER BY (component, version)`,
  })
  await client.command({
    query: `ALTER TABLE ${db}.schema_migrations
      ADD COLUMN IF NOT EXISTS component LowCardinality(String) DEFAULT 'collector'`,
  })
}

async function appliedVersions(storage: Storage): Promise<Map<string, Set<number>>> {
  const rs = await storage.client.query({
    query: `SELECT DISTINCT component, version FROM ${storage.database}.schema_migrations`,
    format: 'JSONEachRow',
  })
  const applied = new Map<string, Set<number>>()
  for (const r of await rs.json<{ component: string; version: number }>()) {
    const set = applied.get(r.component) ?? new Set<number>()
    set.add(Number(r.version))
    applied.set(r.component, set)
  }
  return applied
}

/**
 * Applies every pending step of each component in order, then brings TTLs in line with the
 * retention. A store part-way through a component's squashed steps (made by a development
 * build before its baseline) is refused rather than half-upgraded.
 */
export async function migrate(
  storage: Storage,
  components: readonly ComponentMigrations[] = [COLLECTOR],
): Promise<MigrationReport> {
  const { client, database: db, retentionDays } = storage
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` })
  await migrationsTable(storage)
  const done = await appliedVersions(storage)
  const report: MigrationReport = { applied: [], current: {}, retentionChanged: [] }
  for (const { component, migrations } of components) {
    const steps = [...migrations].sort((a, b) => a.version - b.version)
    const had = done.get(component) ?? new Set<number>()
    const first = steps[0]
    if (first && had.size > 0 && !had.has(first.version) && Math.max(...had) < first.version) {
      throw new MigrationError(
        `${db} holds ${component} schema version ${Math.max(...had)}, from a development build before its baseline (${first.version}); remove the data directory or database and start again`,
      )
    }
    for (const m of steps) {
      if (had.has(m.version)) continue
      for (const statement of m.statements(db, retentionDays)) {
        await client.command({ query: statement })
      }
      await client.insert({
        table: `${db}.schema_migrations`,
        values: [{ component, version: m.version, name: m.name }],
        format: 'JSONEachRow',
      })
      report.applied.push({ component, version: m.version, name: m.name })
    }
    report.current[component] = latestVersion(migrations)
  }
  report.retentionChanged = await applyRetention(storage)
  return report
}

export function latestVersion(migrations: readonly Migration[]): number {
  return migrations.reduce((max, m) => Math.max(max, m.version), 0)
}

/** True when every step of every component has been applied (what /readyz checks). */
export async function isMigrated(
  storage: Storage,
  components: readonly ComponentMigrations[] = [COLLECTOR],
): Promise<boolean> {
  try {
    const done = await appliedVersions(storage)
    return components.every(({ component, migrations }) =>
      migrations.every((m) => done.get(component)?.has(m.version)),
    )
  } catch {
    return false
  }
}

/** TTL clause of every retained table; `ttl_only_drop_parts` drops whole days at once. */
export const ttl = (column: string, days: number): string =>
  `TTL toDateTime(${column}) + toIntervalDay(${days})`

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
