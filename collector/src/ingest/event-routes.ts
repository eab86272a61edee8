import type { FastifyInstance } from 'fastify'
import Type, { type Static } from 'typebox'
import Value from 'typebox/value'
import {
  checkBusinessEvent,
  checkEventId,
  deriveEventId,
  encodeBusinessEvent,
  type BusinessEvent,
} from '../otlp-to-native/business-event.js'
import {
  checkCount,
  checkRetained,
  oldestKept,
  TooManyItems,
  type Arrival,
} from '../otlp-to-native/arrival.js'
import { quoteLargeIntegers } from '../otlp-to-native/json-integers.js'
import { flattenTyped } from '../otlp-to-native/typed-value.js'
import { dateTime64Text, hexId, InvalidField } from '../otlp-to-native/values.js'
import { wellFormed } from '../otlp-to-native/well-formed.js'
import { jsonRows } from '../storage/writer.js'
import { BodyError } from './body.js'
import { arrivingNow, isNdjson, QueueFull } from './common.js'
import { rfc3339Nanos } from '../time/instant.js'

/** One business event as systems without OpenTelemetry send it to POST /v1/events. */
export const EventInput = Type.Object(
  {
    id: Type.Optional(
      Type.String({
        description:
          'Unique within the system; the same ID sent again is the same event (default: derived from the content)',
      }),
    ),
    type: Type.String({ description: 'What happened, e.g. order.created' }),
    system: Type.String({ minLength: 1, description: 'System of record, e.g. payment' }),
    entity: Type.String({ description: 'Kind of record, e.g. order' }),
    key: Type.String({ description: 'Business key, e.g. the order number' }),
    flowId: Type.Optional(Type.String()),
    status: Type.Optional(Type.String()),
    amount: Type.Optional(Type.String({ description: 'Exact decimal, e.g. "12.50"' })),
    currency: Type.Optional(Type.String()),
    timestamp: Type.Optional(
      Type.Union([Type.String(), Type.Integer({ minimum: 0 })], {
        description:
          'RFC 3339 (up to ns), or Unix nanoseconds as a string or a number (19 digits today)',
      }),
    ),
    service: Type.Optional(Type.String()),
    traceId: Type.Optional(Type.String()),
    spanId: Type.Optional(Type.String()),
    attributes: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Unknown({ description: 'A value in the typed JSON form (README: Attribute values)' }),
      ),
    ),
  },
  { additionalProperties: false },
)
export type EventInput = Static<typeof EventInput>

/** Unix ns of 2001-09-09: a smaller number is most likely seconds or milliseconds. */
const NS_DIGITS = 10n ** 18n

/**
 * RFC 3339 with up to nanosecond precision, or Unix nanoseconds, to nanoseconds within
 * retention and the column's range (to 2262-04-11).
 */
export function parseTimestamp(sent: string | number, oldest: bigint, days: number): string {
  const text = String(sent)
  let ns: bigint
  if (/^\d{1,20}$/.test(text)) {
    ns = BigInt(text)
    if (ns < oldest && ns < NS_DIGITS) {
      throw new InvalidField(
        `timestamp ${text} read as Unix nanoseconds is in ${new Date(Number(ns / 1_000_000n)).getUTCFullYear()}, older than the retention of ${days} days (seconds or milliseconds? send nanoseconds or RFC 3339)`,
      )
    }
  } else {
    const parsed = rfc3339Nanos(text)
    if (parsed === undefined) {
      throw new InvalidField(
        `timestamp must be RFC 3339 (e.g. 2026-01-31T12:00:00.123Z) or Unix nanoseconds, got ${JSON.stringify(text)}`,
      )
    }
    ns = parsed
  }
  checkRetained(ns, oldest, days, 'timestamp')
  return dateTime64Text(ns.toString(), 'timestamp')
}

