import { createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client'
import { createChdbConnection } from 'chdb/connection'
import type { Config } from '../config/index.js'
import type { Storage } from '../storage/client.js'

type ChdbAsConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>

/**
 * Another way into the same engine, whose queries wait for no one else's. The embedded
 * engine runs one query at a time per session: a search of several seconds would make every
 * later query of the process wait, `/readyz`'s `SELECT 1` and the writer's inserts too.
 * Sessions on the same data directory share its tables and run side by side (about 1 MB
 * each). A server runs concurrent queries anyway; there the client of its own keeps its
 * sockets from being taken by someone else's.
 *
 * `settings` apply to every query of the session (cost caps).
 */
export function openSession(
  storage: Storage,
  config: Config,
  settings: ClickHouseSettings = {},
): Storage {
  const { target } = storage
  const client: ClickHouseClient =
    target.kind === 'embedded'
      ? createClient({
          // chdb is typed against its own copy of client-common; the contract is the same.
          connection: createChdbConnection({ path: target.dataDir }) as unknown as ChdbAsConnection,
          clickhouse_settings: settings,
        })
      : createClient({
          url: target.url,
          username: config.clickhouse.user ?? 'default',
          password: config.clickhouse.password ?? '',
          request_timeout: config.query.timeoutSeconds * 1000 + 5000,
          compression: { request: false, response: true },
          clickhouse_settings: settings,
        })
  return { ...storage, client, close: () => client.close() }
}
