import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { DEFAULTS, type Config } from '../config/index.js'
import type { DeepPartial } from '../config/load.js'
import { openStorage, type Storage } from '../storage/client.js'

// chDB binds one data directory per process, so every test in a process shares one engine
// and isolates itself with a database of its own.
let dataDir: string | undefined
let shared: Storage | undefined

/** A config for tests: a fresh database, free ports, fast flushes. */
export function testConfig(over: DeepPartial<Config> = {}): Config {
  dataDir ??= mkdtempSync(join(tmpdir(), 'reckon-test-'))
  const base: Config = {
    ...DEFAULTS,
    otlpPort: 0,
    apiPort: 0,
    dataDir,
    clickhouse: {
      ...DEFAULTS.clickhouse,
      url: process.env.CLICKHOUSE_URL,
      database: `t_${randomBytes(6).toString('hex')}`,
    },
    ingest: { ...DEFAULTS.ingest, flushIntervalMs: 50 },
  }
  return {
    ...base,
    ...over,
    clickhouse: { ...base.clickhouse, ...over.clickhouse },
    ingest: { ...base.ingest, ...over.ingest },
    query: { ...base.query, ...over.query },
    auth: { ...base.auth, ...over.auth },
    rateLimit: { ...base.rateLimit, ...over.rateLimit },
    tls: { ...base.tls, ...over.tls },
  }
}

/** The process-wide engine, pointed at the config's own database. */
export function testStorage(config: Config): Storage {
  shared ??= openStorage(config)
  return {
    ...shared,
    database: config.clickhouse.database,
    retentionDays: config.retentionDays,
    close: async () => {},
  }
}

export async function dropDatabase(storage: Storage): Promise<void> {
  await storage.client.command({ query: `DROP DATABASE IF EXISTS ${storage.database}` })
}

/** Random lowercase hex of `bytes` bytes (trace IDs: 16, span IDs: 8). */
export const hex = (bytes: number): string => randomBytes(bytes).toString('hex')

/** Now, in Unix nanoseconds, minus an offset in milliseconds. */
export const nanosAgo = (ms = 0): bigint => (BigInt(Date.now()) - BigInt(ms)) * 1_000_000n
