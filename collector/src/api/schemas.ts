import Type from 'typebox'
import { TimeParam } from './time.js'

export const TraceId = Type.String({
  pattern: '^[0-9a-fA-F]{32}$',
  description: '32 hex characters',
})

/**
 * An OTLP AnyValue as JSON (otlp/typed-value.ts, README "Attribute values"): plain JSON where
 * it says the type, a one-key tag where it cannot.
 */
export const AttributeValue = Type.Cyclic(
  {
    AttributeValue: Type.Union(
      [
        Type.String(),
        Type.Boolean(),
        Type.Number({ description: 'int without a fraction, double with one' }),
        Type.Null({ description: 'an empty value' }),
        Type.Array(Type.Ref('AttributeValue')),
        Type.Object(
          { int: Type.String({ pattern: '^-?\\d{1,19}$' }) },
          { additionalProperties: false, description: 'int64 beyond ±(2^53 - 1), exact' },
        ),
        Type.Object(
          {
            double: Type.Union([
              Type.Number(),
              Type.Union([
                Type.Literal('NaN'),
                Type.Literal('Infinity'),
                Type.Literal('-Infinity'),
                Type.Literal('-0'),
              ]),
            ]),
          },
          { additionalProperties: false, description: 'a double without a fraction, or special' },
        ),
        Type.Object(
          { bytes: Type.String({ description: 'base64' }) },
          { additionalProperties: false },
        ),
        Type.Object(
          { kvlist: Type.Record(Type.String(), Type.Ref('AttributeValue')) },
          {
            additionalProperties: false,
            description: 'a kvlist whose only key is int, double, bytes or kvlist',
          },
        ),
        Type.Record(Type.String(), Type.Ref('AttributeValue'), { description: 'a kvlist' }),
      ],
      { description: 'An OTLP attribute value, typed (README: Attribute values)' },
    ),
  },
  'AttributeValue',
)
export const Attributes = Type.Record(Type.String(), AttributeValue)
const Count = Type.Integer({ minimum: 0 })
const Nanos = Type.String({ pattern: '^\\d+$', description: 'Unix nanoseconds (exact, as text)' })

/** An instrumentation scope, whole. */
export const Scope = Type.Object({
  name: Type.String(),
  version: Type.String(),
  attributes: Attributes,
  droppedAttributesCount: Count,
  schemaUrl: Type.String(),
})

export const Span = Type.Object({
  spanId: Type.String(),
  parentSpanId: Type.String(),
  service: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  startTimeUnixNano: Nanos,
  durationNano: Type.String(),
  status: Type.Object({ code: Type.String(), message: Type.String() }),
  attributes: Attributes,
  droppedAttributesCount: Count,
  resource: Attributes,
  resourceDroppedAttributesCount: Count,
  resourceSchemaUrl: Type.String(),
  scope: Scope,
  traceState: Type.String(),
  flags: Count,
  events: Type.Array(
    Type.Object({
      timeUnixNano: Nanos,
      name: Type.String(),
      attributes: Attributes,
      droppedAttributesCount: Count,
    }),
  ),
  droppedEventsCount: Count,
  links: Type.Array(
    Type.Object({
      traceId: Type.String(),
      spanId: Type.String(),
      traceState: Type.String(),
      flags: Count,
      attributes: Attributes,
      droppedAttributesCount: Count,
    }),
  ),
  droppedLinksCount: Count,
  flowId: Type.String(),
  decodeWarning: Type.Optional(
    Type.String({ description: 'What of the stored span could not be read back' }),
  ),
})

export const Trace = Type.Object({
  traceId: Type.String(),
  spans: Type.Array(Span),
  truncated: Type.Boolean(),
})

export const TraceSummary = Type.Object({
  traceId: Type.String(),
  rootService: Type.String({ description: "'' when the root span has not arrived" }),
  rootOperation: Type.String(),
  startTimeUnixNano: Nanos,
  durationNano: Type.String(),
  spanCount: Type.Integer(),
  errorCount: Type.Integer(),
  services: Type.Array(Type.String()),
})

export const BusinessEvent = Type.Object({
  timeUnixNano: Nanos,
  type: Type.String(),
  flowId: Type.String(),
  system: Type.String(),
  entity: Type.String(),
  key: Type.String(),
  status: Type.String(),
  amount: Type.Union([Type.String(), Type.Null()], { description: 'Exact decimal text' }),
  currency: Type.String(),
  service: Type.String(),
  traceId: Type.String(),
  spanId: Type.String(),
  attributes: Type.Record(Type.String(), Type.String()),
})

export const Window = {
  from: Type.Optional(TimeParam),
  to: Type.Optional(TimeParam),
}

export const Limit = (max: number, dflt: number) =>
  Type.Optional(Type.Integer({ minimum: 1, maximum: max, default: dflt }))

const Red = {
  rate: Type.Number({ description: 'entry calls per second' }),
  calls: Type.Integer(),
  errors: Type.Integer(),
  errorRate: Type.Number(),
  p50Ms: Type.Number(),
  p95Ms: Type.Number(),
  p99Ms: Type.Number(),
}
export const Service = Type.Object({ service: Type.String(), spans: Type.Integer(), ...Red })
export const Operation = Type.Object({ operation: Type.String(), kind: Type.String(), ...Red })
export const Dependency = Type.Object({
  caller: Type.String(),
  callee: Type.String(),
  calls: Type.Integer(),
  errors: Type.Integer(),
})

export const ErrorBody = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
})
