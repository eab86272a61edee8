import fp from 'fastify-plugin'
import type { Authenticator } from './auth/authenticator.js'
import type { Config } from './config/index.js'
import type { Logger } from './log.js'
import type { Storage } from './storage/client.js'
import type { WritePipeline } from './storage/pipeline.js'
import type { SelfMetrics } from './telemetry/self-metrics.js'

/** What every Reckon server shares in one process: storage, the write pipeline, metrics, the log. */
export interface ReckonContext {
  config: Config
  log: Logger
  storage: Storage
  pipeline: WritePipeline
  metrics: SelfMetrics
  /** API keys, users and sessions: who each request is. */
  auth: Authenticator
}

declare module 'fastify' {
  interface FastifyInstance {
    reckon: ReckonContext
  }
}

/** Decorates the app with the shared context (fastify-plugin: visible to sibling plugins). */
export const contextPlugin = fp<{ context: ReckonContext }>(
  async (app, opts) => {
    app.decorate('reckon', opts.context)
  },
  { name: 'reckon-context' },
)
