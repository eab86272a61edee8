// The server commands: `reckon up` and `reckon collector` (collector, query API and the
// reconciler's schedules and routes in one process, on one storage) and `reckon reconciler`
// (schedules and compensations alone, against a ClickHouse server). Both evaluate the
// alert rules and notify on-call; a lease keeps two of them from sending twice.
import { ConfigError } from '@reckon/collector/config'
import {
  createLogger,
  describeRunning,
  startReckon,
  type Logger,
  type LogOptions,
} from '@reckon/collector/server'
import {
  COLLECTOR,
  describeTarget,
  migrate,
  openStorage,
  type Storage,
} from '@reckon/collector/storage'
import {
  alertRoutes,
  Alerts,
  formatDuration,
  RECONCILER,
  reconcileRoutes,
  Reconciler,
} from '@reckon/reconciler'
import { uiDir } from '@reckon/ui'
import type { ReckonConfig } from './config.js'

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
const FORMATS = ['text', 'json'] as const

/** The process's one logger: RECKON_LOG_FORMAT (text, json) and RECKON_LOG_LEVEL (info). */
export function processLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  const pick = <T extends string>(name: string, allowed: readonly T[], dflt: T): T => {
    const v = env[name]
    if (v === undefined || v === '') return dflt
    if ((allowed as readonly string[]).includes(v)) return v as T
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`)
  }
  const options: LogOptions = {
    format: pick('RECKON_LOG_FORMAT', FORMATS, 'text'),
    level: pick('RECKON_LOG_LEVEL', LEVELS, 'info'),
  }
  return createLogger(options)
}

/** What the reconciler reports (failed runs and compensations, escalated findings): errors. */
const reconcilerLog = (logger: Logger) => {
  const log = logger.child({ component: 'reconciler' })
  return (message: string, err?: unknown): void =>
    err === undefined ? log.error(message) : log.error({ err }, message)
}

/** Stops on SIGINT/SIGTERM with `close`, then exits. */
function stopOnSignals(close: () => Promise<void>, what: string, logger: Logger): void {
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    console.log(`\n${signal}: ${what}…`)
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
}

/** What the alerts report (rules that cannot be evaluated, notifications given up): warnings. */
const alertsLog = (logger: Logger) => {
  const log = logger.child({ component: 'alerts' })
  return (message: string, err?: unknown): void =>
    err === undefined ? log.warn(message) : log.warn({ err }, message)
}

/** Links in notifications point at the UI: alerts.externalUrl, else the query API's address. */
function alertsOf(config: ReckonConfig, storage: Storage, logger: Logger): Alerts {
  const scheme = config.tls.cert ? 'https' : 'http'
  const host = ['0.0.0.0', '::', ''].includes(config.host) ? '127.0.0.1' : config.host
  const address = host.includes(':') ? `[${host}]` : host
  return new Alerts({
    storage,
    config,
    externalUrl: config.alerts.externalUrl ?? `${scheme}://${address}:${config.apiPort}`,
    log: alertsLog(logger),
    timeoutSeconds: config.query.timeoutSeconds,
  })
}

function describeAlerts(alerts: Alerts): string {
  if (!alerts.enabled) return 'Alerts: off (alerts.enabled: false)'
  const on = alerts.rules.filter((r) => r.enabled).map((r) => r.name)
  const receivers = [...alerts.router.receivers.values()].map((r) => `${r.name} (${r.kind})`)
  return `Alerts: ${on.length} rules every ${formatDuration(alerts.evaluationIntervalMs)} (${on.join(', ') || 'none'}), ${
    receivers.length > 0
      ? `to ${receivers.join(', ')}`
      : 'no receivers in reckon.yaml (alerts.receivers): shown in the API only'
  }`
}

function describeRules(reconciler: Reconciler): string {
  const rules = [...reconciler.rules.values()]
  if (rules.length === 0) return 'Reconciliation: no rules in reckon.yaml (reconcile.rules)'
  const lines = rules.map(
    (r) =>
      `  ${r.name.padEnd(22)} ${r.left} ↔ ${r.right}, ${r.schedule ? `schedule "${r.schedule}"` : 'on demand'}`,
  )
  return `Reconciliation rules:\n${lines.join('\n')}`
}

export async function serve(config: ReckonConfig): Promise<void> {
  const logger = processLogger()
  const storage = openStorage(config, {
    requestTimeoutMs: config.query.timeoutSeconds * 1000 + 5000,
  })
  const reconciler = new Reconciler({ storage, config, log: reconcilerLog(logger) })
  const alerts = alertsOf(config, storage, logger)
  const reckon = await startReckon(config, {
    storage,
    logger,
    migrations: [COLLECTOR, RECONCILER],
    apiPlugins: [reconcileRoutes(reconciler), alertRoutes(alerts)],
    uiDir,
  })
  reconciler.start()
  alerts.start()
  console.log(`${describeRunning(reckon)}

${describeRules(reconciler)}

${describeAlerts(alerts)}

Ctrl-C stops it after writing everything it has accepted.`)
  stopOnSignals(
    async () => {
      await alerts.stop()
      await reconciler.stop()
      await reckon.close()
      await storage.close()
    },
    'flushing and stopping',
    logger,
  )
}

export async function serveReconciler(config: ReckonConfig): Promise<void> {
  const logger = processLogger()
  const storage = openStorage(config)
  await migrate(storage, [COLLECTOR, RECONCILER])
  const reconciler = new Reconciler({ storage, config, log: reconcilerLog(logger) })
  const alerts = alertsOf(config, storage, logger)
  reconciler.start()
  alerts.start()
  console.log(`Reckon reconciler is running (${describeTarget(storage.target)})

${describeRules(reconciler)}

${describeAlerts(alerts)}

Ctrl-C stops it after the runs under way.`)
  stopOnSignals(
    async () => {
      await alerts.stop()
      await reconciler.stop()
      await storage.close()
    },
    'waiting for the runs under way',
    logger,
  )
}
