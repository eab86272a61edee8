import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { queryRoute } from '../reads.js'
import { findTransitions, listBreakers } from '../queries/breakers.js'
import { listInstances } from '../queries/instances.js'
import { Breaker, Instance, Limit, QueryRefusals, Transition, Window } from '../schemas.js'
import { DAY_NS, window } from '../time.js'
import { nowNanos } from '../../time/instant.js'

const MINUTE_NS = 60_000_000_000n
const WEEK_SECONDS = 604_800
export const breakerRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { searches, timeout, retentionNs: retention } = queryRoute(app)

  app.get(
    '/api/breakers',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Current state of every circuit breaker, per service and instance',
        description: 'The latest report in the window (default: the last 15 minutes).',
        tags: ['breakers'],
        querystring: Type.Object(
          { service: Type.Optional(Type.String({ minLength: 1 })), ...Window },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ breakers: Type.Array(Breaker) }), ...QueryRefusals },
      },
    },
    async (request) => {
      const w = window(request.query, 15n * MINUTE_NS)
      const since = (BigInt(w.to) - retention).toString()
      const filter = { service: request.query.service, window: w, transitionsSince: since }
      return { breakers: await searches.run((storage) => listBreakers(storage, filter, timeout)) }
    },
  )

  app.get(
    '/api/breakers/transitions',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Breaker state changes with their exact times, oldest first (the timeline)',
        tags: ['breakers'],
        querystring: Type.Object(
          {
            service: Type.Optional(Type.String({ minLength: 1 })),
            name: Type.Optional(Type.String({ minLength: 1 })),
            ...Window,
            limit: Limit(10000, 1000),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ transitions: Type.Array(Transition) }), ...QueryRefusals },
      },
    },
    async (request) => {
      const q = request.query
      const filter = { ...q, window: window(q, DAY_NS), limit: q.limit ?? 1000 }
      return {
        transitions: await searches.run((storage) => findTransitions(storage, filter, timeout)),
      }
    },
  )

  app.get(
    '/api/health',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Every instance that sent a heartbeat: up, stale or down, with its figures',
        description:
          'Instances silent for the whole window (default: the last hour) are not listed.',
        tags: ['health'],
        querystring: Type.Object(
          {
            service: Type.Optional(Type.String({ minLength: 1 })),
            staleAfterSeconds: Type.Optional(
              Type.Integer({ minimum: 1, maximum: WEEK_SECONDS, default: 30 }),
            ),
            downAfterSeconds: Type.Optional(
              Type.Integer({ minimum: 1, maximum: WEEK_SECONDS, default: 120 }),
            ),
            ...Window,
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ instances: Type.Array(Instance) }), ...QueryRefusals },
      },
    },
    async (request) => {
      const q = request.query
      const filter = {
        service: q.service,
        window: window(q, 60n * MINUTE_NS),
        thresholds: {
          staleAfterSeconds: q.staleAfterSeconds ?? 30,
          downAfterSeconds: Math.max(q.downAfterSeconds ?? 120, q.staleAfterSeconds ?? 30),
        },
        nowNs: nowNanos(),
      }
      return { instances: await searches.run((storage) => listInstances(storage, filter, timeout)) }
    },
  )
}
