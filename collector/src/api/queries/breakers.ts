import type { Storage } from '../../storage/client.js'
import { Filter, nanos, select, type Window } from '../db.js'
import { oncePerEvent } from './one-per-event.js'

/** Resilience4j's breaker metrics, in Prometheus spelling (without `_total`). */
const BREAKER_METRICS = [
  'resilience4j_circuitbreaker_state',
  'resilience4j_circuitbreaker_failure_rate',
  'resilience4j_circuitbreaker_slow_call_rate',
  'resilience4j_circuitbreaker_calls',
  'resilience4j_circuitbreaker_buffered_calls',
  'resilience4j_circuitbreaker_not_permitted_calls',
  'resilience4j_circuitbreaker_slow_calls',
] as const

/**
 * Every spelling a service may send: Micrometer/OTel dots (`resilience4j.circuitbreaker.state`,
 * what @reckon/sdk sends too) or Prometheus underscores, counters with or without `_total`.
 */
const SPELLINGS = BREAKER_METRICS.flatMap((m) => [m, `${m}_total`, m.replaceAll('_', '.')])

/** `resilience4j.circuitbreaker.calls_total` → `resilience4j_circuitbreaker_calls`. */
const canonical = (metric: string): string => metric.replaceAll('.', '_').replace(/_total$/, '')

/** Names of the business event that records a breaker's state change. */
export const TRANSITION_EVENT = 'breaker.transition'

export interface BreakerView {
  service: string
  instance: string
  name: string
  /** Resilience4j's state name: CLOSED, OPEN, HALF_OPEN, FORCED_OPEN, DISABLED, METRICS_ONLY. */
  state: string
  /** Percent of failed calls in the window; null until the minimum number of calls. */
  failureRate: number | null
  slowCallRate: number | null
  /** Totals since the instance started, by outcome. */
  calls: { successful: number; failed: number; ignored: number; slow: number; notPermitted: number }
  /** Calls in the sliding window now. */
  bufferedCalls: { successful: number; failed: number }
  lastSeenUnixNano: string
  lastTransitionUnixNano: string | null
  /** The latest value of each Resilience4j series, keyed as in Prometheus. */
  metrics: Record<string, number>
}

interface MetricRow {
  service: string
  instance: string
  metric: string
  breaker: string
  state: string
  outcome: string
  v: number
  seen: string
}

/** Current state of every breaker that reported in the window, per service and instance. */
export async function listBreakers(
  storage: Storage,
  f: { service?: string | undefined; window: Window; transitionsSince: string },
  timeout: number,
): Promise<BreakerView[]> {
  const states = new Filter(f.window)
    .when('metric_name IN {names:Array(String)}', { names: SPELLINGS })
    .equals('service_name', 'service', f.service)
  const changes = new Filter({ from: f.transitionsSince, to: f.window.to })
    .and("entity = 'circuit_breaker'")
    .when('event_name = {event:String}', { event: TRANSITION_EVENT })
    .equals('service_name', 'service', f.service)
  const db = storage.database
  const [rows, transitions] = await Promise.all([
    select<MetricRow>(
      storage,
      `SELECT service_name AS service, resource_attributes['service.instance.id'] AS instance,
         metric_name AS metric, attributes['name'] AS breaker, attributes['state'] AS state,
         attributes['kind'] AS outcome,
         argMax(if(kind IN ('histogram', 'exponential_histogram', 'summary'), toFloat64(count), value), timestamp) AS v,
         ${nanos('max(timestamp)')} AS seen
       FROM ${db}.metric_points WHERE ${states.sql}
       GROUP BY service, instance, metric, breaker, state, outcome
       LIMIT 100000`,
      states.params,
      timeout,
    ),
    select<{ service: string; instance: string; breaker: string; last: string }>(
      storage,
      `SELECT service_name AS service, resource_attributes['service.instance.id'] AS instance,
         entity_key AS breaker, ${nanos('max(timestamp)')} AS last
       FROM ${db}.business_events
       WHERE ${changes.sql}
       GROUP BY service, instance, breaker LIMIT 100000`,
      changes.params,
      timeout,
    ),
  ])
  const lastTransition = new Map(
    transitions.map((t) => [`${t.service}\0${t.instance}\0${t.breaker}`, t.last]),
  )
  const breakers = new Map<string, BreakerView>()
  for (const r of rows) {
    const key = `${r.service}\0${r.instance}\0${r.breaker}`
    let b = breakers.get(key)
    if (!b) {
      b = {
        service: r.service,
        instance: r.instance,
        name: r.breaker,
        state: 'UNKNOWN',
        failureRate: null,
        slowCallRate: null,
        calls: { successful: 0, failed: 0, ignored: 0, slow: 0, notPermitted: 0 },
        bufferedCalls: { successful: 0, failed: 0 },
        lastSeenUnixNano: r.seen,
        lastTransitionUnixNano: lastTransition.get(key) ?? null,
        metrics: {},
      }
      breakers.set(key, b)
    }
    if (BigInt(r.seen) > BigInt(b.lastSeenUnixNano)) b.lastSeenUnixNano = r.seen
    apply(b, canonical(r.metric), r)
  }
  return [...breakers.values()].sort(
    (a, b) =>
      a.service.localeCompare(b.service) ||
      a.name.localeCompare(b.name) ||
      a.instance.localeCompare(b.instance),
  )
}

