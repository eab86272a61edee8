// The `reckon` command (bin/reckon.js runs it): one process per command, composed from the
// components' public exports.
import { ConfigError, loadConfig } from '@reckon/collector/config'
import { describeRunning, startReckon } from '@reckon/collector/server'
import {
  describeTarget,
  migrate,
  MigrationError,
  openStorage,
  StorageOpenError,
} from '@reckon/collector/storage'
import { RECKON_CONFIG, type ReckonConfig } from './config.js'

const HELP = `reckon — observability and reconciliation

Usage:
  reckon up          Collector, query API (and later reconciler and UI) in one process,
                     on embedded ClickHouse unless CLICKHOUSE_URL is set
  reckon collector   Collector and query API against a ClickHouse server (CLICKHOUSE_URL)
  reckon migrate     Apply database migrations and exit
  reckon help        This text

Configuration: reckon.yaml in the working directory (or RECKON_CONFIG), then environment:
  RECKON_HOST (127.0.0.1)  RECKON_OTLP_PORT (4318)  RECKON_API_PORT (8318)
  RECKON_DATA_DIR (.reckon/data)  RECKON_RETENTION_DAYS (7)
  CLICKHOUSE_URL  CLICKHOUSE_USER  CLICKHOUSE_PASSWORD  CLICKHOUSE_DATABASE (reckon)
`

async function serve(config: ReckonConfig): Promise<void> {
  const reckon = await startReckon(config, { logger: { level: 'warn' } })
  console.log(`${describeRunning(reckon)}

Ctrl-C stops it after writing everything it has accepted.`)
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    console.log(`\n${signal}: flushing and stopping…`)
    reckon.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('reckon: shutdown failed', err)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? 'help'
  if (command === 'help' || command === '--help' || command === '-h') {
    console.log(HELP)
    return 0
  }
  const config = loadConfig({ sections: RECKON_CONFIG })
  switch (command) {
    case 'up':
      await serve(config)
      return -1
    case 'collector':
      if (!config.clickhouse.url) {
        console.error(
          'reckon collector needs a ClickHouse server: set CLICKHOUSE_URL (or clickhouse.url in reckon.yaml).\nFor the embedded engine, run `reckon up`.',
        )
        return 2
      }
      await serve(config)
      return -1
    case 'migrate': {
      const storage = openStorage(config)
      try {
        const report = await migrate(storage)
        const what =
          report.applied.length === 0
            ? 'nothing to apply'
            : report.applied.map((m) => `${m.component} ${m.version} (${m.name})`).join(', ')
        const versions = Object.entries(report.current)
          .map(([component, version]) => `${component} ${version}`)
          .join(', ')
        console.log(
          `migrations on ${describeTarget(storage.target)}: ${what}; schema version ${versions}`,
        )
        if (report.retentionChanged.length > 0)
          console.log(
            `retention set to ${config.retentionDays} days on ${report.retentionChanged.join(', ')}`,
          )
      } finally {
        await storage.close()
      }
      return 0
    }
    default:
      console.error(`unknown command ${JSON.stringify(command)}\n\n${HELP}`)
      return 2
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code)
  },
  (err: unknown) => {
    if (err instanceof ConfigError) console.error(`reckon: configuration error: ${err.message}`)
    else if (err instanceof StorageOpenError || err instanceof MigrationError)
      console.error(`reckon: ${err.message}`)
    else if (err instanceof Error && 'code' in err && err.code === 'EADDRINUSE')
      console.error(`reckon: ${err.message} — is Reckon already running?`)
    else console.error('reckon: failed to start:', err)
    process.exit(1)
  },
)
