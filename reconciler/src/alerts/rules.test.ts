import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { composeConfig, loadConfig, locate } from '@reckon/collector/config'
import { describe, expect, it } from 'vitest'
import { ALERTS_CONFIG, type AlertsConfig } from './config.js'
import { checkAlerts, intervalCron, resolveAlertRules } from './rules.js'

const SECTIONS = composeConfig<AlertsConfig>([ALERTS_CONFIG])

function load(text: string): { config: AlertsConfig; file: string } {
  const file = join(mkdtempSync(join(tmpdir(), 'reckon-alerts-')), 'reckon.yaml')
  writeFileSync(file, text)
  return { config: loadConfig<AlertsConfig>({ file, env: {}, sections: SECTIONS }), file }
}

/** The first problem as the CLI reports it: file:line: key message. */
function problem(text: string): string | undefined {
  const { config, file } = load(text)
  const [p] = checkAlerts(config)
  return (
    p &&
    `${locate(p.path, { file, env: {} }).replace(file, 'reckon.yaml')}: ${p.path.join('.')} ${p.message}`
  )
}

const ISSUE_EXAMPLE = `
alerts:
  evaluationInterval: 15s
  receivers:
    - { name: oncall, alertmanager: { url: "http://127.0.0.1:9093" } }
    - { name: pager,  pagerduty: { url: "https://events.pagerduty.com", routingKey: "abc" } }
    - { name: chat,   slack: { url: "https://hooks.slack.com/services/x" } }
    - { name: hook,   webhook: { url: "https://example.com/hook", secret: "s" } }
  routes:
    - { receiver: oncall, match: { severity: critical } }
  rules:
    - name: payment-breaker-open
      kind: breaker_open
      breaker: { service: order, name: payment }
      for: 30s
      keepFiringFor: 1m
      labels: { severity: critical, team: payments }
      annotations: { summary: "Breaker {{labels.breaker}} of {{labels.service}} is {{value}}", runbook_url: "https://runbooks/x" }
`

describe('alert rules in reckon.yaml', () => {
  it('takes the issue’s example as it is, after the shipped defaults', () => {
    const { config } = load(ISSUE_EXAMPLE)
    expect(checkAlerts(config)).toEqual([])
    const rules = resolveAlertRules(config)
    expect(rules.map((r) => r.name)).toEqual([
      'error-rate',
      'latency-p99',
      'breaker-open',
      'heartbeat-missing',
      'reconcile-breaks',
      'compensation-escalated',
      'payment-breaker-open',
    ])
    const mine = rules.at(-1)!
    expect(mine).toMatchObject({
      kind: 'breaker_open',
      forMs: 30_000,
      keepFiringForMs: 60_000,
      isDefault: false,
      enabled: true,
      breaker: { service: 'order', name: 'payment' },
      labels: { severity: 'critical', team: 'payments' },
    })
  })

  it('turns a default off by its name, and changes keys of another', () => {
    const { config } = load(`
alerts:
  receivers: []
  routes: []
  rules:
    - { name: breaker-open, enabled: false }
    - { name: error-rate, above: 0.1, labels: { team: web } }
`)
    expect(checkAlerts(config)).toEqual([])
    const rules = new Map(resolveAlertRules(config).map((r) => [r.name, r]))
    expect(rules.get('breaker-open')).toMatchObject({ enabled: false, isDefault: true })
    expect(rules.get('error-rate')).toMatchObject({
      above: 0.1,
      windowMs: 300_000,
      labels: { severity: 'warning', team: 'web' },
      isDefault: true,
    })
    expect(rules.size).toBe(6)
  })

  it('starts from no rules with defaultRules: false', () => {
    const { config } = load(
      'alerts: { defaultRules: false, receivers: [], routes: [], rules: [] }\n',
    )
    expect(resolveAlertRules(config)).toEqual([])
  })

  it('names the line and key of a rule that is no default and has no kind', () => {
    expect(
      problem(
        'alerts:\n  receivers: []\n  routes: []\n  rules:\n    - name: mine\n      for: 1m\n',
      ),
    ).toBe(
      'reckon.yaml:5: alerts.rules.0.name is no shipped rule, so it needs a kind (error_rate, latency, breaker_open, heartbeat_missing, reconcile_breaks, compensation_escalated, query)',
    )
  })

  it('refuses a key its kind does not take, a route to no receiver, a template naming nothing', () => {
    expect(
      problem(
        'alerts:\n  receivers: []\n  routes: []\n  rules:\n    - name: x\n      kind: breaker_open\n      minCalls: 3\n',
      ),
    ).toMatch(/^reckon\.yaml:7: alerts\.rules\.0\.minCalls is not a key of a breaker_open rule/)
    expect(
      problem(
        'alerts:\n  receivers:\n    - { name: a, slack: { url: "http://x" } }\n  routes:\n    - { receiver: b }\n  rules: []\n',
      ),
    ).toBe('reckon.yaml:5: alerts.routes.0.receiver names no receiver: b (receivers: a)')
    expect(
      problem(
        'alerts:\n  receivers: []\n  routes: []\n  rules:\n    - name: error-rate\n      annotations: { summary: "{{ $value }}" }\n',
      ),
    ).toMatch(/alerts\.rules\.0\.annotations\.summary names \{\{\$value\}\}/)
  })

  it('refuses a query that is not one SELECT, and a receiver of two kinds', () => {
    expect(
      problem(
        'alerts:\n  receivers: []\n  routes: []\n  rules:\n    - name: q\n      kind: query\n      query: "SELECT 1 AS value; DROP TABLE x"\n',
      ),
    ).toMatch(/alerts\.rules\.0\.query must be one SELECT/)
    expect(
      problem(
        'alerts:\n  receivers:\n    - { name: a, slack: { url: "http://x" }, webhook: { url: "http://y" } }\n  routes: []\n  rules: []\n',
      ),
    ).toMatch(
      /alerts\.receivers\.0 needs exactly one of alertmanager, pagerduty, slack, webhook \(has slack, webhook\)/,
    )
  })

  it('schedules intervals that divide a minute, an hour or a day', () => {
    expect(intervalCron(15_000)).toBe('*/15 * * * * *')
    expect(intervalCron(60_000)).toBe('0 */1 * * * *')
    expect(intervalCron(7_000)).toBeUndefined()
    expect(
      problem('alerts: { evaluationInterval: 7s, receivers: [], routes: [], rules: [] }\n'),
    ).toMatch(/alerts\.evaluationInterval 7s does not divide/)
  })
})