function apply(b: BreakerView, metric: string, r: MetricRow): void {
  const label = r.state ? `{state="${r.state}"}` : r.outcome ? `{kind="${r.outcome}"}` : ''
  b.metrics[`${metric}${label}`] = r.v
  const rate = (v: number): number | null => (v < 0 ? null : v)
  switch (metric) {
    case 'resilience4j_circuitbreaker_state':
      if (r.v === 1) b.state = r.state.toUpperCase()
      break
    case 'resilience4j_circuitbreaker_failure_rate':
      b.failureRate = rate(r.v)
      break
    case 'resilience4j_circuitbreaker_slow_call_rate':
      b.slowCallRate = rate(r.v)
      break
    case 'resilience4j_circuitbreaker_not_permitted_calls':
      b.calls.notPermitted = r.v
      break
    case 'resilience4j_circuitbreaker_calls':
      if (r.outcome === 'successful' || r.outcome === 'failed' || r.outcome === 'ignored') {
        b.calls[r.outcome] = r.v
      } else if (r.outcome === 'slow') b.calls.slow = r.v
      else if (r.outcome === 'not_permitted') b.calls.notPermitted = r.v
      break
    case 'resilience4j_circuitbreaker_buffered_calls':
      if (r.outcome === 'successful' || r.outcome === 'failed') b.bufferedCalls[r.outcome] = r.v
      break
  }
}

export interface TransitionView {
  timeUnixNano: string
  service: string
  instance: string
  breaker: string
  from: string
  to: string
  /** The trace whose call caused the change, when there was one. */
  causeTraceId: string
}

/** Breaker state changes, oldest first: the timeline. */
export async function findTransitions(
  storage: Storage,
  f: { service?: string | undefined; name?: string | undefined; window: Window; limit: number },
  timeout: number,
): Promise<TransitionView[]> {
  const filter = new Filter(f.window, 'timestamp', { limit: f.limit })
    .and("entity = 'circuit_breaker'")
    .when('event_name = {event:String}', { event: TRANSITION_EVENT })
    .equals('service_name', 'service', f.service)
    .equals('entity_key', 'name', f.name)
  const rows = await oncePerEvent(f.limit, (tail, more) =>
    select<{
      system: string
      event_id: string
      ts: string
      service: string
      instance: string
      breaker: string
      from: string
      to: string
      cause: string
    }>(
      storage,
      `SELECT system, event_id, ${nanos('timestamp')} AS ts, service_name AS service,
       resource_attributes['service.instance.id'] AS instance, entity_key AS breaker,
       attributes['circuitbreaker.state.from'] AS from, status AS to,
       attributes['reckon.cause.trace_id'] AS cause
     FROM ${storage.database}.business_events WHERE ${filter.sql}
     ${tail}`,
      { ...filter.params, ...more },
      timeout,
    ),
  )
  return rows.map((r) => ({
    timeUnixNano: r.ts,
    service: r.service,
    instance: r.instance,
    breaker: r.breaker,
    from: r.from,
    to: r.to,
    causeTraceId: r.cause,
  }))
}
