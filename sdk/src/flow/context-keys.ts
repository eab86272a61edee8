import { createContextKey } from '@opentelemetry/api'

/** The retry attempt a piece of work belongs to (set from the second attempt on). */
export const ATTEMPT_KEY = createContextKey('reckon.retry.attempt')
