// @reckon/sdk — explicit exports only, so the public surface is what is listed here.
export { systemClock, sleep } from './clock.js'
export type { Clock, TimerHandle } from './clock.js'
export {
  ClockMovedBackwardsError,
  defaultWorkerId,
  FLOW_EPOCH_MS,
  FlowIdGenerator,
  MAX_WORKER,
  parseFlowId,
} from './flow/flow-id.js'
export type { FlowIdOptions, FlowIdParts } from './flow/flow-id.js'
export { BREAKER_STATES, CircuitBreaker } from './resilience/circuit-breaker.js'
export type {
  BreakerMetrics,
  BreakerOptions,
  BreakerPermit,
  BreakerState,
  StateTransition,
} from './resilience/circuit-breaker.js'
export {
  BreakerOpenError,
  BulkheadFullError,
  PolicyError,
  RateLimitedError,
  TimeoutError,
} from './resilience/errors.js'
export { isTransient, Retry, retryAfterOf, statusOf } from './resilience/retry.js'
export type { Jitter, RetryEvent, RetryOptions, RetryTotals } from './resilience/retry.js'
export { RetryBudget } from './resilience/retry-budget.js'
export { Timeout } from './resilience/timeout.js'
export type { TimeoutOptions } from './resilience/timeout.js'
export { Bulkhead } from './resilience/bulkhead.js'
export type { BulkheadMetrics, BulkheadOptions } from './resilience/bulkhead.js'
export { RateLimiter } from './resilience/rate-limiter.js'
export type { RateLimiterMetrics, RateLimiterOptions } from './resilience/rate-limiter.js'
export { Fallback, isDegradable } from './resilience/fallback.js'
export type { FallbackOptions } from './resilience/fallback.js'
export { Pipeline, policy } from './resilience/policy.js'
export type {
  CallContext,
  ExecuteOptions,
  Execution,
  FallbackOf,
  Next,
  Policy,
  PolicyKind,
} from './resilience/policy.js'
export { init } from './init.js'
export type { Reckon, ReckonOptions } from './init.js'
export { currentFlowId, FLOW_ID_KEY, newFlowId, startFlow, withFlow } from './flow/flow.js'
export { extract, inject, withExtracted } from './flow/carrier.js'
export type { Carrier } from './flow/carrier.js'
export { FlowLogProcessor, FlowSpanProcessor } from './flow/processors.js'
export { checkEvent, EVENT_ATTRIBUTES, recordEvent } from './events/record-event.js'
export type { BusinessEventInput } from './events/record-event.js'
export {
  BREAKER_TRANSITION_EVENT,
  POLICY_METRICS,
  reportPolicyMetrics,
} from './telemetry/policy-metrics.js'
export { HEALTH_METRICS, reportHealth } from './health/health-metrics.js'
export { isOn, SwitchClient, useSwitchClient } from './switches/switches.js'
export type { Switch, SwitchClientOptions } from './switches/switches.js'
