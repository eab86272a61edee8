// reckon.yaml as the CLI reads it: the sections of every component it can run, and the
// checks across keys that a schema cannot make (a rule naming a missing source), reported
// at the file and line of the key.
import {
  COLLECTOR_CONFIG,
  composeConfig,
  ConfigError,
  loadConfig,
  locate,
  type Config,
  type LoadOptions,
} from '@reckon/collector/config'
import {
  ALERTS_CONFIG,
  checkAlerts,
  checkRules,
  RECONCILER_CONFIG,
  type AlertsConfig,
  type ReconcilerConfig,
} from '@reckon/reconciler'

/** The type of the whole file: the intersection of the sections' types. */
export type ReckonConfig = Config & ReconcilerConfig & AlertsConfig

export const RECKON_CONFIG = composeConfig<ReckonConfig>([
  COLLECTOR_CONFIG,
  RECONCILER_CONFIG,
  ALERTS_CONFIG,
])

/** Defaults, reckon.yaml, environment; the first problem found is a ConfigError. */
export function loadReckonConfig(
  opts: Omit<LoadOptions<ReckonConfig>, 'sections'> = {},
): ReckonConfig {
  const config = loadConfig<ReckonConfig>({ ...opts, sections: RECKON_CONFIG })
  const [problem] = [...checkRules(config), ...checkAlerts(config)]
  if (problem) {
    const where = locate(problem.path, {
      ...(opts.file ? { file: opts.file } : {}),
      ...(opts.env ? { env: opts.env } : {}),
    })
    throw new ConfigError(`${where}: ${problem.path.join('.')} ${problem.message}`)
  }
  return config
}
