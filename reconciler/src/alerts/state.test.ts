// The state machine alone, on a clock of its own: for, keepFiringFor, flapping, failures
// and no data.
import { describe, expect, it } from 'vitest'
import type { AlertRuleConfig } from './config.js'
import { resolveAlertRules, type AlertRule } from './rules.js'
import type { Evaluation } from './sample.js'
import { advanceRule, fingerprint, retire, type AlertInstance, type Outcome } from './state.js'

function rule(over: Partial<AlertRuleConfig> = {}): AlertRule {
  return resolveAlertRules({
    alerts: {
      defaultRules: false,
      receivers: [],
      routes: [],
      rules: [
        {
          name: 'breaker',
          kind: 'breaker_open',
          for: '30s',
          keepFiringFor: '1m',
          labels: { severity: 'critical' },
          annotations: { summary: 'Breaker {{labels.breaker}} of {{labels.service}} is {{value}}' },
          ...over,
        },
      ],
    },
  })[0]!
}

const OPEN: Evaluation = {
  judged: 1,
  samples: [
    {
      labels: { service: 'order', instance: 'o-1', breaker: 'payment' },
      value: 1,
      display: 'OPEN',
      links: [{ href: 'http://ui/breakers', text: 'timeline' }],
    },
  ],
}
const CLOSED: Evaluation = { judged: 1, samples: [] }
const EMPTY: Evaluation = { judged: 0, samples: [] }

/** Evaluates `outcomes` 15 s apart from t = 0; the state names after each. */
function run(r: AlertRule, outcomes: Outcome[], start: AlertInstance[] = []) {
  let alerts = start
  const states: string[] = []
  outcomes.forEach((o, i) => {
    alerts = advanceRule(r, alerts, o, i * 15_000)
    states.push(alerts.map((a) => `${a.labels.alertname}:${a.state}`).join(',') || 'inactive')
  })
  return { states, alerts }
}

const ok = (evaluation: Evaluation): Outcome => ({ evaluation })

describe('one rule and label set', () => {
  it('pends for `for`, counted from the first evaluation that saw it, then fires', () => {
    const { states, alerts } = run(rule(), [ok(OPEN), ok(OPEN), ok(OPEN), ok(OPEN)])
    expect(states).toEqual([
      'breaker:pending',
      'breaker:pending',
      'breaker:firing',
      'breaker:firing',
    ])
    const [a] = alerts
    expect(a).toMatchObject({ activeAtMs: 0, firedAtMs: 30_000, lastSeenAtMs: 45_000 })
    expect(a!.labels).toEqual({
      service: 'order',
      instance: 'o-1',
      breaker: 'payment',
      severity: 'critical',
      alertname: 'breaker',
    })
    expect(a!.annotations.summary).toBe('Breaker payment of order is OPEN')
    expect(a!.fingerprint).toBe(fingerprint(a!.labels))
  })

  it('fires nothing for a signal flapping inside `for`', () => {
    const { states } = run(rule(), [ok(OPEN), ok(OPEN), ok(CLOSED), ok(OPEN), ok(OPEN), ok(CLOSED)])
    expect(states).not.toContain('breaker:firing')
    expect(states.filter((s) => s === 'inactive')).toHaveLength(2)
  })

  it('does not resolve a flapping signal inside keepFiringFor; resolves once clear that long', () => {
    const flapping = [ok(OPEN), ok(OPEN), ok(OPEN), ok(CLOSED), ok(OPEN), ok(CLOSED), ok(CLOSED)]
    const clear = [ok(CLOSED), ok(CLOSED), ok(CLOSED)]
    const { states, alerts } = run(rule(), [...flapping, ...clear])
    expect(states.slice(2, 8)).toEqual(Array(6).fill('breaker:firing'))
    expect(states[8]).toBe('breaker:resolved')
    // Last seen at t = 60 s; its end is the evaluation a minute later that found it clear.
    expect(alerts[0]).toMatchObject({ lastSeenAtMs: 60_000, resolvedAtMs: 120_000 })
  })

  it('resolves on the first clear evaluation without keepFiringFor, and starts anew after', () => {
    const r = rule({ for: '0s', keepFiringFor: '0s' })
    const { states, alerts } = run(r, [ok(OPEN), ok(CLOSED), ok(CLOSED), ok(OPEN)])
    expect(states).toEqual([
      'breaker:firing',
      'breaker:resolved',
      'breaker:resolved',
      'breaker:firing',
    ])
    expect(alerts[0]).toMatchObject({ activeAtMs: 45_000, resolvedAtMs: null })
  })
})

describe('failures and no data', () => {
  it('keeps a firing alert through a failing evaluation and raises an error alert', () => {
    const failing: Outcome = { error: 'Code: 60. Table spans does not exist' }
    const { states, alerts } = run(rule({ for: '0s', keepFiringFor: '0s' }), [
      ok(OPEN),
      failing,
      failing,
      ok(CLOSED),
    ])
    expect(states).toEqual([
      'breaker:firing',
      'breaker:firing,ReckonRuleFailing:error',
      'breaker:firing,ReckonRuleFailing:error',
      'ReckonRuleFailing:resolved,breaker:resolved',
    ])
    const error = alerts.find((a) => a.labels.alertname === 'ReckonRuleFailing')!
    expect(error.labels).toEqual({
      severity: 'critical',
      alertname: 'ReckonRuleFailing',
      rule: 'breaker',
    })
    expect(error.annotations.description).toBe('Code: 60. Table spans does not exist')
  })

  it('only keeps states with onError: keep', () => {
    const { states } = run(rule({ for: '0s', onError: 'keep' }), [ok(OPEN), { error: 'x' }])
    expect(states).toEqual(['breaker:firing', 'breaker:firing'])
  })

  it('resolves when nothing is judged by default; raises nodata and keeps states when asked', () => {
    expect(run(rule({ for: '0s', keepFiringFor: '0s' }), [ok(OPEN), ok(EMPTY)]).states).toEqual([
      'breaker:firing',
      'breaker:resolved',
    ])
    expect(
      run(rule({ for: '0s', keepFiringFor: '0s', noData: 'nodata' }), [
        ok(OPEN),
        ok(EMPTY),
        ok(CLOSED),
      ]).states,
    ).toEqual([
      'breaker:firing',
      'breaker:firing,ReckonNoData:nodata',
      'ReckonNoData:resolved,breaker:resolved',
    ])
  })

  it('resolves the alerts of a rule that no longer runs, and forgets pending ones', () => {
    const { alerts } = run(rule({ for: '0s', keepFiringFor: '0s' }), [ok(OPEN)])
    const pending = run(rule(), [ok(OPEN)]).alerts
    expect(retire([...alerts, ...pending], 99).map((a) => [a.state, a.resolvedAtMs])).toEqual([
      ['resolved', 99],
    ])
  })
})
