import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { findMetricPoints, listMetricNames } from '../queries/metrics.js'
import { Limit, QueryRefusals, Window } from '../schemas.js'
import { HOUR_NS, window } from '../time.js'

const Buckets = Type.Object({ offset: Type.Integer(), bucketCounts: Type.Array(Type.Number()) })
const Nullable = Type.Union([Type.Number(), Type.Null()])

// Open to further fields: each kind of point has its own, listed here when known.
const MetricPoint = Type.Object(
  {
    timeUnixNano: Type.String({ description: 'Unix nanoseconds (exact, as text)' }),
    startTimeUnixNano: Type.String(),
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
    attributes: Type.Record(Type.String(), Type.Unknown()),
    value: Type.Optional(Type.Number({ description: 'gauge and sum' })),
    intValue: Type.Optional(Type.String({ description: 'an integer gauge or sum, exact' })),
    count: Type.Optional(Type.Number()),
    sum: Type.Optional(Nullable),
    min: Type.Optional(Nullable),
    max: Type.Optional(Nullable),
    bucketCounts: Type.Optional(Type.Array(Type.Number())),
    explicitBounds: Type.Optional(Type.Array(Type.Number())),
    scale: Type.Optional(Type.Integer()),
    zeroCount: Type.Optional(Type.Number()),
    positive: Type.Optional(Buckets),
    negative: Type.Optional(Buckets),
    quantiles: Type.Optional(
      Type.Array(Type.Object({ quantile: Type.Number(), value: Type.Number() })),
    ),
  },
  { additionalProperties: true },
)

export const metricRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { config } = app.reckon
  const { searches } = app.reads
  const timeout = config.query.timeoutSeconds

  app.get(
    '/api/metrics',
    {
      schema: {
        summary:
          'Metric data points (gauge, sum, histogram, exponential histogram, summary), oldest first',
        tags: ['metrics'],
        querystring: Type.Object(
          {
            name: Type.Optional(Type.String({ minLength: 1 })),
            service: Type.Optional(Type.String({ minLength: 1 })),
            ...Window,
            limit: Limit(100000, 1000),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ points: Type.Array(MetricPoint) }), ...QueryRefusals },
      },
    },
    async (request) => {
      const q = request.query
      const filter = { ...q, window: window(q, HOUR_NS), limit: q.limit ?? 1000 }
      return { points: await searches.run((storage) => findMetricPoints(storage, filter, timeout)) }
    },
  )

  app.get(
    '/api/metrics/names',
    {
      schema: {
        summary: 'Metric names seen in the window',
        tags: ['metrics'],
        querystring: Type.Object(
          { service: Type.Optional(Type.String({ minLength: 1 })), ...Window },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            metrics: Type.Array(
              Type.Object({
                name: Type.String(),
                kind: Type.String(),
                unit: Type.String(),
                services: Type.Array(Type.String()),
                points: Type.Integer(),
              }),
            ),
          }),
          ...QueryRefusals,
        },
      },
    },
    async (request) => {
      const w = window(request.query, HOUR_NS)
      return {
        metrics: await searches.run((storage) =>
          listMetricNames(storage, request.query.service, w, timeout),
        ),
      }
    },
  )
}
