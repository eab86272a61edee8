import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { queryRoute } from '../reads.js'
import { findMetricPoints, listMetricNames } from '../queries/metrics.js'
import { Limit, MetricPoint, QueryRefusals, Window } from '../schemas.js'
import { HOUR_NS, window } from '../time.js'

export const metricRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { searches, timeout } = queryRoute(app)

  app.get(
    '/api/metrics',
    {
      config: { role: 'viewer' },
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
      config: { role: 'viewer' },
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
