// The query API as a process serves it, for app.inject() tests: the collector's apps with the
// reconciler's routes inside, on a test's storage.
import { DEFAULTS, type Config } from '@reckon/collector/config'
import { buildApps, createContext, type Apps } from '@reckon/collector/server'
import type { FastifyPluginAsync } from 'fastify'
import { COLLECTOR, type Storage } from '@reckon/collector/storage'
import type { ImportRouteOptions } from '../api/import-routes.js'
import { reconcileRoutes } from '../api/routes.js'
import type { Reconciler } from '../reconciler.js'
import { RECONCILER } from '../schema.js'

export interface TestApi extends Apps {
  close(): Promise<void>
}

export async function testApi(
  storage: Storage,
  reconciler: Reconciler,
  routes: ImportRouteOptions = {},
  over: Partial<Config> = {},
  /** More of the API's plugins (the alerts' routes). */
  plugins: FastifyPluginAsync[] = [],
): Promise<TestApi> {
  const context = await createContext(
    { ...DEFAULTS, clickhouse: { ...DEFAULTS.clickhouse, database: storage.database }, ...over },
    { storage, leftovers: [], migrations: [COLLECTOR, RECONCILER] },
  )
  const apps = await buildApps(context, false, [reconcileRoutes(reconciler, routes), ...plugins])
  return {
    ...apps,
    close: async () => {
      await Promise.all([apps.api.close(), apps.ingest.close()])
      await context.pipeline.shutdown()
      await context.auth.close()
    },
  }
}
