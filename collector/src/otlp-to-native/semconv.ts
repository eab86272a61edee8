// Attribute names Reckon gives meaning to. Business events are OTLP log records that carry
// `event.name` plus the `reckon.*` attributes below; spans carry the flow ID.

/** The business flow a span or event belongs to (Snowflake-style ID or a business key). */
export const ATTR_FLOW_ID = 'reckon.flow.id'
/** Name of a business event, e.g. `order.created` (also the LogRecord `event_name` field). */
export const ATTR_EVENT_NAME = 'event.name'
/** The system of record that emitted the event, e.g. `payment`; defaults to service.name. */
export const ATTR_SYSTEM = 'reckon.system'
/** The kind of business record, e.g. `order`. */
export const ATTR_ENTITY = 'reckon.entity'
/** The business key of the record, e.g. the order number. */
export const ATTR_ENTITY_KEY = 'reckon.entity.key'
/** The record's status in that system, e.g. `paid`. */
export const ATTR_STATUS = 'reckon.status'
/** Money as an exact decimal string, e.g. `"12.50"`. */
export const ATTR_AMOUNT = 'reckon.amount'
/** ISO 4217 currency code of the amount. */
export const ATTR_CURRENCY = 'reckon.currency'
/** The event's ID, unique within its system: copies of one event are counted once. */
export const ATTR_EVENT_ID = 'reckon.event.id'

export const SERVICE_NAME = 'service.name'
export const UNKNOWN_SERVICE = 'unknown_service'

export const SPAN_KINDS = [
  'Unspecified',
  'Internal',
  'Server',
  'Client',
  'Producer',
  'Consumer',
] as const
export const SPAN_KIND_ENUM = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
] as const
export const STATUS_CODES = ['Unset', 'Ok', 'Error'] as const
export const STATUS_CODE_ENUM = [
  'STATUS_CODE_UNSET',
  'STATUS_CODE_OK',
  'STATUS_CODE_ERROR',
] as const
