// A rule as the reconciler runs it: reckon.yaml's entry with its defaults filled in, its
// durations in milliseconds, and the references between rules and sources checked.
import cron from 'node-cron'
import {
  CATEGORIES,
  type Category,
  type CompensationConfig,
  type HttpCall,
  type ReconcilerConfig,
  type RuleConfig,
  type SourceConfig,
} from './config.js'
import { callProblems, keyColumns, knownPlaceholders } from './compensation/templates.js'
import { parseDuration } from './duration.js'

export type Match = 'one-to-one' | 'one-to-many' | 'many-to-one'

export interface Compensation {
  verify?: HttpCall
  action?: HttpCall
  /** No call: the finding is escalated to a person at once. */
  escalate: boolean
  maxAttempts: number
  backoff: { initialMs: number; maxMs: number }
}

export interface Rule {
  name: string
  left: string
  right: string
  leftSource: SourceConfig
  rightSource: SourceConfig
  match: Match
  windowMs: number
  graceMs: number
  schedule?: string
  /** Whether amounts and currencies are compared at all. */
  compareAmounts: boolean
  /** Absolute tolerance, exact decimal text, and any per currency. */
  tolerance: string
  perCurrency: Record<string, string>
  /** Left status → right statuses that agree; undefined = statuses are not compared. */
  status?: Record<string, string[]>
  compensate: Partial<Record<Category, Compensation>>
}

/** A problem in the reconcile section, at a key path (for the file's line). */
export interface RuleProblem {
  path: (string | number)[]
  message: string
}

export const COMPENSATION_DEFAULTS = {
  maxAttempts: 5,
  backoff: { initialMs: 1000, maxMs: 5 * 60_000 },
} as const

function compensation(c: CompensationConfig): Compensation {
  return {
    ...(c.verify ? { verify: c.verify } : {}),
    ...(c.action ? { action: c.action } : {}),
    escalate: c.escalate ?? false,
    maxAttempts: c.maxAttempts ?? COMPENSATION_DEFAULTS.maxAttempts,
    backoff: {
      initialMs: c.backoff?.initial
        ? parseDuration(c.backoff.initial)
        : COMPENSATION_DEFAULTS.backoff.initialMs,
      maxMs: c.backoff?.max ? parseDuration(c.backoff.max) : COMPENSATION_DEFAULTS.backoff.maxMs,
    },
  }
}

/** What in the section is inconsistent, beyond its schema (which loadConfig checked). */
export function checkRules(config: ReconcilerConfig): RuleProblem[] {
  const { sources, rules } = config.reconcile
  const problems: RuleProblem[] = []
  const seen = new Set<string>()
  rules.forEach((r: RuleConfig, i) => {
    const at = (...path: (string | number)[]) => ['reconcile', 'rules', i, ...path]
    if (seen.has(r.name))
      problems.push({ path: at('name'), message: `rule ${r.name} is defined twice` })
    seen.add(r.name)
    for (const side of ['left', 'right'] as const) {
      if (!(r[side] in sources))
        problems.push({
          path: at(side),
          message: `names no source: ${r[side]} (sources: ${Object.keys(sources).join(', ') || 'none'})`,
        })
    }
    if (r.left === r.right)
      problems.push({ path: at('right'), message: 'compares a source with itself' })
    if (r.schedule !== undefined && !cron.validate(r.schedule))
      problems.push({
        path: at('schedule'),
        message: `${JSON.stringify(r.schedule)} is not a cron expression (say "*/5 * * * *")`,
      })
    const keyNames = {
      left: sources[r.left] ? keyColumns(sources[r.left]!) : [],
      right: sources[r.right] ? keyColumns(sources[r.right]!) : [],
    }
    for (const [category, c] of Object.entries(r.compensate ?? {})) {
      if (!c) continue
      if (!c.action && !c.verify && !c.escalate)
        problems.push({
          path: at('compensate', category),
          message: 'needs an action, a verify, or escalate: true',
        })
      if (c.escalate && (c.action || c.verify))
        problems.push({
          path: at('compensate', category, 'escalate'),
          message: 'escalates without calling: it takes no action or verify',
        })
      const known = knownPlaceholders(keyNames, category as Category)
      for (const step of ['verify', 'action'] as const) {
        const call = c[step]
        if (!call) continue
        for (const p of callProblems(call, known))
          problems.push({ path: at('compensate', category, step, ...p.path), message: p.message })
      }
      const { initialMs, maxMs } = compensation(c).backoff
      if (initialMs > maxMs)
        problems.push({
          path: at('compensate', category, 'backoff'),
          message: 'initial is longer than max',
        })
    }
  })
  return problems
}

/** The rules, resolved; call after checkRules found nothing. */
export function resolveRules(config: ReconcilerConfig): Rule[] {
  const { sources } = config.reconcile
  return config.reconcile.rules.map((r) => {
    const compensate: Partial<Record<Category, Compensation>> = {}
    for (const category of CATEGORIES) {
      const c = r.compensate?.[category]
      if (c) compensate[category] = compensation(c)
    }
    return {
      name: r.name,
      left: r.left,
      right: r.right,
      leftSource: sources[r.left]!,
      rightSource: sources[r.right]!,
      match: r.match ?? 'one-to-one',
      windowMs: parseDuration(r.window ?? '24h'),
      graceMs: parseDuration(r.grace ?? '15m'),
      ...(r.schedule !== undefined ? { schedule: r.schedule } : {}),
      compareAmounts: r.amount?.compare ?? true,
      tolerance: r.amount?.tolerance ?? '0',
      perCurrency: r.amount?.perCurrency ?? {},
      ...(r.status ? { status: r.status } : {}),
      compensate,
    }
  })
}
