import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { queryRoute } from '../reads.js'
import { findEvents } from '../queries/events.js'
import { getFlow } from '../queries/flows.js'
import { searchFlows } from '../queries/flow-search.js'
import {
  BusinessEvent,
  ErrorBody,
  FlowSummary,
  Limit,
  QueryRefusals,
  TraceSummary,
  Window,
} from '../schemas.js'
import { window } from '../time.js'

export const flowRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { searches, timeout, retentionNs: retention } = queryRoute(app)

  app.get(
    '/api/flows',
    {
      config: { role: 'viewer' },
      schema: {
        summary:
          'The newest business flows with an event matching every filter, each with the systems it reached and their latest status',
        tags: ['flows'],
        querystring: Type.Object(
          {
            key: Type.Optional(
              Type.String({ minLength: 1, description: 'A business key, e.g. the order number' }),
            ),
            system: Type.Optional(Type.String({ minLength: 1 })),
            type: Type.Optional(Type.String({ minLength: 1 })),
            status: Type.Optional(Type.String({ minLength: 1 })),
            ...Window,
            limit: Limit(500, 50),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ flows: Type.Array(FlowSummary) }), ...QueryRefusals },
      },
    },
    async (request) => {
      const q = request.query
      const filter = { ...q, window: window(q, retention), limit: q.limit ?? 50 }
      const flows = await searches.run((storage) => searchFlows(storage, filter, timeout))
      return { flows }
    },
  )

  app.get(
    '/api/flows/:flowId',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'A business flow: its traces and business events in time order',
        tags: ['flows'],
        params: Type.Object({ flowId: Type.String({ minLength: 1, maxLength: 500 }) }),
        querystring: Type.Object(
          { ...Window, limit: Limit(10000, 1000) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            flowId: Type.String(),
            traces: Type.Array(TraceSummary),
            events: Type.Array(BusinessEvent),
          }),
          404: ErrorBody,
          ...QueryRefusals,
        },
      },
    },
    async (request, reply) => {
      const { flowId } = request.params
      const w = window(request.query, retention)
      const flow = await searches.run((storage) =>
        getFlow(storage, flowId, w, request.query.limit ?? 1000, timeout),
      )
      if (flow.traces.length === 0 && flow.events.length === 0) {
        return reply
          .code(404)
          .send({ statusCode: 404, error: 'Not Found', message: `flow ${flowId} not found` })
      }
      return flow
    },
  )

  app.get(
    '/api/events',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Business events matching every filter, oldest first',
        tags: ['flows'],
        querystring: Type.Object(
          {
            flowId: Type.Optional(Type.String({ minLength: 1 })),
            entity: Type.Optional(Type.String({ minLength: 1 })),
            key: Type.Optional(Type.String({ minLength: 1 })),
            system: Type.Optional(Type.String({ minLength: 1 })),
            type: Type.Optional(Type.String({ minLength: 1 })),
            status: Type.Optional(Type.String()),
            ...Window,
            limit: Limit(10000, 1000),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ events: Type.Array(BusinessEvent) }), ...QueryRefusals },
      },
    },
    async (request) => {
      const q = request.query
      const filter = { ...q, window: window(q, retention), limit: q.limit ?? 1000 }
      const events = await searches.run((storage) => findEvents(storage, filter, timeout))
      return { events }
    },
  )
}
