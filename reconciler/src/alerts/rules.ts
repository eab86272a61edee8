// Alert rules as the evaluator runs them: the shipped defaults with reckon.yaml's entries
// laid over them (same name: keys replaced, labels and annotations merged), durations in
// milliseconds, and what a schema cannot say checked at the key's line.
import { parseDuration } from '../duration.js'
import type { RuleProblem } from '../rules.js'
import {
  ALERT_KINDS,
  type AlertKind,
  type AlertRuleConfig,
  type AlertsConfig,
  type Quantile,
} from './config.js'
import { DEFAULT_RULES } from './defaults.js'
import { queryProblem } from './evaluate-books.js'
import { unknownPlaceholders } from './templates.js'

export interface AlertRule {
  name: string
  kind: AlertKind
  enabled: boolean
  /** Shipped with Reckon (perhaps changed by reckon.yaml). */
  isDefault: boolean
  forMs: number
  keepFiringForMs: number
  labels: Record<string, string>
  annotations: Record<string, string>
  noData: 'ok' | 'nodata' | 'alerting'
  onError: 'error' | 'keep'
  service?: string
  operation?: string
  by: 'service' | 'operation'
  windowMs: number
  minCalls: number
  quantile: Quantile
  above?: number
  below?: number
  breaker: { service?: string; name?: string; instance?: string }
  silentForMs: number
  lookbackMs: number
  rule?: string
  category?: string
  amountAbove: Record<string, string>
  query?: string
}

const COMMON = [
  'name',
  'kind',
  'enabled',
  'for',
  'keepFiringFor',
  'labels',
  'annotations',
  'noData',
  'onError',
] as const

/** The keys each kind takes besides the common ones. */
const KIND_KEYS: Record<AlertKind, readonly (keyof AlertRuleConfig)[]> = {
  error_rate: ['service', 'operation', 'by', 'window', 'minCalls', 'above'],
  latency: ['service', 'operation', 'by', 'window', 'minCalls', 'quantile', 'above'],
  breaker_open: ['breaker', 'window'],
  heartbeat_missing: ['service', 'silentFor', 'lookback'],
  reconcile_breaks: ['rule', 'category', 'above', 'amountAbove'],
  compensation_escalated: ['rule', 'category', 'above'],
  query: ['query', 'window', 'above', 'below'],
}

interface Entry {
  config: AlertRuleConfig
  /** Index in alerts.rules of the entry that wrote it; undefined = a default untouched. */
  index?: number
  isDefault: boolean
}

/** Defaults and reckon.yaml's entries, merged by name, in order (defaults first). */
function entries(config: AlertsConfig): Entry[] {
  const out: Entry[] = []
  const byName = new Map<string, Entry>()
  if (config.alerts.defaultRules !== false)
    for (const d of DEFAULT_RULES) {
      const e: Entry = { config: d, isDefault: true }
      out.push(e)
      byName.set(d.name, e)
    }
  config.alerts.rules.forEach((r, index) => {
    const base = byName.get(r.name)
    if (base && base.index === undefined) {
      base.config = {
        ...base.config,
        ...r,
        labels: { ...base.config.labels, ...r.labels },
        annotations: { ...base.config.annotations, ...r.annotations },
      }
      base.index = index
      return
    }
    const e: Entry = { config: r, index, isDefault: false }
    out.push(e)
    byName.set(r.name, e)
  })
  return out
}

/**
 * The evaluation interval as a node-cron expression (six fields, seconds first): it must
 * divide a minute, an hour or a day so every tick is the same distance from the last.
 */
export function intervalCron(ms: number): string | undefined {
  const s = ms / 1000
  if (!Number.isInteger(s) || s < 1) return undefined
  if (s < 60) return 60 % s === 0 ? `*/${s} * * * * *` : undefined
  const m = s / 60
  if (Number.isInteger(m) && m < 60) return 60 % m === 0 ? `0 */${m} * * * *` : undefined
  const h = s / 3600
  if (Number.isInteger(h) && h <= 24) return 24 % h === 0 ? `0 0 */${h} * * *` : undefined
  return undefined
}

