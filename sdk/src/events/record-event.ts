import { randomUUID } from 'node:crypto'
import { context, diag, type AttributeValue } from '@opentelemetry/api'
import { logs, SeverityNumber } from '@opentelemetry/api-logs'
import { currentFlowId, FLOW_ID_KEY } from '../flow/flow.js'

// The attribute mapping the collector stores as a business event (see the collector's
// otlp/semconv.ts): `event.name` plus these `reckon.*` attributes.
export const EVENT_ATTRIBUTES = {
  entity: 'reckon.entity',
  key: 'reckon.entity.key',
  status: 'reckon.status',
  amount: 'reckon.amount',
  currency: 'reckon.currency',
  system: 'reckon.system',
  id: 'reckon.event.id',
} as const

export interface BusinessEventInput {
  /** What happened, e.g. `order.created`, `payment.captured`. */
  type: string
  /** Kind of record, e.g. `order`. */
  entity: string
  /** Business key, e.g. the order number. */
  key: string
  /** The record's status in this system after the event, e.g. `paid`. */
  status?: string
  /** Money as an exact decimal string (`"12.50"`), never a float. */
  amount?: string
  /** ISO 4217 code; required with an amount. */
  currency?: string
  /** The system of record; default: the service name. */
  system?: string
  /**
   * Unique within the system, so a copy (an exporter's retry) is counted once. Default: a
   * random UUID per call; pass a deterministic one (e.g. `capture-${paymentId}`) when the
   * same fact may be recorded again, by a replayed job or another instance.
   */
  id?: string
  attributes?: Record<string, AttributeValue>
}

const DECIMAL = /^-?\d{1,29}(\.\d{1,9})?$/
const CURRENCY = /^[A-Z]{3}$/
const NAME = /^[\w.:/-]{1,200}$/

/** What is wrong with an event, or undefined when the collector will accept it. */
export function checkEvent(e: BusinessEventInput): string | undefined {
  if (!NAME.test(e.type))
    return `type must be 1-200 letters, digits or . _ : / - (got ${JSON.stringify(e.type)})`
  if (!NAME.test(e.entity))
    return `entity must be 1-200 letters, digits or . _ : / - (got ${JSON.stringify(e.entity)})`
  if (typeof e.key !== 'string' || e.key === '' || e.key.length > 500)
    return 'key is required (at most 500 characters)'
  if (e.id !== undefined && (typeof e.id !== 'string' || e.id === '' || e.id.length > 256))
    return 'id must be a string of 1-256 characters'
  if (e.amount !== undefined) {
    if (typeof e.amount !== 'string' || !DECIMAL.test(e.amount)) {
      return `amount must be an exact decimal string with at most 9 decimal places, like "12.50" (got ${JSON.stringify(e.amount)})`
    }
    if (e.currency === undefined || !CURRENCY.test(e.currency)) {
      return `currency must be an ISO 4217 code like "EUR" when amount is given (got ${JSON.stringify(e.currency)})`
    }
  }
  return undefined
}

let rejectedEvents = 0

/** Events refused by `recordEvent` since start (invalid input); exported as a metric. */
export function rejectedEventCount(): number {
  return rejectedEvents
}

/**
 * Records a business event as an OTel log record in the current trace, span and flow.
 * Never throws: an invalid event is reported through `diag` and counted, and `false` is
 * returned so a caller that cares can tell.
 */
export function recordEvent(event: BusinessEventInput): boolean {
  try {
    const problem = checkEvent(event)
    if (problem !== undefined) {
      rejectedEvents++
      diag.error(`reckon: business event ${event.type} ${event.key} not recorded: ${problem}`)
      return false
    }
    const ctx = context.active()
    const attributes: Record<string, AttributeValue> = {
      ...event.attributes,
      'event.name': event.type,
      [EVENT_ATTRIBUTES.id]: event.id ?? randomUUID(),
      [EVENT_ATTRIBUTES.entity]: event.entity,
      [EVENT_ATTRIBUTES.key]: event.key,
    }
    if (event.status !== undefined) attributes[EVENT_ATTRIBUTES.status] = event.status
    if (event.amount !== undefined) attributes[EVENT_ATTRIBUTES.amount] = event.amount
    if (event.currency !== undefined) attributes[EVENT_ATTRIBUTES.currency] = event.currency
    if (event.system !== undefined) attributes[EVENT_ATTRIBUTES.system] = event.system
    const flowId = currentFlowId(ctx)
    if (flowId !== undefined) attributes[FLOW_ID_KEY] = flowId
    logs.getLogger('@reckon/sdk').emit({
      eventName: event.type,
      severityNumber: SeverityNumber.INFO,
      severityText: 'INFO',
      body: `${event.type} ${event.entity} ${event.key}`,
      attributes,
      context: ctx,
    })
    return true
  } catch (err) {
    rejectedEvents++
    diag.error(`reckon: business event not recorded: ${String(err)}`)
    return false
  }
}
