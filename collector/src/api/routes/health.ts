import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { isMigrated } from '../../storage/migrate.js'

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { storage, metrics } = app.reckon

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
          }),
          503: Type.Object({
            status: Type.String(),
            storage: Type.Boolean(),
            migrations: Type.Boolean(),
          }),
        },
      },
    },
    async (_request, reply) => {
      const ping = await storage.client.ping().catch(() => ({ success: false }))
      const migrations = ping.success ? await isMigrated(storage) : false
      const ready = ping.success && migrations
      return reply
        .code(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'not ready', storage: ping.success, migrations })
    },
  )

  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics of Reckon itself', tags: ['health'] } },
    async (_request, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  )
}
