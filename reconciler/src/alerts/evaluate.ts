// One evaluation of one rule: the label sets whose condition holds now, each with its value
// and links to the evidence in the Reckon UI. Every kind reads the tables with parameters
// only and under a time limit; what it found nothing to judge ("no data") is told apart
// from what it judged fine.
import { evaluateBreaks, evaluateEscalations, evaluateQuery } from './evaluate-books.js'
import {
  evaluateBreakers,
  evaluateErrorRate,
  evaluateHeartbeats,
  evaluateLatency,
} from './evaluate-telemetry.js'
import type { AlertRule } from './rules.js'
import type { EvalContext, Evaluation } from './sample.js'

export type { EvalContext, Evaluation, Link, Sample } from './sample.js'

export function evaluateRule(rule: AlertRule, ctx: EvalContext): Promise<Evaluation> {
  switch (rule.kind) {
    case 'error_rate':
      return evaluateErrorRate(rule, ctx)
    case 'latency':
      return evaluateLatency(rule, ctx)
    case 'breaker_open':
      return evaluateBreakers(rule, ctx)
    case 'heartbeat_missing':
      return evaluateHeartbeats(rule, ctx)
    case 'reconcile_breaks':
      return evaluateBreaks(rule, ctx)
    case 'compensation_escalated':
      return evaluateEscalations(rule, ctx)
    case 'query':
      return evaluateQuery(rule, ctx)
  }
}
