import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { isMigrated } from '../../storage/migrate.js'

const Recovering = Type.Boolean({
  description:
    'The spool files a killed run left are still being stored (meanwhile ingest answers 503 while they fill the write queue)',
})

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { storage, metrics, pipeline } = app.reckon

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
        tags: ['health'],
        response: {
          200: Type.Object({
            status: Type.String(),
            storage: Type.Boolean(),
            migrations: Type.Boolean(),
            recovering: Recovering,
          }),
          503: Type.Object({
            status: Type.String(),
            storage: Type.Boolean(),
            migrations: Type.Boolean(),
            recovering: Recovering,
          }),
        },
      },
    },
    async (_request, reply) => {
      const ping = await storage.client.ping().catch(() => ({ success: false }))
      const migrations = ping.success ? await isMigrated(storage) : false
      const recovering = pipeline.recovering
      const ready = ping.success && migrations && !recovering
      return reply.code(ready ? 200 : 503).send({
        status: ready ? 'ready' : 'not ready',
        storage: ping.success,
        migrations,
        recovering,
      })
    },
  )

  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics of Reckon itself', tags: ['health'] } },
    async (_request, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  )
}
