import { jsonRows, type EncodedRows } from '../storage/writer.js'
import { checkBusinessEvent, encodeBusinessEvent, type BusinessEvent } from './business-event.js'
import {
  ATTR_AMOUNT,
  ATTR_CURRENCY,
  ATTR_ENTITY,
  ATTR_ENTITY_KEY,
  ATTR_EVENT_NAME,
  ATTR_FLOW_ID,
  ATTR_STATUS,
  ATTR_SYSTEM,
  SERVICE_NAME,
  UNKNOWN_SERVICE,
} from './semconv.js'
import { typedAnyValue } from './typed-value.js'
import type { LogRecord, LogsRequest, Resource, Scope } from './types.js'
import {
  dateTime64Text,
  flattenAttributes,
  hexId,
  InvalidField,
  str,
  uint32,
  uint64,
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
  private resource: FlatAttributes = flattenAttributes(undefined, 'resource.attributes')
  private service = UNKNOWN_SERVICE
  private scopeName = ''

  constructor(private readonly nowNanos: string) {}

  beginResource(resource: Resource | null | undefined): void {
    this.resource = flattenAttributes(resource?.attributes, 'resource.attributes')
    this.service = this.resource.values[SERVICE_NAME] || UNKNOWN_SERVICE
    this.scopeName = ''
  }

  beginScope(scope: Scope | null | undefined): void {
    this.scopeName = str(scope?.name, 'scope.name')
  }

  add(record: LogRecord): void {
    const { resource, service, nowNanos } = this
    try {
      const attrs = flattenAttributes(record.attributes, 'attributes')
      const eventName = str(record.eventName, 'eventName') || attrs.values[ATTR_EVENT_NAME] || ''
      if (eventName && attrs.values[ATTR_ENTITY] !== undefined) {
        const event = toBusinessEvent(record, attrs, eventName, service, resource, nowNanos)
        this.events.text += encodeBusinessEvent(event)
        this.events.rows++
      } else {
        this.logs.text += encodeLog(
          record,
          attrs,
          eventName,
          service,
          resource,
          this.scopeName,
          nowNanos,
        )
        this.logs.rows++
      }
    } catch (err) {
      if (!(err instanceof InvalidField)) throw err
      this.rejected++
      if (this.errors.length < MAX_ERRORS) {
        this.errors.push(`log record ${this.index}: ${err.message}`)
      }
    }
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
export function convertLogs(req: LogsRequest, nowNanos: string): LogConversion {
  const converter = new LogConverter(nowNanos)
  for (const rl of req.resourceLogs ?? []) {
    converter.beginResource(rl.resource)
    for (const sl of rl.scopeLogs ?? []) {
      converter.beginScope(sl.scope)
      for (const record of sl.logRecords ?? []) converter.add(record)
    }
  }
  return converter.finish()
}

function times(record: LogRecord, nowNanos: string): { time: string; observed: string } {
  const observed = uint64(record.observedTimeUnixNano, 'observedTimeUnixNano')
  const time = uint64(record.timeUnixNano, 'timeUnixNano')
  // The spec lets either be unset; fall back to the other, then to arrival time.
  const o = observed !== '0' ? observed : time !== '0' ? time : nowNanos
  return {
    time: dateTime64Text(time !== '0' ? time : o, 'timeUnixNano'),
    observed: dateTime64Text(o, 'observedTimeUnixNano'),
  }
}

function toBusinessEvent(
  record: LogRecord,
  attrs: FlatAttributes,
  type: string,
  service: string,
  resource: FlatAttributes,
  nowNanos: string,
): BusinessEvent {
  const { time, observed } = times(record, nowNanos)
  const rest: Record<string, string> = {}
  for (const [k, v] of Object.entries(attrs.values)) if (!EVENT_COLUMNS.has(k)) rest[k] = v
  const v = attrs.values
  const amount = v[ATTR_AMOUNT]
  if (amount !== undefined && attrs.types[ATTR_AMOUNT] !== undefined) {
    throw new InvalidField(
      `${ATTR_AMOUNT} must be a string attribute holding an exact decimal (floats lose cents)`,
    )
  }
  const event: BusinessEvent = {
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
    resourceAttributes: resource.values,
  }
  try {
    checkBusinessEvent(event)
  } catch (err) {
    if (err instanceof InvalidField)
      throw new InvalidField(`business event ${JSON.stringify(type)}: ${err.message}`)
    throw err
  }
  return event
}

function encodeLog(
  record: LogRecord,
  attrs: FlatAttributes,
  eventName: string,
  service: string,
  resource: FlatAttributes,
  scopeName: string,
  nowNanos: string,
): string {
  const { time, observed } = times(record, nowNanos)
  const body = record.body
  const text =
    body?.stringValue !== undefined && body.stringValue !== null
      ? str(body.stringValue, 'body')
      : body
        ? JSON.stringify(typedAnyValue(body, 'body'))
        : ''
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
  return (
    JSON.stringify({
      timestamp: time,
      observed_timestamp: observed,
      trace_id: hexId(record.traceId, 16, 'traceId'),
      span_id: hexId(record.spanId, 8, 'spanId'),
      flags: uint32(record.flags, 'flags'),
      severity_text: str(record.severityText, 'severityText'),
      severity_number: severityNumber,
      service_name: service,
      event_name: eventName,
      body: text,
      flow_id: attrs.values[ATTR_FLOW_ID] ?? '',
      scope_name: scopeName,
      resource_attributes: resource.values,
      log_attributes: attrs.values,
      log_attribute_types: attrs.types,
    }) + '\n'
  )
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
