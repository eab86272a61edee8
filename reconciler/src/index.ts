// What other packages (the CLI) use of the reconciler.
export {
  RECONCILER_CONFIG,
  CATEGORIES,
  type Category,
  type ReconcilerConfig,
  type RuleConfig,
  type SourceConfig,
} from './config.js'
export { RECONCILER } from './schema.js'
export { checkRules, resolveRules, type Rule, type RuleProblem } from './rules.js'
export { startRun, RunInProgress, type Run, type RunRequest, type RunState } from './run.js'
export type { Report } from './report.js'
export {
  Reconciler,
  UnknownRule,
  UnknownSource,
  type ReconcilerOptions,
  type RunOrder,
} from './reconciler.js'
export { reconcileRoutes } from './api/routes.js'
export { getRun, listRuns, type RunView } from './run-reads.js'
export { formatDuration } from './duration.js'
export {
  importCsv,
  CsvRefused,
  ImportInProgress,
  ImportTooLarge,
  NotAFileSource,
  type ImportOptions,
  type ImportProgress,
  type ImportSummary,
} from './sources/csv-import.js'
export { postgresSnapshotter, PostgresSourceError } from './sources/postgres.js'
export {
  ALERTS_CONFIG,
  ALERT_KINDS,
  type AlertKind,
  type AlertsConfig,
  type AlertRuleConfig,
  type ReceiverConfig,
} from './alerts/config.js'
export { checkAlerts, resolveAlertRules, type AlertRule } from './alerts/rules.js'
export { DEFAULT_RULES } from './alerts/defaults.js'
export { Alerts, type AlertsOptions, type TickSummary } from './alerts/alerts.js'
export { alertRoutes } from './alerts/routes.js'
export type { AlertView, AlertRuleView } from './alerts/views.js'
