import { jsonRows, type EncodedRows } from '../storage/writer.js'
import {
  checkBusinessEvent,
  checkEventId,
  deriveEventId,
  encodeBusinessEvent,
  type BusinessEvent,
} from './business-event.js'
import {
  ATTR_AMOUNT,
  ATTR_CURRENCY,
  ATTR_ENTITY,
  ATTR_ENTITY_KEY,
  ATTR_EVENT_ID,
  ATTR_EVENT_NAME,
  ATTR_FLOW_ID,
  ATTR_STATUS,
  ATTR_SYSTEM,
} from './semconv.js'
import { arrivingNow, checkCount, checkRetained, oldestKept, type Arrival } from './arrival.js'
import { resourceOrigin, scopeOriginJson, withOrigin, type ResourceOrigin } from './origin.js'
import { dict } from './typed-value.js'
import type { AnyValue, LogRecord, LogsRequest, Resource, Scope } from './types.js'
import {
  dateTime64Text,
  flattenAttributes,
  hexId,
  InvalidField,
  str,
  uint32,
  uint64,
  visitAttributes,
  type AttributeType,
  type FlatAttributes,
} from './values.js'

export interface LogConversion {
  logs: EncodedRows
  events: EncodedRows
  rejected: number
  errors: string[]
}

const MAX_ERRORS = 5
/** Attributes that become columns of a business event rather than staying in its map. */
const EVENT_COLUMNS = new Set([
  ATTR_EVENT_NAME,
  ATTR_FLOW_ID,
  ATTR_SYSTEM,
  ATTR_ENTITY,
  ATTR_ENTITY_KEY,
  ATTR_STATUS,
  ATTR_AMOUNT,
  ATTR_CURRENCY,
  ATTR_EVENT_ID,
])

/**
 * Splits log records, one resource and scope at a time: records that name an event and a
 * business entity become business events, everything else is stored as a log line. Fed
 * from a decoded request (`convertLogs`) or record by record (request-stream.ts).
 */
export class LogConverter {
  private readonly logs = { text: '', rows: 0 }
  private readonly events = { text: '', rows: 0 }
  private rejected = 0
  private index = 0
  private readonly errors: string[] = []
  private origin: ResourceOrigin = resourceOrigin(undefined, undefined)
  private scope = scopeOriginJson(undefined, undefined)
  private readonly at: LogArrival

  constructor(arrival: Arrival = arrivingNow()) {
    this.at = {
      nowNanos: arrival.nowNanos,
      oldest: oldestKept(arrival),
      retentionDays: arrival.retentionDays,
      maxPerItem: arrival.maxPerItem,
    }
  }

  beginResource(resource: Resource | null | undefined, schemaUrl?: string | null): void {
    this.origin = resourceOrigin(resource, schemaUrl)
    this.scope = scopeOriginJson(undefined, undefined)
  }

  beginScope(scope: Scope | null | undefined, schemaUrl?: string | null): void {
    this.scope = scopeOriginJson(scope, schemaUrl)
  }

  add(record: LogRecord): void {
    const { at } = this
    const { service, attributes: resource } = this.origin
    try {
      checkCount(record.attributes?.length, at.maxPerItem, 'attributes')
      const attrs = flattenAttributes(record.attributes, 'attributes')
      const eventName = str(record.eventName, 'eventName') || attrs.values[ATTR_EVENT_NAME] || ''
      if (eventName && attrs.values[ATTR_ENTITY] !== undefined) {
        const event = toBusinessEvent(record, attrs, eventName, service, resource, at)
        this.events.text += encodeBusinessEvent(event)
        this.events.rows++
      } else {
        this.logs.text += encodeLog(record, attrs, eventName, this.origin, this.scope, at)
        this.logs.rows++
      }
    } catch (err) {
      if (!(err instanceof InvalidField)) throw err
      this.reject(err.message)
      return
    }
    this.index++
  }

  /** Counts a record refused, here or before it could be read (request-stream.ts). */
  reject(reason: string): void {
    this.rejected++
    if (this.errors.length < MAX_ERRORS) this.errors.push(`log record ${this.index}: ${reason}`)
    this.index++
  }

  finish(): LogConversion {
    return {
      logs: jsonRows(this.logs.text, this.logs.rows),
      events: jsonRows(this.events.text, this.events.rows),
      rejected: this.rejected,
      errors: this.errors,
    }
  }
}

/** Splits a decoded ExportLogsServiceRequest (see `LogConverter`). */
export function convertLogs(req: LogsRequest, arrival?: Arrival): LogConversion {
  const converter = new LogConverter(arrival)
  for (const rl of req.resourceLogs ?? []) {
    converter.beginResource(rl.resource, rl.schemaUrl)
    for (const sl of rl.scopeLogs ?? []) {
      converter.beginScope(sl.scope, sl.schemaUrl)
      for (const record of sl.logRecords ?? []) converter.add(record)
    }
  }
  return converter.finish()
}

/** The request's arrival as a log record is checked against it. */
interface LogArrival {
  nowNanos: string
  oldest: bigint
  retentionDays: number
  maxPerItem: number
}

function times(record: LogRecord, at: LogArrival): { time: string; observed: string } {
  const observed = uint64(record.observedTimeUnixNano, 'observedTimeUnixNano')
  const time = uint64(record.timeUnixNano, 'timeUnixNano')
  // The spec lets either be unset; fall back to the other, then to arrival time.
  const o = observed !== '0' ? observed : time !== '0' ? time : at.nowNanos
  const t = time !== '0' ? time : o
  // Rows are kept by their time: an older one would be removed right after it is stored.
  checkRetained(
    BigInt(t),
    at.oldest,
    at.retentionDays,
    time !== '0' ? 'timeUnixNano' : 'observedTimeUnixNano',
  )
  return {
    time: dateTime64Text(t, 'timeUnixNano'),
    observed: dateTime64Text(o, 'observedTimeUnixNano'),
  }
}

