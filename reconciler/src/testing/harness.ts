// chDB binds one data directory per process: every test of a process shares one engine and
// isolates itself in a database of its own, migrated for the collector and the reconciler.
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULTS } from '@reckon/collector/config'
import { COLLECTOR, migrate, openStorage, type Storage } from '@reckon/collector/storage'
import { nanosText } from '../nanos.js'
import { RECONCILER } from '../schema.js'

let shared: Storage | undefined

/** A fresh, migrated database on the process's engine (or CLICKHOUSE_URL's server). */
export async function testStorage(): Promise<Storage> {
  const database = `t_${randomBytes(6).toString('hex')}`
  shared ??= openStorage({
    dataDir: mkdtempSync(join(tmpdir(), 'reckon-reconciler-')),
    retentionDays: DEFAULTS.retentionDays,
    clickhouse: { ...DEFAULTS.clickhouse, url: process.env.CLICKHOUSE_URL, database },
  })
  const storage: Storage = { ...shared, database, close: async () => {} }
  await migrate(storage, [COLLECTOR, RECONCILER])
  return storage
}

export async function dropStorage(storage: Storage): Promise<void> {
  await storage.client.command({ query: `DROP DATABASE IF EXISTS ${storage.database}` })
}

export const MINUTE_NS = 60_000_000_000n
export const HOUR_NS = 60n * MINUTE_NS

/** Now in Unix nanoseconds, minus `ago` nanoseconds. */
export const nanosAgo = (ago = 0n): bigint => BigInt(Date.now()) * 1_000_000n - ago

export interface TestEvent {
  system: string
  type: string
  key: string
  amount?: string | null
  currency?: string
  status?: string
  /** Unix nanoseconds. */
  at: bigint
  flowId?: string
  traceId?: string
  entity?: string
}

/** Business events written as the collector stores them (their IDs derived alike). */
export async function insertEvents(storage: Storage, events: TestEvent[]): Promise<void> {
  await storage.client.insert({
    table: `${storage.database}.business_events`,
    format: 'JSONEachRow',
    values: events.map((e) => ({
      timestamp: nanosText(e.at),
      observed_timestamp: nanosText(e.at),
      event_name: e.type,
      flow_id: e.flowId ?? '',
      system: e.system,
      entity: e.entity ?? 'order',
      entity_key: e.key,
      status: e.status ?? '',
      amount: e.amount === undefined ? '10.00' : e.amount,
      amount_text: e.amount ?? '',
      currency: e.currency ?? 'EUR',
      service_name: e.system,
      trace_id: e.traceId ?? '',
    })),
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  })
}
