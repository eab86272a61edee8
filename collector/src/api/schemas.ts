import Type from 'typebox'
import { TimeParam } from './time.js'

export const TraceId = Type.String({
  pattern: '^[0-9a-fA-F]{32}$',
  description: '32 hex characters',
})
const Attributes = Type.Record(Type.String(), Type.Unknown())
const Nanos = Type.String({ pattern: '^\\d+$', description: 'Unix nanoseconds (exact, as text)' })

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
  resource: Attributes,
  scope: Type.Object({ name: Type.String(), version: Type.String() }),
  traceState: Type.String(),
  events: Type.Array(
    Type.Object({ timeUnixNano: Nanos, name: Type.String(), attributes: Attributes }),
  ),
  links: Type.Array(
    Type.Object({
      traceId: Type.String(),
      spanId: Type.String(),
      traceState: Type.String(),
      attributes: Attributes,
    }),
  ),
  flowId: Type.String(),
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
