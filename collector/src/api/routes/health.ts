import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'

const Readiness = Type.Object({
  status: Type.String({ description: "'ready' or 'not ready'" }),
  storage: Type.Boolean(),
  migrations: Type.Boolean(),
  reason: Type.Optional(Type.String({ description: 'Why not ready' })),
})

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { metrics } = app.reckon
  const { readiness } = app.reads

  app.get(
    '/healthz',
    {
      schema: {
        summary: 'The process is up',
        tags: ['health'],
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Storage is reachable and every migration is applied',
        description:
          'Asked of the engine on a session of its own, so it never waits behind searches or inserts; an engine that does not answer within 2 s is reported not ready.',
        tags: ['health'],
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      const state = await readiness.check()
      const ready = state.storage && state.migrations
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', ...state })
    },
  )

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics of Reckon itself',
        tags: ['health'],
        response: {
          200: {
            description: 'Prometheus text exposition format 0.0.4',
            content: { 'text/plain; version=0.0.4; charset=utf-8': { schema: Type.String() } },
          },
        },
      },
    },
    async (_request, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  )
}
