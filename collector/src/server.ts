import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
} from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import cookie from '@fastify/cookie'
import { readFileSync } from 'node:fs'
import { apiApp } from './api/app.js'
import { Authenticator } from './auth/authenticator.js'
import { checkExposure } from './auth/exposure.js'
import { authGuard } from './auth/guard.js'
import { rateLimits } from './auth/rate-limits.js'
import { ConfigError, type Config } from './config/index.js'
import { contextPlugin, type ReckonContext } from './context.js'
import { hostCheck } from './host-check.js'
import { ingestApp } from './ingest/app.js'
import { createLogger, warningsOf, type Logger } from './log.js'
import { describeTarget, openStorage, type Storage } from './storage/client.js'
import { COLLECTOR, migrate, type ComponentMigrations } from './storage/migrate.js'
import { describeRecovery, takeLeftovers } from './storage/recover.js'
import { WritePipeline } from './storage/pipeline.js'
import { SelfMetrics } from './telemetry/self-metrics.js'

export { createLogger, type Logger, type LogOptions } from './log.js'

export interface ServerOptions {
  /** The process's logger (the CLI's); default: readable lines on stderr from `info` up. */
  logger?: Logger
  /** Use this storage instead of opening one from the config (tests share one engine). */
  storage?: Storage
  /** Spool files to recover instead of those an earlier process left (tests). */
  leftovers?: string[]
  /** Every component's migrations this process applies (default: the collector's). */
  migrations?: readonly ComponentMigrations[]
  /** Routes of other components, served by the query API beside its own. */
  apiPlugins?: readonly FastifyPluginAsync[]
  /** The built UI (`@reckon/ui`'s uiDir), served on the API port at /. */
  uiDir?: string
}

export interface Apps {
  context: ReckonContext
  ingest: FastifyInstance
  api: FastifyInstance
}

/**
 * Builds both HTTP apps on one shared context, without listening (tests use inject()).
 * `logRequests`: the apps log their warnings and errors to the context's logger (requests
 * themselves are not logged); false, they log nothing (tests).
 */
export async function buildApps(
  context: ReckonContext,
  logRequests = false,
  apiPlugins: ServerOptions['apiPlugins'] = [],
  uiDir?: string,
): Promise<Apps> {
  const { host: bind, allowedHosts } = context.config
  // A pino Logger is a FastifyBaseLogger; typed as one, the apps keep Fastify's own types.
  const appLog = (component: string): { loggerInstance: FastifyBaseLogger } | { logger: false } =>
    logRequests ? { loggerInstance: warningsOf(context.log, { component }) } : { logger: false }
  const { rateLimit } = context.config
  const https = httpsOptions(context.config)
  const ingest = Fastify({
    ...appLog('ingest'),
    ...https,
    bodyLimit: context.config.ingest.maxBodyBytes,
  })
  await ingest.register(contextPlugin, { context })
  await ingest.register(hostCheck, { bind, allowedHosts })
  await ingest.register(authGuard, { surface: 'ingest' })
  await rateLimits(ingest, {
    max: rateLimit.ingestPerSecond,
    per: 'second',
    what: 'ingest requests',
  })
  await ingest.register(ingestApp)

  const api = Fastify({
    ...appLog('api'),
    ...https,
    // Unknown query parameters are reported, not silently dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, useDefaults: true } },
  }).withTypeProvider<TypeBoxTypeProvider>()
  await api.register(contextPlugin, { context })
  await api.register(hostCheck, { bind, allowedHosts, document: true })
  await api.register(cookie)
  await api.register(authGuard, { surface: 'api', document: true })
  await rateLimits(api, { max: rateLimit.apiPerMinute, per: 'minute', what: 'API requests' })
  await api.register(apiApp, { plugins: apiPlugins, uiDir })
  await Promise.all([ingest.ready(), api.ready()])
  return { context, ingest, api }
}

