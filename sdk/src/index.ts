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
export type { Attempt, Jitter, RetryEvent, RetryOptions } from './resilience/retry.js'
export { RetryBudget } from './resilience/retry-budget.js'