function toBusinessEvent(
  record: LogRecord,
  attrs: FlatAttributes,
  type: string,
  service: string,
  resource: FlatAttributes,
  at: LogArrival,
): BusinessEvent {
  const { time, observed } = times(record, at)
  const rest: FlatAttributes = { values: dict<string>(), types: dict<AttributeType>() }
  for (const [k, v] of Object.entries(attrs.values)) {
    if (EVENT_COLUMNS.has(k)) continue
    rest.values[k] = v
    const t = attrs.types[k]
    if (t) rest.types[k] = t
  }
  const v = attrs.values
  for (const column of [ATTR_AMOUNT, ATTR_EVENT_ID]) {
    if (v[column] !== undefined && attrs.types[column] !== undefined) {
      throw new InvalidField(
        column === ATTR_AMOUNT
          ? `${ATTR_AMOUNT} must be a string attribute holding an exact decimal (floats lose cents)`
          : `${ATTR_EVENT_ID} must be a string attribute`,
      )
    }
  }
  const amount = v[ATTR_AMOUNT]
  const event: Omit<BusinessEvent, 'id'> = {
    timestamp: time,
    observedTimestamp: observed,
    type,
    flowId: v[ATTR_FLOW_ID] ?? '',
    system: v[ATTR_SYSTEM] || service,
    entity: v[ATTR_ENTITY] ?? '',
    key: v[ATTR_ENTITY_KEY] ?? '',
    status: v[ATTR_STATUS] ?? '',
    amount: amount === undefined || amount === '' ? null : amount,
    currency: v[ATTR_CURRENCY] ?? '',
    service,
    traceId: hexId(record.traceId, 16, 'traceId'),
    spanId: hexId(record.spanId, 8, 'spanId'),
    attributes: rest,
    resource,
  }
  try {
    const given = v[ATTR_EVENT_ID]
    const sentTime = `${uint64(record.timeUnixNano, 'timeUnixNano')}/${uint64(record.observedTimeUnixNano, 'observedTimeUnixNano')}`
    const full: BusinessEvent = {
      ...event,
      id: given === undefined ? deriveEventId(event, sentTime) : checkEventId(given, ATTR_EVENT_ID),
    }
    checkBusinessEvent(full)
    return full
  } catch (err) {
    if (err instanceof InvalidField)
      throw new InvalidField(`business event ${JSON.stringify(type)}: ${err.message}`)
    throw err
  }
}

function encodeLog(
  record: LogRecord,
  attrs: FlatAttributes,
  eventName: string,
  origin: ResourceOrigin,
  scope: string,
  at: LogArrival,
): string {
  const { time, observed } = times(record, at)
  const body = bodyText(record.body)
  const severity = record.severityNumber
  const severityNumber =
    typeof severity === 'number'
      ? severity
      : typeof severity === 'string'
        ? severityFromName(severity)
        : 0
  if (!Number.isInteger(severityNumber) || severityNumber < 0 || severityNumber > 24) {
    throw new InvalidField('severityNumber must be 0-24')
  }
  const row = {
    timestamp: time,
    observed_timestamp: observed,
    trace_id: hexId(record.traceId, 16, 'traceId'),
    span_id: hexId(record.spanId, 8, 'spanId'),
    flags: uint32(record.flags, 'flags'),
    severity_text: str(record.severityText, 'severityText'),
    severity_number: severityNumber,
    service_name: origin.service,
    event_name: eventName,
    body: body.text,
    body_type: body.type ?? '',
    flow_id: attrs.values[ATTR_FLOW_ID] ?? '',
    log_attributes: attrs.values,
    log_attribute_types: attrs.types,
    dropped_attributes: uint32(record.droppedAttributesCount, 'droppedAttributesCount'),
  }
  return withOrigin(row, origin.json, scope) + '\n'
}

/**
 * A body as the `body` column keeps it: a string as it is (searched as text), any other
 * value as its stored text beside its type, as attributes are; no body is 'empty'.
 */
function bodyText(body: AnyValue | null | undefined): { text: string; type?: AttributeType } {
  if (body === null || body === undefined) return { text: '', type: 'empty' }
  let out: { text: string; type?: AttributeType } = { text: '' }
  visitAttributes([{ key: 'body', value: body }], 'body', (_key, text, type) => {
    out = type ? { text, type } : { text }
  })
  return out
}

const SEVERITY_PREFIX = 'SEVERITY_NUMBER_'
const SEVERITY_NAMES = [
  'UNSPECIFIED',
  'TRACE',
  'TRACE2',
  'TRACE3',
  'TRACE4',
  'DEBUG',
  'DEBUG2',
  'DEBUG3',
  'DEBUG4',
  'INFO',
  'INFO2',
  'INFO3',
  'INFO4',
  'WARN',
  'WARN2',
  'WARN3',
  'WARN4',
  'ERROR',
  'ERROR2',
  'ERROR3',
  'ERROR4',
  'FATAL',
  'FATAL2',
  'FATAL3',
  'FATAL4',
]

function severityFromName(name: string): number {
  if (/^\d+$/.test(name)) return Number(name)
  const i = SEVERITY_NAMES.indexOf(
    name.startsWith(SEVERITY_PREFIX) ? name.slice(SEVERITY_PREFIX.length) : name,
  )
  if (i < 0) throw new InvalidField(`severityNumber has an unknown value ${JSON.stringify(name)}`)
  return i
}
