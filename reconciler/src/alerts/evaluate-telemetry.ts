// The kinds that watch telemetry: error rate and latency of entry calls (as the services
// page measures them), breakers open or half-open (Resilience4j's state gauge, as the
// breakers page reads it) and instances whose heartbeat stopped (the health page's).
import type { AlertRule } from './rules.js'
import {
  formatMs,
  formatSeconds,
  rows,
  uiLink,
  windowParams,
  type EvalContext,
  type Evaluation,
} from './sample.js'

const IN_WINDOW = `timestamp >= fromUnixTimestamp64Nano({from:Int64}, 'UTC')
  AND timestamp <= fromUnixTimestamp64Nano({to:Int64}, 'UTC')`
/** A service's entry calls: what its callers see (the services page counts the same). */
const ENTRY = `(span_kind IN ('Server', 'Consumer') OR parent_span_id = '')`

interface RedRow {
  service: string
  operation: string
  calls: string
  errors: string
  q: number
}

/** Calls, errors and a duration quantile per service (or operation) over the window. */
function red(rule: AlertRule, ctx: EvalContext, quantile: number): Promise<RedRow[]> {
  const perOperation = rule.by === 'operation'
  const params = {
    ...windowParams(ctx, rule.windowMs),
    service: rule.service ?? '',
    operation: rule.operation ?? '',
    minCalls: rule.minCalls,
    quantile,
  }
  // Per service, its entry calls; per operation, every span of that name (as the
  // service's operations page lists them).
  return rows<RedRow>(
    ctx,
    `SELECT service_name AS service, ${perOperation ? 'span_name' : "''"} AS operation,
       count() AS calls, countIf(status_code = 'Error') AS errors,
       quantile({quantile:Float64})(duration_ns) AS q
     FROM ${ctx.storage.database}.spans
     WHERE ${IN_WINDOW} ${perOperation ? '' : `AND ${ENTRY}`}
       AND ({service:String} = '' OR service_name = {service:String})
       AND ({operation:String} = '' OR span_name = {operation:String})
     GROUP BY service, operation HAVING calls >= {minCalls:UInt64}
     ORDER BY service, operation LIMIT 10000`,
    params,
  )
}

const labelsOf = (r: RedRow): Record<string, string> =>
  r.operation ? { service: r.service, operation: r.operation } : { service: r.service }

export async function evaluateErrorRate(rule: AlertRule, ctx: EvalContext): Promise<Evaluation> {
  const found = await red(rule, ctx, 0.5)
  const above = rule.above ?? 0.05
  const { from, to } = windowParams(ctx, rule.windowMs)
  const samples = found
    .map((r) => ({ r, rate: Number(r.errors) / Number(r.calls) }))
    .filter(({ rate }) => rate > above)
    .map(({ r, rate }) => ({
      labels: labelsOf(r),
      value: rate,
      display: `${(rate * 100).toFixed(1)}%`,
      links: [
        uiLink(
          ctx,
          '/traces',
          { service: r.service, operation: r.operation, status: 'error', from, to },
          'Failing traces',
        ),
      ],
    }))
  return { samples, judged: found.length }
}

const QUANTILE = { p50: 0.5, p95: 0.95, p99: 0.99 } as const

export async function evaluateLatency(rule: AlertRule, ctx: EvalContext): Promise<Evaluation> {
  const found = await red(rule, ctx, QUANTILE[rule.quantile])
  const aboveMs = rule.above ?? 1000
  const { from, to } = windowParams(ctx, rule.windowMs)
  const samples = found
    .map((r) => ({ r, ms: r.q / 1e6 }))
    .filter(({ ms }) => ms > aboveMs)
    .map(({ r, ms }) => ({
      labels: labelsOf(r),
      value: ms,
      display: formatMs(ms),
      links: [
        uiLink(
          ctx,
          '/traces',
          {
            service: r.service,
            operation: r.operation,
            minDuration: `${Math.floor(aboveMs)}ms`,
            from,
            to,
          },
          'Slow traces',
        ),
      ],
    }))
  return { samples, judged: found.length }
}

const STATE_METRICS = ['resilience4j_circuitbreaker_state', 'resilience4j.circuitbreaker.state']
/** The states in which a breaker refuses (some) calls. */
const OPEN_STATES = ['OPEN', 'HALF_OPEN', 'FORCED_OPEN']

export async function evaluateBreakers(rule: AlertRule, ctx: EvalContext): Promise<Evaluation> {
  const { service, name, instance } = rule.breaker
  // A breaker's state is the state series whose latest value is 1; of several, the one
  // reported last. One breaker is one label set whatever state it passes through.
  const found = await rows<{ service: string; instance: string; breaker: string; state: string }>(
    ctx,
    `SELECT service, instance, breaker, argMax(state, seen) AS state FROM (
       SELECT service_name AS service, resource_attributes['service.instance.id'] AS instance,
         attributes['name'] AS breaker, upper(attributes['state']) AS state,
         argMax(value, timestamp) AS v, max(timestamp) AS seen
       FROM ${ctx.storage.database}.metric_points
       WHERE metric_name IN {names:Array(String)} AND ${IN_WINDOW}
         AND ({service:String} = '' OR service_name = {service:String})
         AND ({name:String} = '' OR attributes['name'] = {name:String})
         AND ({instance:String} = '' OR resource_attributes['service.instance.id'] = {instance:String})
       GROUP BY service, instance, breaker, state)
     WHERE v = 1 GROUP BY service, instance, breaker
     ORDER BY service, breaker, instance LIMIT 10000`,
    {
      ...windowParams(ctx, rule.windowMs),
      names: STATE_METRICS,
      service: service ?? '',
      name: name ?? '',
      instance: instance ?? '',
    },
  )
  const samples = found
    .filter((b) => OPEN_STATES.includes(b.state))
    .map((b) => ({
      labels: { service: b.service, instance: b.instance, breaker: b.breaker },
      value: b.state === 'HALF_OPEN' ? 0.5 : 1,
      display: b.state,
      links: [
        uiLink(
          ctx,
          '/breakers',
          { service: b.service, name: b.breaker, instance: b.instance },
          'Breaker timeline',
        ),
      ],
    }))
  return { samples, judged: found.length }
}

export async function evaluateHeartbeats(rule: AlertRule, ctx: EvalContext): Promise<Evaluation> {
  const found = await rows<{ service: string; instance: string; last: string }>(
    ctx,
    `SELECT service_name AS service, resource_attributes['service.instance.id'] AS instance,
       toString(toUnixTimestamp64Nano(max(timestamp))) AS last
     FROM ${ctx.storage.database}.metric_points
     WHERE metric_name = 'reckon.health.up' AND ${IN_WINDOW}
       AND ({service:String} = '' OR service_name = {service:String})
     GROUP BY service, instance ORDER BY service, instance LIMIT 10000`,
    { ...windowParams(ctx, rule.lookbackMs), service: rule.service ?? '' },
  )
  const samples = found
    .map((i) => ({ i, silent: Number(ctx.nowNs - BigInt(i.last)) / 1e9 }))
    .filter(({ silent }) => silent * 1000 > rule.silentForMs)
    .map(({ i, silent }) => ({
      labels: { service: i.service, instance: i.instance },
      value: silent,
      display: formatSeconds(silent),
      links: [
        uiLink(ctx, '/health', { service: i.service, instance: i.instance }, 'Instance health'),
      ],
    }))
  return { samples, judged: found.length }
}