/** What in the section is inconsistent, beyond its schema (which loadConfig checked). */
export function checkAlerts(config: AlertsConfig): RuleProblem[] {
  const { alerts } = config
  const problems: RuleProblem[] = []
  const at = (...path: (string | number)[]) => ['alerts', ...path]
  if (alerts.evaluationInterval && !intervalCron(parseDuration(alerts.evaluationInterval)))
    problems.push({
      path: at('evaluationInterval'),
      message: `${alerts.evaluationInterval} does not divide a minute, an hour or a day (say 15s, 1m, 5m)`,
    })
  const receivers = new Set<string>()
  alerts.receivers.forEach((r, i) => {
    if (receivers.has(r.name))
      problems.push({ path: at('receivers', i, 'name'), message: `${r.name} is defined twice` })
    receivers.add(r.name)
    const kinds = (['alertmanager', 'pagerduty', 'slack', 'webhook'] as const).filter((k) => r[k])
    if (kinds.length !== 1)
      problems.push({
        path: at('receivers', i),
        message: `needs exactly one of alertmanager, pagerduty, slack, webhook (has ${kinds.join(', ') || 'none'})`,
      })
  })
  alerts.routes.forEach((r, i) => {
    if (!receivers.has(r.receiver))
      problems.push({
        path: at('routes', i, 'receiver'),
        message: `names no receiver: ${r.receiver} (receivers: ${[...receivers].join(', ') || 'none'})`,
      })
    for (const [label, re] of Object.entries(r.matchRe ?? {})) {
      try {
        new RegExp(re)
      } catch (err) {
        problems.push({
          path: at('routes', i, 'matchRe', label),
          message: `is not a regular expression: ${(err as Error).message}`,
        })
      }
    }
  })
  const seen = new Set<string>()
  alerts.rules.forEach((r, i) => {
    if (seen.has(r.name))
      problems.push({ path: at('rules', i, 'name'), message: `rule ${r.name} is defined twice` })
    seen.add(r.name)
  })
  for (const e of entries(config)) {
    if (e.index === undefined) continue
    const r = e.config
    const key = (...path: (string | number)[]) => at('rules', e.index!, ...path)
    if (!r.kind) {
      problems.push({
        path: key('name'),
        message: `is no shipped rule, so it needs a kind (${ALERT_KINDS.join(', ')})`,
      })
      continue
    }
    const allowed = new Set<string>([...COMMON, ...KIND_KEYS[r.kind]])
    for (const k of Object.keys(r))
      if (!allowed.has(k))
        problems.push({
          path: key(k),
          message: `is not a key of a ${r.kind} rule (it takes ${KIND_KEYS[r.kind].join(', ')})`,
        })
    if (r.kind === 'query') {
      if (!r.query) problems.push({ path: key('kind'), message: 'query rules need a query' })
      else {
        const problem = queryProblem(r.query)
        if (problem) problems.push({ path: key('query'), message: problem })
      }
    }
    if (r.kind === 'error_rate' && r.above !== undefined && (r.above < 0 || r.above >= 1))
      problems.push({ path: key('above'), message: 'is a fraction of calls: 0 ≤ above < 1' })
    for (const [name, t] of Object.entries(r.annotations ?? {})) {
      const bad = unknownPlaceholders(t)
      if (bad.length > 0)
        problems.push({
          path: key('annotations', name),
          message: `names ${bad.map((b) => `{{${b}}}`).join(', ')}; a template knows {{value}}, {{rule}} and {{labels.NAME}}`,
        })
    }
  }
  return problems
}

const ms = (d: string | undefined, dflt: number): number => (d ? parseDuration(d) : dflt)

/** The rules, resolved (disabled ones included, marked); call after checkAlerts found nothing. */
export function resolveAlertRules(config: AlertsConfig): AlertRule[] {
  return entries(config).map(({ config: r, isDefault }) => ({
    name: r.name,
    kind: r.kind!,
    enabled: r.enabled ?? true,
    isDefault,
    forMs: ms(r.for, 0),
    keepFiringForMs: ms(r.keepFiringFor, 0),
    labels: r.labels ?? {},
    annotations: r.annotations ?? {},
    noData: r.noData ?? 'ok',
    onError: r.onError ?? 'error',
    ...(r.service !== undefined ? { service: r.service } : {}),
    ...(r.operation !== undefined ? { operation: r.operation } : {}),
    by: r.by ?? (r.operation !== undefined ? 'operation' : 'service'),
    windowMs: ms(r.window, r.kind === 'breaker_open' ? 60_000 : 5 * 60_000),
    minCalls: r.minCalls ?? 20,
    quantile: r.quantile ?? 'p99',
    ...(r.above !== undefined ? { above: r.above } : {}),
    ...(r.below !== undefined ? { below: r.below } : {}),
    breaker: r.breaker ?? {},
    silentForMs: ms(r.silentFor, 2 * 60_000),
    lookbackMs: ms(r.lookback, 60 * 60_000),
    ...(r.rule !== undefined ? { rule: r.rule } : {}),
    ...(r.category !== undefined ? { category: r.category } : {}),
    amountAbove: r.amountAbove ?? {},
    ...(r.query !== undefined ? { query: r.query } : {}),
  }))
}
