import Type, { type TSchema } from 'typebox'
import type { TypedValue } from '../otlp-to-native/typed-value.js'
import { TimeParam } from './time.js'

/**
 * An object whose keys are any text. `Type.Record(Type.String(), …)` matches keys by the
 * pattern `^.*$`, which no key with a line break matches: the response serializer left
 * such keys out.
 */
const anyKeys = <T extends TSchema>(value: T, options: { description?: string } = {}) =>
  Type.Object({}, { additionalProperties: value, ...options })

export const TraceId = Type.String({
  pattern: '^[0-9a-fA-F]{32}$',
  description: '32 hex characters',
})

/**
 * An OTLP AnyValue as JSON (otlp-to-native/typed-value.ts, README "Attribute values"): plain JSON where
 * it says the type, a one-key tag where it cannot. Recursive, so defined once: routes refer
 * to it by its ID (`AttributeValue`), which `apiApp` registers with `addSchema`. Inlined, its
 * `$id` would occur once per use, and a response with two uses could not be compiled.
 */
export const AttributeValueSchema = Type.Cyclic(
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
          { kvlist: anyKeys(Type.Ref('AttributeValue')) },
          {
            additionalProperties: false,
            description: 'a kvlist whose only key is int, double, bytes or kvlist',
          },
        ),
        anyKeys(Type.Ref('AttributeValue'), { description: 'a kvlist' }),
      ],
      { description: 'An OTLP attribute value, typed (README: Attribute values)' },
    ),
  },
  'AttributeValue',
).$defs.AttributeValue
export const AttributeValue = Type.Unsafe<TypedValue>(Type.Ref('AttributeValue'))
export const Attributes = anyKeys(AttributeValue)
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

const Column = (description: string) => Type.Array(Type.Number(), { description })

/** A trace's outline: one window of its rows in tree order, as columns (the UI's call tree). */
export const TraceOutline = Type.Object({
  traceId: Type.String(),
  spanCount: Type.Integer({ description: 'Rows of the whole outline (spans, each once)' }),
  truncated: Type.Boolean({ description: 'The trace has more than query.maxOutlineSpans spans' }),
  startUnixNano: Nanos,
  durationNano: Type.String(),
  maxDepth: Type.Integer({ description: 'Deepest nesting (0: roots only)' }),
  orphans: Type.Integer({ description: 'Spans whose parent is not stored: shown as roots' }),
  cycles: Type.Integer({ description: 'Parent cycles cut (their earliest span shown as a root)' }),
  services: Type.Array(Type.String(), { description: 'Dictionary the service column indexes' }),
  names: Type.Array(Type.String(), { description: 'Dictionary the name column indexes' }),
  offset: Type.Integer({ description: 'Tree index of the first row in this window' }),
  rows: Type.Object({
    spanId: Type.Array(Type.String()),
    parent: Column('Tree index of the parent row, -1 for a root'),
    depth: Column('Nesting, 0 for a root'),
    service: Column('Index into services'),
    name: Column('Index into names'),
    start: Column('Nanoseconds since the trace started'),
    duration: Column('Nanoseconds'),
    status: Column('0 unset, 1 ok, 2 error'),
    size: Column('Rows in the subtree, this one included'),
    critical: Column('1 on the critical path of the first root'),
  }),
})

export const TraceSummary = Type.Object({
  traceId: Type.String(),
  rootService: Type.String({
    description: "The root span's service; the earliest span's while the root has not arrived",
  }),
  rootOperation: Type.String({
    description: "The root span's name; the earliest span's while the root has not arrived",
  }),
  rootMissing: Type.Boolean({
    description:
      'true when no span without a parent has arrived (yet): rootService and rootOperation are then those of the earliest span',
  }),
  startTimeUnixNano: Nanos,
  durationNano: Type.String(),
  spanCount: Type.Integer(),
  errorCount: Type.Integer(),
  services: Type.Array(Type.String()),
})

export const FlowSummary = Type.Object({
  flowId: Type.String(),
  firstUnixNano: Nanos,
  lastUnixNano: Nanos,
  events: Type.Integer({ description: 'Business events of the flow in the window, each once' }),
  keys: Type.Array(Type.String(), { description: 'Business keys seen in the flow (at most 5)' }),
  systems: Type.Array(
    Type.Object({
      system: Type.String(),
      events: Type.Integer(),
      lastStatus: Type.String({ description: "The status of the system's latest event" }),
      lastUnixNano: Nanos,
    }),
  ),
})