function describeSchemaError(row: unknown): string {
  const first = [...Value.Errors(EventInput, row)].find((e) => e.keyword !== 'boolean')
  if (!first) return 'invalid event'
  if (first.keyword === 'additionalProperties') {
    const allowed = Object.keys(EventInput.properties)
    const bad = Object.keys(row as object).find((k) => !allowed.includes(k))
    return `unknown field ${JSON.stringify(bad)}`
  }
  if (first.keyword === 'required') {
    const missing = Object.keys(EventInput.properties).find(
      (k) => EventInput.required.includes(k as never) && !(k in (row as object)),
    )
    return `${missing ?? 'a field'} is required`
  }
  const field = first.instancePath.replace(/^\//, '').replaceAll('/', '.') || 'event'
  return `${field} ${first.message}`
}

/** The request's arrival as each row is checked against it. */
interface EventArrival {
  now: string
  oldest: bigint
  retentionDays: number
  maxPerItem: number
}

function toEvent(row: EventInput, at: EventArrival): BusinessEvent {
  const now = at.now
  const sent = row.timestamp
  const time =
    sent === undefined || sent === '' ? now : parseTimestamp(sent, at.oldest, at.retentionDays)
  checkCount(row.attributes ? Object.keys(row.attributes).length : 0, at.maxPerItem, 'attributes')
  const event: Omit<BusinessEvent, 'id'> = {
    timestamp: time,
    observedTimestamp: now,
    type: row.type,
    flowId: row.flowId ?? '',
    system: row.system,
    entity: row.entity,
    key: row.key,
    status: row.status ?? '',
    amount: row.amount ?? null,
    currency: row.currency ?? '',
    service: row.service ?? row.system,
    traceId: hexId(row.traceId, 16, 'traceId'),
    spanId: hexId(row.spanId, 8, 'spanId'),
    attributes: flattenTyped(row.attributes ?? {}),
    resource: flattenTyped({}),
  }
  const full: BusinessEvent = {
    ...event,
    // The arrival time of a row sent without one is not part of it: a resent copy is the same.
    id:
      row.id === undefined
        ? deriveEventId(event, sent !== undefined && sent !== '' ? time : '')
        : checkEventId(row.id, 'id'),
  }
  checkBusinessEvent(full)
  return full
}

/**
 * JSON text as the rows need it: no lone surrogates, and a row's `timestamp` sent as a
 * number kept exact. Other numbers stay numbers: an attribute beyond 2^53 is refused by
 * the typed form's rules (send `{"int": "…"}`), not turned into text.
 */
function parse(text: string, rowDepth: number): unknown {
  const exact = quoteLargeIntegers(text, (key, depth) => key === 'timestamp' && depth === rowDepth)
  return wellFormed(exact, JSON.parse(exact) as unknown)
}

function parseRows(body: Buffer, ndjson: boolean): unknown[] {
  const text = body.toString('utf8')
  if (ndjson) {
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line, i) => {
        try {
          return parse(line, 1)
        } catch {
          return new InvalidField(`line ${i + 1} is not valid JSON`)
        }
      })
  }
  let parsed: unknown
  try {
    // Rows are the objects of an array, or of {"events": [...]}.
    parsed = parse(text, text.trimStart().startsWith('[') ? 2 : 3)
  } catch (err) {
    throw new BodyError(400, `body is not valid JSON: ${(err as Error).message}`)
  }
  if (Array.isArray(parsed)) return parsed
  if (
    typeof parsed === 'object' &&
    parsed !== null &&
    Array.isArray((parsed as { events?: unknown }).events)
  ) {
    return (parsed as { events: unknown[] }).events
  }
  throw new BodyError(400, 'body must be a JSON array of events, {"events": [...]}, or NDJSON')
}

/**
 * POST /v1/events: business events as JSON (array) or NDJSON. Each row is checked on its own;
 * good rows are stored even when others are refused, and every refusal names its index.
 */
export function eventRoutes(app: FastifyInstance): void {
  app.post('/v1/events', { config: { role: 'ingest' } }, async (request, reply) => {
    const rows = parseRows(request.body as Buffer, isNdjson(request))
    const arrival: Arrival = arrivingNow(app.reckon.config)
    if (rows.length > arrival.maxItems) {
      throw new BodyError(413, new TooManyItems('events', arrival.maxItems).message)
    }
    const at: EventArrival = {
      now: arrival.nowNanos,
      oldest: oldestKept(arrival),
      retentionDays: arrival.retentionDays,
      maxPerItem: arrival.maxPerItem,
    }
    const rejected: { index: number; error: string }[] = []
    let text = ''
    let accepted = 0
    rows.forEach((row, index) => {
      try {
        if (row instanceof InvalidField) throw row
        if (!Value.Check(EventInput, row)) throw new InvalidField(describeSchemaError(row))
        text += encodeBusinessEvent(toEvent(row, at))
        accepted++
      } catch (err) {
        if (!(err instanceof InvalidField)) throw err
        rejected.push({ index, error: err.message })
      }
    })
    const { metrics, pipeline } = app.reckon
    if (!pipeline.offer(await pipeline.spool({ business_events: jsonRows(text, accepted) }))) {
      metrics.items.inc({ signal: 'events', outcome: 'refused' }, accepted)
      throw new QueueFull()
    }
    metrics.items.inc({ signal: 'events', outcome: 'accepted' }, accepted)
    if (rejected.length > 0)
      metrics.items.inc({ signal: 'events', outcome: 'rejected' }, rejected.length)
    const status = accepted === 0 && rejected.length > 0 ? 400 : 200
    return reply.code(status).send({ accepted, rejected })
  })
}
