// Each kind against the real tables (embedded ClickHouse): what fires, with which labels,
// value and link, and what counts as no data.
import type { Storage } from '@reckon/collector/storage'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  dropStorage,
  HOUR_NS,
  insertEvents,
  MINUTE_NS,
  nanosAgo,
  testStorage,
} from '../testing/harness.js'
import { EVENTS, ruleOf, runToEnd } from '../testing/runs.js'
import { insertBreakerState, insertHeartbeat, insertSpans } from '../testing/telemetry.js'
import type { AlertRuleConfig } from './config.js'
import { decimalAbove } from './evaluate-books.js'
import { evaluateRule, type EvalContext } from './evaluate.js'
import { checkAlerts, resolveAlertRules, type AlertRule } from './rules.js'

let storage: Storage
beforeAll(async () => {
  storage = await testStorage()
})
afterAll(async () => {
  await dropStorage(storage)
})

const SECOND_NS = 1_000_000_000n

function alertRule(r: AlertRuleConfig): AlertRule {
  const config = { alerts: { defaultRules: false, receivers: [], routes: [], rules: [r] } }
  const problems = checkAlerts(config)
  if (problems.length > 0) throw new Error(problems.map((p) => p.message).join('; '))
  return resolveAlertRules(config)[0]!
}

const ctx = (): EvalContext => ({
  storage,
  nowNs: nanosAgo(),
  externalUrl: 'http://reckon.test',
  timeoutSeconds: 10,
})

describe('error_rate and latency', () => {
  it('fires per service above the rate, not below the minimum of calls', async () => {
    const at = nanosAgo(MINUTE_NS)
    await insertSpans(storage, [
      ...Array.from({ length: 30 }, (_, i) => ({ service: 'er-bad', at, error: i < 6 })),
      ...Array.from({ length: 30 }, (_, i) => ({ service: 'er-good', at, error: i < 1 })),
      ...Array.from({ length: 5 }, () => ({ service: 'er-few', at, error: true })),
    ])
    const rule = alertRule({ name: 'er', kind: 'error_rate', above: 0.1, minCalls: 20 })
    const { samples, judged } = await evaluateRule(rule, ctx())
    const mine = samples.filter((s) => s.labels.service?.startsWith('er-'))
    expect(mine.map((s) => [s.labels, s.display])).toEqual([[{ service: 'er-bad' }, '20.0%']])
    expect(mine[0]!.links[0]!.href).toMatch(
      /^http:\/\/reckon\.test\/traces\?service=er-bad&status=error&from=\d+&to=\d+$/,
    )
    expect(judged).toBeGreaterThanOrEqual(2)
  })

  it('fires per operation of one service on its p99', async () => {
    const at = nanosAgo(MINUTE_NS)
    await insertSpans(storage, [
      ...Array.from({ length: 25 }, () => ({
        service: 'lat',
        name: 'GET /slow',
        at,
        durationMs: 3000,
      })),
      ...Array.from({ length: 25 }, () => ({
        service: 'lat',
        name: 'GET /fast',
        at,
        durationMs: 5,
      })),
    ])
    const rule = alertRule({
      name: 'lat',
      kind: 'latency',
      service: 'lat',
      by: 'operation',
      quantile: 'p99',
      above: 1000,
    })
    const { samples, judged } = await evaluateRule(rule, ctx())
    expect(judged).toBe(2)
    expect(samples.map((s) => [s.labels, s.display])).toEqual([
      [{ service: 'lat', operation: 'GET /slow' }, '3.0 s'],
    ])
  })

  it('judges nothing where no service sent calls: no data', async () => {
    const rule = alertRule({ name: 'none', kind: 'error_rate', service: 'nobody' })
    expect(await evaluateRule(rule, ctx())).toEqual({ samples: [], judged: 0 })
  })
})

describe('breaker_open', () => {
  it('is one alert per service, instance and breaker, whatever non-closed state', async () => {
    const now = nanosAgo()
    await insertBreakerState(storage, {
      service: 'order',
      instance: 'order-1',
      name: 'payment',
      state: 'CLOSED',
      at: now - 40n * SECOND_NS,
    })
    await insertBreakerState(storage, {
      service: 'order',
      instance: 'order-1',
      name: 'payment',
      state: 'HALF_OPEN',
      at: now - 10n * SECOND_NS,
    })
    await insertBreakerState(storage, {
      service: 'order',
      instance: 'order-2',
      name: 'payment',
      state: 'CLOSED',
      at: now - 10n * SECOND_NS,
    })
    const rule = alertRule({ name: 'b', kind: 'breaker_open', breaker: { service: 'order' } })
    const { samples, judged } = await evaluateRule(rule, ctx())
    expect(judged).toBe(2)
    expect(samples.map((s) => [s.labels, s.display])).toEqual([
      [{ service: 'order', instance: 'order-1', breaker: 'payment' }, 'HALF_OPEN'],
    ])
    expect(samples[0]!.links[0]!.href).toBe(
      'http://reckon.test/breakers?service=order&name=payment&instance=order-1',
    )
  })
})