/** Opens storage, applies migrations and creates the write pipeline. */
export async function createContext(
  config: Config,
  opts: ServerOptions = {},
): Promise<ReckonContext> {
  const storage =
    opts.storage ??
    openStorage(config, { requestTimeoutMs: config.query.timeoutSeconds * 1000 + 5000 })
  // Taken before anything of this process is spooled beside them.
  const leftovers = opts.leftovers ?? takeLeftovers(storage.target)
  await migrate(storage, opts.migrations ?? [COLLECTOR])
  const log = opts.logger ?? createLogger()
  const storageLog = log.child({ component: 'storage' })
  const metrics = new SelfMetrics()
  const pipeline = new WritePipeline(storage, config, metrics, storageLog)
  // What an earlier run acknowledged and did not write: stored while this one listens.
  if (storage.target.kind === 'embedded') {
    metrics.recovered.inc({ outcome: 'stored' }, 0)
    metrics.recovered.inc({ outcome: 'rejected' }, 0)
    pipeline.recover(leftovers, storageLog).then(
      (recovery) => {
        for (const line of describeRecovery(recovery)) storageLog.info(line)
      },
      (err: unknown) => storageLog.error({ err }, 'storing the spool the previous run left failed'),
    )
  }
  const auth = await Authenticator.open(storage, config)
  return { config, log, storage, pipeline, metrics, auth }
}

/** `tls.cert` and `tls.key` read, for Fastify's `https`; nothing when they are not set. */
function httpsOptions(config: Config): { https: { cert: Buffer; key: Buffer } } | object {
  const { cert, key } = config.tls
  if (cert === undefined && key === undefined) return {}
  if (cert === undefined || key === undefined)
    throw new ConfigError('tls.cert and tls.key go together: set both, or neither')
  const read = (path: string, what: string): Buffer => {
    try {
      return readFileSync(path)
    } catch (err) {
      throw new ConfigError(`tls.${what}: cannot read ${path}: ${(err as Error).message}`)
    }
  }
  return { https: { cert: read(cert, 'cert'), key: read(key, 'key') } }
}

export interface RunningReckon extends Apps {
  otlpUrl: string
  apiUrl: string
  /** Where the UI is, when this process serves it. */
  uiUrl: string | undefined
  /** Stops accepting, writes everything acknowledged, closes storage. */
  close(): Promise<void>
}

/** Collector on the OTLP port and query API on the API port, in this process. */
export async function startReckon(
  config: Config,
  opts: ServerOptions = {},
): Promise<RunningReckon> {
  const warning = checkExposure(config)
  const context = await createContext(config, opts)
  if (warning) context.log.warn(warning)
  const apps = await buildApps(context, true, opts.apiPlugins, opts.uiDir)
  const otlpUrl = await apps.ingest.listen({ host: config.host, port: config.otlpPort })
  const apiUrl = await apps.api.listen({ host: config.host, port: config.apiPort })
  let closing: Promise<void> | undefined
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await Promise.all([apps.ingest.close(), apps.api.close()])
      await context.pipeline.shutdown()
      await context.auth.close()
      if (!opts.storage) await context.storage.close()
    })())
  return { ...apps, otlpUrl, apiUrl, uiUrl: opts.uiDir ? `${apiUrl}/` : undefined, close }
}

function describeAuth(config: Config): string {
  const { mode, ingest } = config.auth
  const ingestOpen = (ingest ?? (mode === 'keys' ? 'keys' : 'open')) === 'open'
  if (mode === 'keys')
    return `on: API keys or sign-in for the API; ${ingestOpen ? 'ingest open (auth.ingest: open)' : 'ingest keys for 4318'}`
  if (mode === 'none')
    return 'OFF on a network address (auth.mode: none): anyone reaching it is admin'
  return `off (loopback only): every change is recorded as "local"; auth.mode: keys turns it on`
}

/** What a person starting Reckon needs to know: where it listens and how to send to it. */
export function describeRunning(reckon: RunningReckon): string {
  const local = (url: string): string => url.replace('127.0.0.1', 'localhost')
  const ui = reckon.uiUrl ? `  UI                  ${local(reckon.uiUrl)}\n` : ''
  return `Reckon is running (${describeTarget(reckon.context.storage.target)})

${ui}  OTLP/HTTP + events  ${local(reckon.otlpUrl)}   (POST /v1/traces, /v1/logs, /v1/metrics, /v1/events)
  Query API           ${local(reckon.apiUrl)}/api   (docs: ${local(reckon.apiUrl)}/api/docs)
  Health              ${local(reckon.apiUrl)}/readyz, ${local(reckon.apiUrl)}/metrics
  Auth                ${describeAuth(reckon.context.config)}

Point an OpenTelemetry app at it:
  export OTEL_EXPORTER_OTLP_ENDPOINT=${local(reckon.otlpUrl)}`
}
