import { typedMap } from '../../otlp-to-native/typed-value.js'
import type { Storage } from '../../storage/client.js'
import { Filter, nanos, select, type Window } from '../db.js'
import type { Static } from 'typebox'
import type { BusinessEvent } from '../schemas.js'
import { oncePerEvent } from './one-per-event.js'

/** The amount as it was sent; rows stored before the text was kept give the Decimal's. */
export const AMOUNT_AS_SENT = `if(isNull(amount), NULL, if(amount_text != '', amount_text, toString(amount)))`

/** A business event as the API serves it (its `BusinessEvent` schema). */
export type EventView = Static<typeof BusinessEvent>

export interface EventFilter {
  flowId?: string | undefined
  entity?: string | undefined
  key?: string | undefined
  system?: string | undefined
  type?: string | undefined
  status?: string | undefined
  window: Window
  limit: number
}

const FILTERS = [
  ['flowId', 'flow_id'],
  ['entity', 'entity'],
  ['key', 'entity_key'],
  ['system', 'system'],
  ['type', 'event_name'],
  ['status', 'status'],
] as const

/** Business events matching every given filter, oldest first. */
export async function findEvents(
  storage: Storage,
  f: EventFilter,
  timeout: number,
): Promise<EventView[]> {
  const filter = new Filter(f.window, 'timestamp', { limit: f.limit })
  for (const [name, column] of FILTERS) filter.equals(column, name, f[name])
  const rows = await oncePerEvent(f.limit, (tail, more) =>
    select<{
      event_id: string
      ts: string
      event_name: string
      flow_id: string
      system: string
      entity: string
      entity_key: string
      status: string
      amount: string | null
      currency: string
      service_name: string
      trace_id: string
      span_id: string
      attributes: Record<string, string>
      attribute_types: Record<string, string>
      resource_attributes: Record<string, string>
      resource_attribute_types: Record<string, string>
    }>(
      storage,
      `SELECT event_id, ${nanos('timestamp')} AS ts, event_name, flow_id, system, entity, entity_key,
       status, ${AMOUNT_AS_SENT} AS amount, currency, service_name, trace_id, span_id,
       attributes, attribute_types, resource_attributes, resource_attribute_types
     FROM ${storage.database}.business_events
     WHERE ${filter.sql}
     ${tail}`,
      { ...filter.params, ...more },
      timeout,
    ),
  )
  return rows.map((r) => ({
    id: r.event_id,
    timeUnixNano: r.ts,
    type: r.event_name,
    flowId: r.flow_id,
    system: r.system,
    entity: r.entity,
    key: r.entity_key,
    status: r.status,
    amount: r.amount,
    currency: r.currency,
    service: r.service_name,
    traceId: r.trace_id,
    spanId: r.span_id,
    attributes: typedMap(r.attributes, r.attribute_types),
    resource: typedMap(r.resource_attributes, r.resource_attribute_types),
  }))
}
