import { diag, ROOT_CONTEXT, trace, context, type Attributes, type Meter } from '@opentelemetry/api'
import { logs, SeverityNumber } from '@opentelemetry/api-logs'
import { EVENT_ATTRIBUTES } from '../events/record-event.js'
import { Bulkhead } from '../resilience/bulkhead.js'
import {
  BREAKER_STATES,
  CircuitBreaker,
  type StateTransition,
} from '../resilience/circuit-breaker.js'
import { Fallback } from '../resilience/fallback.js'
import { RateLimiter } from '../resilience/rate-limiter.js'
import { registeredPolicies, watchPolicies } from '../resilience/registry.js'
import { Retry } from '../resilience/retry.js'
import { Timeout } from '../resilience/timeout.js'

/**
 * Metric names follow Micrometer's export of Resilience4j (`resilience4j.circuitbreaker.state`
 * becomes `resilience4j_circuitbreaker_state` in Prometheus), so Node and Java services
 * read alike. Figures Resilience4j has no name for are under `reckon.*`.
 */
export const POLICY_METRICS = {
  breakerState: 'resilience4j.circuitbreaker.state',
  breakerCalls: 'resilience4j.circuitbreaker.calls',
  breakerFailureRate: 'resilience4j.circuitbreaker.failure.rate',
  breakerSlowCallRate: 'resilience4j.circuitbreaker.slow.call.rate',
  breakerBufferedCalls: 'resilience4j.circuitbreaker.buffered.calls',
  breakerNotPermitted: 'resilience4j.circuitbreaker.not.permitted.calls',
  retryCalls: 'resilience4j.retry.calls',
  bulkheadAvailable: 'resilience4j.bulkhead.available.concurrent.calls',
  bulkheadMax: 'resilience4j.bulkhead.max.allowed.concurrent.calls',
  bulkheadQueued: 'reckon.bulkhead.queued.calls',
  bulkheadRejected: 'reckon.bulkhead.rejected.calls',
  limiterAvailable: 'resilience4j.ratelimiter.available.permissions',
  limiterWaiting: 'resilience4j.ratelimiter.waiting_threads',
  limiterRejected: 'reckon.ratelimiter.rejected.calls',
  timeouts: 'reckon.timeout.calls',
  fallbacks: 'reckon.fallback.calls',
} as const

/** The business-event name of a breaker state change. */
export const BREAKER_TRANSITION_EVENT = 'breaker.transition'

/**
 * Reports every registered policy through `meter`. All instruments are observable: the hot
 * path only bumps plain counters inside the policies, and the figures are read at export.
 */