describe('heartbeat_missing', () => {
  it('fires for an instance silent longer than silentFor', async () => {
    const now = nanosAgo()
    await insertHeartbeat(storage, { service: 'hb', instance: 'hb-1', at: now - 5n * MINUTE_NS })
    await insertHeartbeat(storage, { service: 'hb', instance: 'hb-2', at: now - 10n * SECOND_NS })
    const rule = alertRule({
      name: 'hb',
      kind: 'heartbeat_missing',
      service: 'hb',
      silentFor: '2m',
    })
    const { samples, judged } = await evaluateRule(rule, ctx())
    expect(judged).toBe(2)
    expect(samples.map((s) => s.labels)).toEqual([{ service: 'hb', instance: 'hb-1' }])
    expect(samples[0]!.display).toMatch(/^5m \d+s$/)
  })
})

describe('reconcile_breaks and compensation_escalated', () => {
  it('counts a run’s open findings and their amount per currency, linking to the run', async () => {
    const now = nanosAgo()
    const at = now - HOUR_NS
    await insertEvents(storage, [
      { system: 'shop', type: 'order.paid', key: 'o-1', amount: '120.00', at },
      { system: 'shop', type: 'order.paid', key: 'o-2', amount: '5.50', at },
      { system: 'psp', type: 'payment.captured', key: 'o-2', amount: '5.50', at },
    ])
    const rule = ruleOf(
      { left: 'orders', right: 'payments' },
      { orders: EVENTS('shop', 'order.paid'), payments: EVENTS('psp', 'payment.captured') },
    )
    const run = await runToEnd(storage, { rule, from: now - 2n * HOUR_NS, to: now, now })

    const count = alertRule({ name: 'rb', kind: 'reconcile_breaks', rule: 'test-rule' })
    const counted = await evaluateRule(count, ctx())
    expect(counted.samples.map((s) => [s.labels, s.display])).toEqual([
      [{ rule: 'test-rule', category: 'dropped' }, '1'],
    ])
    expect(counted.samples[0]!.links[0]!.href).toBe(
      `http://reckon.test/reconciliation/runs/${run.id}?category=dropped`,
    )

    const over = (limit: string) =>
      evaluateRule(
        alertRule({
          name: 'rb-amount',
          kind: 'reconcile_breaks',
          rule: 'test-rule',
          amountAbove: { EUR: limit },
        }),
        ctx(),
      )
    expect((await over('100')).samples.map((s) => [s.labels, s.display])).toEqual([
      [{ rule: 'test-rule', category: 'dropped', currency: 'EUR' }, '120 EUR'],
    ])
    expect((await over('120.00')).samples).toEqual([])

    const escalated = alertRule({ name: 'esc', kind: 'compensation_escalated', rule: 'test-rule' })
    expect(await evaluateRule(escalated, ctx())).toEqual({ samples: [], judged: 0 })
  })

  it('compares amounts exactly', () => {
    expect(decimalAbove('120.000000001', '120')).toBe(true)
    expect(decimalAbove('120.00', '120')).toBe(false)
    expect(decimalAbove('99.99', '100')).toBe(false)
    expect(decimalAbove('0100', '99.5')).toBe(true)
  })
})

describe('query', () => {
  it('gives a value per label set from a read-only query over the window', async () => {
    await insertSpans(storage, [
      { service: 'q-a', at: nanosAgo(MINUTE_NS) },
      { service: 'q-a', at: nanosAgo(MINUTE_NS) },
      { service: 'q-b', at: nanosAgo(MINUTE_NS) },
      { service: 'q-a', at: nanosAgo(HOUR_NS) },
    ])
    const rule = alertRule({
      name: 'q',
      kind: 'query',
      window: '10m',
      above: 1,
      query: `SELECT service_name AS service, count() AS value FROM {db:Identifier}.spans
        WHERE startsWith(service_name, 'q-')
          AND timestamp >= fromUnixTimestamp64Nano({from:Int64}, 'UTC')
          AND timestamp <= fromUnixTimestamp64Nano({to:Int64}, 'UTC')
        GROUP BY service -- a trailing comment`,
    })
    const { samples, judged } = await evaluateRule(rule, ctx())
    expect(judged).toBe(2)
    expect(samples.map((s) => [s.labels, s.value])).toEqual([[{ service: 'q-a' }, 2]])
  })

  it('runs read-only, refuses settings and files, and a result without a value', async () => {
    const readonly = alertRule({
      name: 'ro',
      kind: 'query',
      query: "SELECT getSetting('readonly') AS value",
    })
    expect((await evaluateRule(readonly, ctx())).samples[0]!.value).toBe(2)
    expect(() =>
      alertRule({ name: 'w', kind: 'query', query: 'SELECT 1 AS value SETTINGS readonly = 0' }),
    ).toThrow('may not change settings (SETTINGS)')
    expect(() =>
      alertRule({
        name: 'f',
        kind: 'query',
        query: "SELECT count() AS value FROM file('/etc/passwd')",
      }),
    ).toThrow('may not read outside the database (file(…))')
    const bad = alertRule({ name: 'nv', kind: 'query', query: 'SELECT 1 AS x' })
    await expect(evaluateRule(bad, ctx())).rejects.toThrow(/no `value` column/)
  })
})
