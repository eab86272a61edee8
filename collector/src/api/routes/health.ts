import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'

const Recovering = Type.Boolean({
  description:
    'The spool files a killed run left are still being stored (meanwhile ingest answers 503 while they fill the write queue)',
})

const Readiness = Type.Object({
  status: Type.String({ description: "'ready' or 'not ready'" }),
  storage: Type.Boolean(),
  migrations: Type.Boolean(),
  recovering: Recovering,
  reason: Type.Optional(
    Type.String({
      description: 'Why storage is not ready: the engine, migrations, or writes being retried',
    }),
  ),
})

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { metrics, pipeline } = app.reckon
  const { readiness } = app.reads

  app.get(
    '/healthz',
    {
      config: { role: 'public' },
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
      config: { role: 'public' },
      schema: {
        summary:
          'Storage is reachable and takes writes, every migration is applied, no spool left by a killed run is being stored',
        description:
          'Asked of the engine on a session of its own, so it never waits behind searches or inserts; an engine that does not answer within 2 s is reported not ready.',
        tags: ['health'],
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      const state = await readiness.check()
      const recovering = pipeline.recovering
      // The engine may answer and still refuse every write (no disk space, a table gone).
      const cannotStore = pipeline.cannotStore
      const ready = state.storage && state.migrations && !recovering && !cannotStore
      const reason = state.reason ?? cannotStore
      return reply.code(ready ? 200 : 503).send({
        status: ready ? 'ready' : 'not ready',
        ...state,
        recovering,
        ...(reason && { reason }),
      })
    },
  )

  app.get(
    '/metrics',
    {
      config: { role: 'viewer' },
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
