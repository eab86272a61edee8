import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { createClient, type ClickHouseClient } from '@clickhouse/client'
import { createChdbConnection } from 'chdb/connection'
import type { Config } from '../config/index.js'
import { DIR_MODE } from './spool.js'

type ChdbAsConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>

/** Where the data lives: the in-process engine (chDB) or a ClickHouse server. */
export type StorageTarget =
  { kind: 'embedded'; dataDir: string } | { kind: 'server'; url: string; user?: string | undefined }

export interface Storage {
  readonly client: ClickHouseClient
  /** Database holding Reckon's tables; a validated identifier, safe to interpolate. */
  readonly database: string
  readonly target: StorageTarget
  readonly retentionDays: number
  close(): Promise<void>
}

/** What opening storage needs of reckon.yaml: where the data is and how long it is kept. */
export type StorageSection = Pick<Config, 'dataDir' | 'retentionDays' | 'clickhouse'>

export interface StorageOptions {
  /** How long a request to a server may take (the query timeout plus a margin). */
  requestTimeoutMs?: number
}

/** The embedded engine's data directory could not be opened (in use, unreadable). */
export class StorageOpenError extends Error {
  override name = 'StorageOpenError'
}

/**
 * One client for the process. With `clickhouse.url` unset, ClickHouse runs embedded
 * (chDB binds one data directory per process, so every component shares this client).
 */
export function openStorage(config: StorageSection, options: StorageOptions = {}): Storage {
  const { url, user, password, database } = config.clickhouse
  let client: ClickHouseClient
  let target: StorageTarget
  if (url) {
    client = createClient({
      url,
      username: user ?? 'default',
      password: password ?? '',
      request_timeout: options.requestTimeoutMs ?? 35_000,
      compression: { request: false, response: true },
    })
    target = { kind: 'server', url, user }
  } else {
    const dataDir = resolve(config.dataDir)
    mkdirSync(dataDir, { recursive: true, mode: DIR_MODE })
    // chdb is typed against its own copy of client-common; the contract is the same.
    let connection: ChdbAsConnection
    try {
      connection = createChdbConnection({ path: dataDir }) as unknown as ChdbAsConnection
    } catch (err) {
      throw new StorageOpenError(
        `cannot open the embedded ClickHouse data directory ${dataDir}: ${err instanceof Error ? err.message : String(err)}. Only one process can use a data directory: is another reckon running there? (Set RECKON_DATA_DIR to use another.)`,
        { cause: err },
      )
    }
    client = createClient({ connection })
    target = { kind: 'embedded', dataDir }
  }
  return {
    client,
    database,
    target,
    retentionDays: config.retentionDays,
    close: () => client.close(),
  }
}

/** Human-readable description for logs and the CLI banner. */
export function describeTarget(target: StorageTarget): string {
  return target.kind === 'embedded'
    ? `embedded ClickHouse (chDB) at ${target.dataDir}`
    : `ClickHouse server ${target.url}`
}
