import { createHash } from 'node:crypto'
import currencies from 'currency-codes'
import type { Static } from 'typebox'
import type { BusinessEvent as BusinessEventView } from '../api/schemas.js'
import { InvalidField, type FlatAttributes } from './values.js'

/**
 * A business event as stored: one fact about one record in one system. Its fields are the
 * API's (`BusinessEvent` in api/schemas.ts, which documents each), with the times as stored
 * and the attributes flat; `amount` is the exact decimal text as sent, or null.
 */
export type BusinessEvent = Omit<
  Static<typeof BusinessEventView>,
  'timeUnixNano' | 'attributes' | 'resource'
> & {
  /** Nanoseconds since the epoch, as a decimal string. */
  timestamp: string
  observedTimestamp: string
  attributes: FlatAttributes
  resource: FlatAttributes
}

const MAX_ID_LENGTH = 256

/** An event ID the sender gave: text of 1 to 256 characters. */
export function checkEventId(id: unknown, field: string): string {
  if (typeof id !== 'string' || id === '' || id.length > MAX_ID_LENGTH) {
    throw new InvalidField(`${field} must be a string of 1-${MAX_ID_LENGTH} characters`)
  }
  return id
}

/**
 * The ID of an event sent without one: a hash of what defines it, so the same event sent
 * again (an exporter's retry) gets the same ID. `sentTime` is the time as the sender gave
 * it, '' when it gave none (the arrival time a copy gets is not part of the event).
 */
export function deriveEventId(e: Omit<BusinessEvent, 'id'>, sentTime: string): string {
  const attributes = Object.keys(e.attributes.values)
    .sort()
    .map((k) => [k, e.attributes.values[k], e.attributes.types[k] ?? ''])
  const content = [
    e.system,
    e.type,
    e.entity,
    e.key,
    e.status,
    e.amount,
    e.currency,
    sentTime,
    e.flowId,
    e.traceId,
    e.spanId,
    e.service,
    attributes,
  ]
  return createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 32)
}

const DECIMAL = /^-?\d{1,29}(\.\d{1,9})?$/
/** ISO 4217's active codes, as the maintenance agency publishes them (`currency-codes`). */
const CURRENCIES = new Set(currencies.codes())
const NAME = /^[\w.:/-]{1,200}$/

/** Checks the fields finance relies on; the message names the field and what is wrong. */
export function checkBusinessEvent(e: BusinessEvent): void {
  if (!NAME.test(e.type))
    throw new InvalidField(
      `type must be 1-200 letters, digits or . _ : / - (got ${JSON.stringify(e.type)})`,
    )
  if (!NAME.test(e.entity))
    throw new InvalidField(
      `entity must be 1-200 letters, digits or . _ : / - (got ${JSON.stringify(e.entity)})`,
    )
  if (!e.key || e.key.length > 500)
    throw new InvalidField('key is required (at most 500 characters)')
  if (!e.system) throw new InvalidField('system is required')
  if (e.amount !== null) {
    if (!DECIMAL.test(e.amount)) {
      throw new InvalidField(
        `amount must be an exact decimal string with at most 9 decimal places, like "12.50" (got ${JSON.stringify(e.amount)})`,
      )
    }
    if (!CURRENCIES.has(e.currency)) {
      throw new InvalidField(
        `currency must be an ISO 4217 code like "EUR" when amount is given (got ${JSON.stringify(e.currency)})`,
      )
    }
  } else if (e.currency && !CURRENCIES.has(e.currency)) {
    throw new InvalidField(
      `currency must be an ISO 4217 code like "EUR" (got ${JSON.stringify(e.currency)})`,
    )
  }
}

export function encodeBusinessEvent(e: BusinessEvent): string {
  return (
    JSON.stringify({
      timestamp: e.timestamp,
      observed_timestamp: e.observedTimestamp,
      event_name: e.type,
      flow_id: e.flowId,
      system: e.system,
      entity: e.entity,
      entity_key: e.key,
      status: e.status,
      amount: e.amount,
      // The Decimal column keeps sums exact; the text keeps the amount as it was written.
      amount_text: e.amount ?? '',
      currency: e.currency,
      service_name: e.service,
      trace_id: e.traceId,
      span_id: e.spanId,
      attributes: e.attributes.values,
      attribute_types: e.attributes.types,
      resource_attributes: e.resource.values,
      resource_attribute_types: e.resource.types,
      event_id: e.id,
    }) + '\n'
  )
}
