// The rules every Reckon ships with: what makes sense for any service that sends to it.
// An entry in reckon.yaml with the same name changes keys of one (or turns it off with
// `enabled: false`); `alerts.defaultRules: false` starts from none.
import type { AlertRuleConfig } from './config.js'

export const DEFAULT_RULES: readonly AlertRuleConfig[] = [
  {
    name: 'error-rate',
    kind: 'error_rate',
    above: 0.05,
    window: '5m',
    minCalls: 20,
    for: '2m',
    keepFiringFor: '2m',
    labels: { severity: 'warning' },
    annotations: {
      summary: '{{labels.service}}: {{value}} of calls fail',
      description:
        'More than 5% of the entry calls of {{labels.service}} failed over the last 5 minutes.',
    },
  },
  {
    name: 'latency-p99',
    kind: 'latency',
    quantile: 'p99',
    above: 2000,
    window: '5m',
    minCalls: 20,
    for: '5m',
    keepFiringFor: '2m',
    labels: { severity: 'warning' },
    annotations: {
      summary: '{{labels.service}}: p99 latency is {{value}}',
      description: 'The slowest 1% of the entry calls of {{labels.service}} take over 2 s.',
    },
  },
  {
    name: 'breaker-open',
    kind: 'breaker_open',
    for: '1m',
    keepFiringFor: '30s',
    labels: { severity: 'critical' },
    annotations: {
      summary: 'Breaker {{labels.breaker}} of {{labels.service}} is {{value}}',
      description:
        'The circuit breaker {{labels.breaker}} on {{labels.instance}} has been open or half-open for over a minute: calls through it are refused.',
    },
  },
  {
    name: 'heartbeat-missing',
    kind: 'heartbeat_missing',
    silentFor: '2m',
    lookback: '1h',
    labels: { severity: 'critical' },
    annotations: {
      summary: '{{labels.instance}} of {{labels.service}} is silent for {{value}}',
      description: 'The instance has sent no heartbeat for over 2 minutes: it may be down.',
    },
  },
  {
    name: 'reconcile-breaks',
    kind: 'reconcile_breaks',
    above: 0,
    labels: { severity: 'warning' },
    annotations: {
      summary: '{{labels.rule}}: {{value}} open {{labels.category}} findings',
      description:
        'The reconciliation rule {{labels.rule}} has open findings: money may be missing.',
    },
  },
  {
    name: 'compensation-escalated',
    kind: 'compensation_escalated',
    above: 0,
    labels: { severity: 'critical' },
    annotations: {
      summary: '{{labels.rule}}: {{value}} {{labels.category}} findings need a person',
      description: 'Automatic compensation gave up on these findings: a person must act.',
    },
  },
]
