import type { LightMyRequestResponse } from 'fastify'
import type { Config } from '../config/index.js'
import type { DeepPartial } from '../config/load.js'
import { buildApps, createContext, type Apps } from '../server.js'
import { dropDatabase, testConfig, testStorage } from './harness.js'

export interface TestApps extends Apps {
  config: Config
  /** POSTs `body` as JSON to the ingest app (OTLP/JSON or events). */
  postJson(
    url: string,
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<LightMyRequestResponse>
  /** POSTs an OTLP protobuf body to the ingest app. */
  postProtobuf(url: string, body: Buffer): Promise<LightMyRequestResponse>
  /** Writes everything queued, so reads see it. */
  flush(): Promise<void>
  close(): Promise<void>
}

/** Both apps on a fresh database of the shared engine, for app.inject() tests. */
export async function testApps(over: DeepPartial<Config> = {}): Promise<TestApps> {
  const config = testConfig(over)
  const storage = testStorage(config)
  const context = await createContext(config, { storage })
  const apps = await buildApps(context)
  return {
    ...apps,
    config,
    postJson: (url, body, headers = {}) =>
      apps.ingest.inject({
        method: 'POST',
        url,
        payload: JSON.stringify(body),
        headers: { 'content-type': 'application/json', ...headers },
      }),
    postProtobuf: (url, body) =>
      apps.ingest.inject({
        method: 'POST',
        url,
        payload: body,
        headers: { 'content-type': 'application/x-protobuf' },
      }),
    flush: () => context.pipeline.flush(),
    close: async () => {
      await Promise.all([apps.ingest.close(), apps.api.close()])
      await context.pipeline.shutdown()
      await context.auth.close()
      await dropDatabase(storage)
    },
  }
}