export function reportPolicyMetrics(meter: Meter): () => void {
  const gauge = (name: string, description: string, unit = '1') =>
    meter.createObservableGauge(name, { description, unit })
  const counter = (name: string, description: string) =>
    meter.createObservableCounter(name, { description, unit: '1' })
  const i = {
    state: gauge(
      POLICY_METRICS.breakerState,
      'Breaker state: 1 for the current state, 0 for the others',
    ),
    calls: counter(POLICY_METRICS.breakerCalls, 'Calls through the breaker by outcome'),
    failureRate: gauge(
      POLICY_METRICS.breakerFailureRate,
      'Failure rate in the window (-1 below minimum calls)',
      '%',
    ),
    slowRate: gauge(
      POLICY_METRICS.breakerSlowCallRate,
      'Slow-call rate in the window (-1 below minimum calls)',
      '%',
    ),
    buffered: gauge(POLICY_METRICS.breakerBufferedCalls, 'Calls in the sliding window by outcome'),
    notPermitted: counter(POLICY_METRICS.breakerNotPermitted, 'Calls the breaker refused'),
    retryCalls: counter(POLICY_METRICS.retryCalls, 'Calls through the retry by outcome'),
    bulkheadAvailable: gauge(POLICY_METRICS.bulkheadAvailable, 'Free bulkhead slots'),
    bulkheadMax: gauge(POLICY_METRICS.bulkheadMax, 'Bulkhead size'),
    bulkheadQueued: gauge(POLICY_METRICS.bulkheadQueued, 'Calls waiting for a bulkhead slot'),
    bulkheadRejected: counter(POLICY_METRICS.bulkheadRejected, 'Calls the bulkhead refused'),
    limiterAvailable: gauge(POLICY_METRICS.limiterAvailable, 'Permits available now'),
    limiterWaiting: gauge(POLICY_METRICS.limiterWaiting, 'Calls waiting for a permit'),
    limiterRejected: counter(POLICY_METRICS.limiterRejected, 'Calls the rate limiter refused'),
    timeouts: counter(POLICY_METRICS.timeouts, 'Calls cut off by a timeout'),
    fallbacks: counter(POLICY_METRICS.fallbacks, 'Calls answered by a fallback'),
  }
  const callback: Parameters<Meter['addBatchObservableCallback']>[0] = (r) => {
    for (const p of registeredPolicies()) {
      const name = { name: p.name }
      if (p instanceof CircuitBreaker) {
        const m = p.metrics()
        for (const s of BREAKER_STATES) {
          r.observe(i.state, s === m.state ? 1 : 0, { name: p.name, state: s.toLowerCase() })
        }
        r.observe(i.calls, m.totals.successful, { name: p.name, kind: 'successful' })
        r.observe(i.calls, m.totals.failed, { name: p.name, kind: 'failed' })
        r.observe(i.calls, m.totals.ignored, { name: p.name, kind: 'ignored' })
        r.observe(i.calls, m.totals.slow, { name: p.name, kind: 'slow' })
        r.observe(i.notPermitted, m.notPermittedCalls, name)
        r.observe(i.failureRate, m.failureRate, name)
        r.observe(i.slowRate, m.slowCallRate, name)
        r.observe(i.buffered, m.calls - m.failedCalls, { name: p.name, kind: 'successful' })
        r.observe(i.buffered, m.failedCalls, { name: p.name, kind: 'failed' })
      } else if (p instanceof Retry) {
        const m = p.metrics()
        r.observe(i.retryCalls, m.successfulWithoutRetry, {
          name: p.name,
          kind: 'successful_without_retry',
        })
        r.observe(i.retryCalls, m.successfulWithRetry, {
          name: p.name,
          kind: 'successful_with_retry',
        })
        r.observe(i.retryCalls, m.failedWithoutRetry, {
          name: p.name,
          kind: 'failed_without_retry',
        })
        r.observe(i.retryCalls, m.failedWithRetry, { name: p.name, kind: 'failed_with_retry' })
      } else if (p instanceof Bulkhead) {
        const m = p.metrics()
        r.observe(i.bulkheadAvailable, m.availableConcurrent, name)
        r.observe(i.bulkheadMax, m.maxConcurrent, name)
        r.observe(i.bulkheadQueued, m.queued, name)
        r.observe(i.bulkheadRejected, m.rejected, name)
      } else if (p instanceof RateLimiter) {
        const m = p.metrics()
        r.observe(i.limiterAvailable, m.availablePermits, name)
        r.observe(i.limiterWaiting, m.waiting, name)
        r.observe(i.limiterRejected, m.rejected, name)
      } else if (p instanceof Timeout) {
        r.observe(i.timeouts, p.metrics().timeouts, name)
      } else if (p instanceof Fallback) {
        r.observe(i.fallbacks, p.metrics().used, name)
      }
    }
  }
  meter.addBatchObservableCallback(callback, Object.values(i))
  const unwatch = watchPolicies((p) => {
    if (p instanceof CircuitBreaker) p.onStateChange(recordTransition)
  })
  return () => {
    unwatch()
    meter.removeBatchObservableCallback(callback, Object.values(i))
  }
}

/**
 * A state change becomes a business event (entity `circuit_breaker`, key = breaker name,
 * status = new state) with its exact time, for the breaker timeline, and a span event on
 * the call that caused it. It is not part of that call's flow: it concerns every flow.
 */
function recordTransition(t: StateTransition): void {
  try {
    const span = trace.getSpan(context.active())
    const cause = span?.spanContext()
    const attributes: Attributes = {
      'event.name': BREAKER_TRANSITION_EVENT,
      [EVENT_ATTRIBUTES.entity]: 'circuit_breaker',
      [EVENT_ATTRIBUTES.key]: t.breaker,
      [EVENT_ATTRIBUTES.status]: t.to,
      'circuitbreaker.name': t.breaker,
      'circuitbreaker.state.from': t.from,
      'circuitbreaker.state.to': t.to,
    }
    if (cause && trace.isSpanContextValid(cause)) {
      attributes['reckon.cause.trace_id'] = cause.traceId
      attributes['reckon.cause.span_id'] = cause.spanId
    }
    logs.getLogger('@reckon/sdk').emit({
      eventName: BREAKER_TRANSITION_EVENT,
      timestamp: t.at,
      severityNumber: t.to === 'CLOSED' ? SeverityNumber.INFO : SeverityNumber.WARN,
      severityText: t.to === 'CLOSED' ? 'INFO' : 'WARN',
      body: `circuit breaker ${t.breaker}: ${t.from} → ${t.to}`,
      attributes,
      context: ROOT_CONTEXT,
    })
    span?.addEvent(
      'circuitbreaker.state_change',
      {
        'circuitbreaker.name': t.breaker,
        'circuitbreaker.state.from': t.from,
        'circuitbreaker.state.to': t.to,
      },
      t.at,
    )
  } catch (err) {
    diag.warn(`reckon: breaker transition not recorded: ${String(err)}`)
  }
}