export const BusinessEvent = Type.Object({
  id: Type.String({
    description:
      'Unique within its system (reckon.event.id, or derived from the content): each event is listed once',
  }),
  timeUnixNano: Nanos,
  type: Type.String(),
  flowId: Type.String(),
  system: Type.String(),
  entity: Type.String(),
  key: Type.String(),
  status: Type.String(),
  amount: Type.Union([Type.String(), Type.Null()], {
    description: 'Exact decimal text, as it was sent',
  }),
  currency: Type.String(),
  service: Type.String(),
  traceId: Type.String(),
  spanId: Type.String(),
  attributes: Attributes,
  resource: Attributes,
})

/** Where a log record or metric point came from: its resource and scope, whole. */
const Origin = {
  resource: Attributes,
  resourceDroppedAttributesCount: Count,
  resourceSchemaUrl: Type.String(),
  scope: Scope,
}

/** A double as OTLP/JSON writes one: NaN and the infinities as text. */
const Double = Type.Union(
  [Type.Number(), Type.Literal('NaN'), Type.Literal('Infinity'), Type.Literal('-Infinity')],
  { description: 'a double; NaN and the infinities as "NaN", "Infinity", "-Infinity"' },
)
const Doubles = Type.Array(Double)
const Counts = Type.Array(Type.Integer({ minimum: 0 }))
const NullableDouble = Type.Union([Double, Type.Null()])

export const MetricPoint = Type.Object({
  timeUnixNano: Nanos,
  startTimeUnixNano: Nanos,
  service: Type.String(),
  name: Type.String(),
  description: Type.String(),
  unit: Type.String(),
  kind: Type.Union([
    Type.Literal('gauge'),
    Type.Literal('sum'),
    Type.Literal('histogram'),
    Type.Literal('exponential_histogram'),
    Type.Literal('summary'),
  ]),
  temporality: Type.Union([
    Type.Literal('unspecified'),
    Type.Literal('delta'),
    Type.Literal('cumulative'),
  ]),
  isMonotonic: Type.Boolean(),
  attributes: Attributes,
  flags: Count,
  ...Origin,
  value: Type.Optional(Double),
  intValue: Type.Optional(
    Type.String({ pattern: '^-?\\d+$', description: 'an integer point, exact' }),
  ),
  count: Type.Optional(Type.Integer({ minimum: 0 })),
  sum: Type.Optional(NullableDouble),
  min: Type.Optional(NullableDouble),
  max: Type.Optional(NullableDouble),
  bucketCounts: Type.Optional(Counts),
  explicitBounds: Type.Optional(Doubles),
  scale: Type.Optional(Type.Integer()),
  zeroCount: Type.Optional(Type.Integer({ minimum: 0 })),
  positive: Type.Optional(Type.Object({ offset: Type.Integer(), bucketCounts: Counts })),
  negative: Type.Optional(Type.Object({ offset: Type.Integer(), bucketCounts: Counts })),
  quantiles: Type.Optional(Type.Array(Type.Object({ quantile: Double, value: Double }))),
})

export const LogRecord = Type.Object({
  timeUnixNano: Nanos,
  observedTimeUnixNano: Nanos,
  service: Type.String(),
  severityNumber: Type.Integer({ minimum: 0, maximum: 24 }),
  severityText: Type.String(),
  body: AttributeValue,
  eventName: Type.String(),
  attributes: Attributes,
  droppedAttributesCount: Count,
  flags: Count,
  traceId: Type.String(),
  spanId: Type.String(),
  flowId: Type.String(),
  ...Origin,
})

export const Window = {
  from: Type.Optional(TimeParam),
  to: Type.Optional(TimeParam),
}

export const Limit = (max: number, dflt: number) =>
  Type.Optional(Type.Integer({ minimum: 1, maximum: max, default: dflt }))

const COVERED =
  "over the part of the window the service has spans in: from the service's first span in the window to `to`, or now if earlier; at least 1 s"
