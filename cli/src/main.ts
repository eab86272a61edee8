// The `reckon` command (bin/reckon.js runs it): one process per command, composed from the
// components' public exports.
import { parseArgs } from 'node:util'
import { ConfigError } from '@reckon/collector/config'
import {
  describeTarget,
  migrate,
  MigrationError,
  openStorage,
  StorageOpenError,
  COLLECTOR,
} from '@reckon/collector/storage'
import { ExposedWithoutAuth } from '@reckon/collector/auth'
import { CsvRefused, RECONCILER } from '@reckon/reconciler'
import { loadReckonConfig, type ReckonConfig } from './config.js'
import { importCommand, IMPORT_HELP } from './import-command.js'
import { keysCommand, KEYS_HELP, usersCommand, USERS_HELP } from './keys-command.js'
import {
  reconcileCommand,
  ReconcileFailed,
  RECONCILE_HELP,
  UsageError,
} from './reconcile-command.js'
import { serve, serveReconciler } from './serve.js'

const HELP = `reckon — observability and reconciliation

Usage:
  reckon up          Collector, query API and reconciler in one process, on embedded
                     ClickHouse unless CLICKHOUSE_URL is set
  reckon collector   Collector, query API and reconciler against a ClickHouse server
                     (CLICKHOUSE_URL)
  reckon reconciler  The reconciler alone (schedules and compensations) against a
                     ClickHouse server
  reckon reconcile   One run of a rule, to its end:
                     reckon reconcile --rule NAME [--from T] [--to T] [--dry-run]
  reckon import      A settlement file into a file source:
                     reckon import --source NAME FILE.csv
  reckon migrate     Apply database migrations and exit
  reckon keys        API keys: reckon keys create --name NAME --role ROLE, list, revoke ID
  reckon users       reckon users hash-password: a password hash for auth.users
  reckon help        This text (reckon help reconcile, import, keys, users: theirs)

Server options (up, collector):
  --host ADDRESS     bind to this address (default 127.0.0.1); any other than loopback
                     needs auth.mode: keys in reckon.yaml

Configuration: reckon.yaml in the working directory (or RECKON_CONFIG), then environment:
  RECKON_HOST (127.0.0.1)  RECKON_OTLP_PORT (4318)  RECKON_API_PORT (8318)
  RECKON_DATA_DIR (.reckon/data)  RECKON_RETENTION_DAYS (7)
  CLICKHOUSE_URL  CLICKHOUSE_USER  CLICKHOUSE_PASSWORD  CLICKHOUSE_DATABASE (reckon)
  RECKON_AUTH_MODE (local, keys, none)  RECKON_TLS_CERT  RECKON_TLS_KEY
  RECKON_API_KEY (the key commands send to a running Reckon)
  RECKON_LOG_FORMAT (text, or json)  RECKON_LOG_LEVEL (info)
`

const HELPS: Record<string, string> = {
  reconcile: RECONCILE_HELP,
  import: IMPORT_HELP,
  keys: KEYS_HELP,
  users: USERS_HELP,
}

/** `--host ADDRESS` of the server commands, as a config override. */
function serverOverrides(args: string[]): { host?: string } {
  let values
  try {
    ;({ values } = parseArgs({ args, options: { host: { type: 'string' } }, strict: true }))
  } catch (err) {
    throw new UsageError((err as Error).message, HELP)
  }
  return values.host !== undefined ? { host: values.host } : {}
}

function needsServer(config: ReckonConfig, command: string): boolean {
  if (config.clickhouse.url) return false
  console.error(
    `reckon ${command} needs a ClickHouse server: set CLICKHOUSE_URL (or clickhouse.url in reckon.yaml).\nFor the embedded engine, run \`reckon up\`, which holds its data directory.`,
  )
  return true
}

async function migrateCommand(config: ReckonConfig): Promise<number> {
  const storage = openStorage(config)
  try {
    const report = await migrate(storage, [COLLECTOR, RECONCILER])
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

/** The exit code, or -1 for a server that keeps running. */
async function main(argv: string[]): Promise<number> {
  const [command = 'help', ...args] = argv
  if (command === 'help' || command === '--help' || command === '-h') {
    console.log(HELPS[args[0] ?? ''] ?? HELP)
    return 0
  }
  if (args.includes('--help') && HELPS[command]) {
    console.log(HELPS[command])
    return 0
  }
  if (command === 'users') return usersCommand(args)
  const server = ['up', 'collector'].includes(command)
  const config = loadReckonConfig(server ? { overrides: serverOverrides(args) } : {})
  switch (command) {
    case 'up':
      await serve(config)
      return -1
    case 'collector':
      if (needsServer(config, command)) return 2
      await serve(config)
      return -1
    case 'reconciler':
      if (needsServer(config, command)) return 2
      await serveReconciler(config)
      return -1
    case 'reconcile':
      return reconcileCommand(config, args)
    case 'import':
      return importCommand(config, args)
    case 'migrate':
      return migrateCommand(config)
    case 'keys':
      return keysCommand(config, args)
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
    if (err instanceof UsageError) {
      console.error(`reckon: ${err.message}\n\n${err.help}`)
      process.exit(2)
    }
    if (err instanceof ExposedWithoutAuth || err instanceof ConfigError) {
      console.error(
        `reckon: ${err instanceof ConfigError ? 'configuration error: ' : ''}${err.message}`,
      )
      process.exit(2)
    }
    if (err instanceof ReconcileFailed || err instanceof CsvRefused) {
      console.error(`reckon: ${err.message}`)
      process.exit(2)
    }
    if (err instanceof StorageOpenError || err instanceof MigrationError)
      console.error(`reckon: ${err.message}`)
    else if (err instanceof Error && 'code' in err && err.code === 'EADDRINUSE')
      console.error(`reckon: ${err.message} — is Reckon already running?`)
    else console.error('reckon: failed to start:', err)
    // A command that did not run is exit 2; a server that could not start, 1.
    process.exit(['reconcile', 'import', 'keys', 'users'].includes(process.argv[2] ?? '') ? 2 : 1)
  },
)
