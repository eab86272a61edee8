import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { queryRoute } from '../reads.js'
import { listDependencies, listOperations, listServices } from '../queries/services.js'
import { Dependency, Operation, QueryRefusals, Service, Window } from '../schemas.js'
import { HOUR_NS, window } from '../time.js'

const WindowQuery = Type.Object(Window, { additionalProperties: false })

export const serviceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { searches, timeout } = queryRoute(app)

  app.get(
    '/api/services',
    {
      config: { role: 'viewer' },
      schema: {
        summary:
          'Rate, errors and duration (p50/p95/p99) of each service over the window (default 1 h)',
        tags: ['services'],
        querystring: WindowQuery,
        response: { 200: Type.Object({ services: Type.Array(Service) }), ...QueryRefusals },
      },
    },
    async (request) => {
      const w = window(request.query, HOUR_NS)
      return { services: await searches.run((storage) => listServices(storage, w, timeout)) }
    },
  )

  app.get(
    '/api/services/:name/operations',
    {
      config: { role: 'viewer' },
      schema: {
        summary: "A service's operations with the same figures",
        tags: ['services'],
        params: Type.Object({ name: Type.String({ minLength: 1 }) }),
        querystring: WindowQuery,
        response: {
          200: Type.Object({ service: Type.String(), operations: Type.Array(Operation) }),
          ...QueryRefusals,
        },
      },
    },
    async (request) => {
      const w = window(request.query, HOUR_NS)
      const { name } = request.params
      return {
        service: name,
        operations: await searches.run((storage) => listOperations(storage, name, w, timeout)),
      }
    },
  )

  app.get(
    '/api/dependencies',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Caller → callee edges between services, from parent/child spans',
        tags: ['services'],
        querystring: WindowQuery,
        response: { 200: Type.Object({ dependencies: Type.Array(Dependency) }), ...QueryRefusals },
      },
    },
    async (request) => {
      const w = window(request.query, HOUR_NS)
      return {
        dependencies: await searches.run((storage) => listDependencies(storage, w, timeout)),
      }
    },
  )
}
