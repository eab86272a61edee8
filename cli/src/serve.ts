// The server commands: `reckon up` and `reckon collector` (collector, query API and the
// reconciler's schedules and routes in one process, on one storage) and `reckon reconciler`
// (schedules and compensations alone, against a ClickHouse server).
import { describeRunning, startReckon } from '@reckon/collector/server'
import { COLLECTOR, describeTarget, migrate, openStorage } from '@reckon/collector/storage'
import { RECONCILER, reconcileRoutes, Reconciler } from '@reckon/reconciler'
import type { ReckonConfig } from './config.js'

const log = (message: string, err?: unknown): void =>
  console.error(`reckon: ${message}${err instanceof Error ? `: ${err.message}` : ''}`)

/** Stops on SIGINT/SIGTERM with `close`, then exits. */
function stopOnSignals(close: () => Promise<void>, what: string): void {
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    console.log(`\n${signal}: ${what}…`)
    close().then(
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
  const storage = openStorage(config, {
    requestTimeoutMs: config.query.timeoutSeconds * 1000 + 5000,
  })
  const reconciler = new Reconciler({ storage, config, log })
  const reckon = await startReckon(config, {
    storage,
    logger: { level: 'warn' },
    migrations: [COLLECTOR, RECONCILER],
    apiPlugins: [reconcileRoutes(reconciler)],
  })
  reconciler.start()
  console.log(`${describeRunning(reckon)}

${describeRules(reconciler)}

Ctrl-C stops it after writing everything it has accepted.`)
  stopOnSignals(async () => {
    await reconciler.stop()
    await reckon.close()
    await storage.close()
  }, 'flushing and stopping')
}

export async function serveReconciler(config: ReckonConfig): Promise<void> {
  const storage = openStorage(config)
  await migrate(storage, [COLLECTOR, RECONCILER])
  const reconciler = new Reconciler({ storage, config, log })
  reconciler.start()
  console.log(`Reckon reconciler is running (${describeTarget(storage.target)})

${describeRules(reconciler)}

Ctrl-C stops it after the runs under way.`)
  stopOnSignals(async () => {
    await reconciler.stop()
    await storage.close()
  }, 'waiting for the runs under way')
}