const Red = {
  calls: Type.Integer(),
  errors: Type.Integer(),
  errorRate: Type.Number(),
  p50Ms: Type.Number(),
  p95Ms: Type.Number(),
  p99Ms: Type.Number(),
}
export const Service = Type.Object({
  service: Type.String(),
  spans: Type.Integer(),
  rate: Type.Number({
    description: `Entry calls (server and consumer spans, and roots) per second ${COVERED}`,
  }),
  ...Red,
})
export const Operation = Type.Object({
  operation: Type.String(),
  kind: Type.String(),
  rate: Type.Number({ description: `Spans of this operation per second ${COVERED}` }),
  ...Red,
})
export const Dependency = Type.Object({
  caller: Type.String(),
  callee: Type.String(),
  calls: Type.Integer(),
  errors: Type.Integer(),
})

const errorBody = (description: string) =>
  Type.Object(
    { statusCode: Type.Integer(), error: Type.String(), message: Type.String() },
    { description },
  )

export const ErrorBody = errorBody('Not found')

/** The errors a route with parameters can answer. */
export const Refusals = {
  400: errorBody('A parameter or the body is invalid; the message names it'),
}

/** The errors of any query: a cost cap, or a full pool. */
export const CapRefusals = {
  422: errorBody(
    'The query would read more than query.maxRowsToRead rows or query.maxBytesToRead bytes; narrow the time window or add filters',
  ),
  503: errorBody(
    'Too many reads of this kind in progress, or the query ran longer than query.timeoutSeconds; retry after Retry-After seconds',
  ),
}

/** The errors of a query with parameters. */
export const QueryRefusals = { ...Refusals, ...CapRefusals }

/** A circuit breaker as its instance last reported it (Resilience4j's series). */
const BreakerRate = Type.Union([Type.Number(), Type.Null()], {
  description: 'Percent; null until the breaker has seen its minimum number of calls',
})

export const Breaker = Type.Object({
  service: Type.String(),
  instance: Type.String(),
  name: Type.String(),
  state: Type.String({
    description: 'CLOSED, OPEN, HALF_OPEN, FORCED_OPEN, DISABLED, METRICS_ONLY',
  }),
  failureRate: BreakerRate,
  slowCallRate: BreakerRate,
  calls: Type.Object({
    successful: Type.Number(),
    failed: Type.Number(),
    ignored: Type.Number(),
    slow: Type.Number(),
    notPermitted: Type.Number(),
  }),
  bufferedCalls: Type.Object({ successful: Type.Number(), failed: Type.Number() }),
  lastSeenUnixNano: Nanos,
  lastTransitionUnixNano: Type.Union([Nanos, Type.Null()]),
  metrics: Type.Record(Type.String(), Type.Number(), {
    description: 'Latest value of each Resilience4j series, keyed as in Prometheus',
  }),
})

export const Transition = Type.Object({
  timeUnixNano: Nanos,
  service: Type.String(),
  instance: Type.String(),
  breaker: Type.String(),
  from: Type.String(),
  to: Type.String(),
  causeTraceId: Type.String({ description: "The trace whose call caused it; '' if none" }),
})

export const Instance = Type.Object({
  service: Type.String(),
  instance: Type.String(),
  version: Type.String(),
  status: Type.Union([Type.Literal('up'), Type.Literal('stale'), Type.Literal('down')]),
  lastHeartbeatUnixNano: Nanos,
  silentSeconds: Type.Number(),
  figures: Type.Object({
    eventLoopDelayP99Ms: Type.Union([Type.Number(), Type.Null()]),
    eventLoopDelayMaxMs: Type.Union([Type.Number(), Type.Null()]),
    heapUsedBytes: Type.Union([Type.Number(), Type.Null()]),
    rssBytes: Type.Union([Type.Number(), Type.Null()]),
    cpuUtilization: Type.Union([Type.Number(), Type.Null()]),
  }),
})

/** Breakers, their timeline, and instance health: what the SDKs report about themselves. */

/** A degradation switch's current value (or one change of it, in its history). */
export const Switch = Type.Object({
  name: Type.String(),
  on: Type.Boolean(),
  flowPinned: Type.Boolean({
    description: 'Read once when a flow starts; every service of that flow sees that value',
  }),
  description: Type.String(),
  updatedAtUnixNano: Type.String(),
  updatedBy: Type.String(),
  reason: Type.String(),
})
