import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { createClient, type ClickHouseClient } from '@clickhouse/client'
import { createChdbConnection } from 'chdb/connection'
import type { Config } from '../config/index.js'
import { fileInserter, spoolDir, streamingInserter, type RowInserter } from './insert.js'
import { leftoverSpool } from './recover.js'
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
  /** Writes encoded rows into `database.table` by the fastest path for the target. */
  readonly insertRows: RowInserter
  /**
   * The spool files an earlier process acknowledged and left when it died, listed as this
   * one opened the engine (WritePipeline.recover stores them). Given once per process; a
   * server has none, as inserts are not spooled.
   */
  takeLeftovers(): string[]
  close(): Promise<void>
}

/** The embedded engine's data directory could not be opened (in use, unreadable). */
export class StorageOpenError extends Error {
  override name = 'StorageOpenError'
}

/**
 * One client for the process. With `clickhouse.url` unset, ClickHouse runs embedded
 * (chDB binds one data directory per process, so every component shares this client).
 */
export function openStorage(config: Config): Storage {
  const { url, user, password, database } = config.clickhouse
  let client: ClickHouseClient
  let target: StorageTarget
  let insertRows: RowInserter
  let takeLeftovers: Storage['takeLeftovers'] = () => []
  if (url) {
    client = createClient({
      url,
      username: user ?? 'default',
      password: password ?? '',
      request_timeout: config.query.timeoutSeconds * 1000 + 5000,
      compression: { request: false, response: true },
    })
    target = { kind: 'server', url, user }
    insertRows = streamingInserter(client)
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
    const dir = spoolDir(dataDir)
    // Listed now, before this process spools anything of its own; only once the engine has
    // locked the directory, so a second process never takes a running one's files.
    let leftovers = leftoverSpool(dir)
    insertRows = fileInserter(client, dir)
    takeLeftovers = () => {
      const names = leftovers
      leftovers = []
      return names
    }
  }
  return {
    client,
    database,
    target,
    retentionDays: config.retentionDays,
    insertRows,
    takeLeftovers,
    close: () => client.close(),
  }
}

/** Human-readable description for logs and the CLI banner. */
export function describeTarget(target: StorageTarget): string {
  return target.kind === 'embedded'
    ? `embedded ClickHouse (chDB) at ${target.dataDir}`
    : `ClickHouse server ${target.url}`
}
