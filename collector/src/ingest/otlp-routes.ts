import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { encodeResponse, jsonResponse, type PartialSuccess } from '../otlp-to-native/proto.js'
import { BodyError } from './body.js'
import { arrivingNow, isJson, QueueFull } from './common.js'
import type { DecodePool } from './decode-pool.js'

/** POST /v1/traces, /v1/logs, /v1/metrics as the OTLP/HTTP spec describes them. */
export function otlpRoutes(app: FastifyInstance, decoder: DecodePool): void {
  for (const signal of ['traces', 'logs', 'metrics'] as const) {
    const options = { config: { role: 'ingest' as const } }
    app.post(`/v1/${signal}`, options, async (request: FastifyRequest, reply: FastifyReply) => {
      const json = isJson(request)
      const at = arrivingNow(app.reckon.config)
      const conversion = await decoder.convert(signal, request.body as Buffer, json, at)
      if (conversion.kind === 'refused') throw new BodyError(conversion.status, conversion.message)
      const c = conversion.converted
      const { metrics, pipeline } = app.reckon
      // Decode threads have spooled their rows already; rows converted here are spooled now.
      if (!pipeline.offer(await pipeline.spool(c.batches))) {
        metrics.items.inc({ signal, outcome: 'refused' }, c.accepted)
        throw new QueueFull()
      }
      metrics.items.inc({ signal, outcome: 'accepted' }, c.accepted)
      if (c.rejected > 0) metrics.items.inc({ signal, outcome: 'rejected' }, c.rejected)
      const partial: PartialSuccess | undefined =
        c.rejected > 0 ? { rejected: c.rejected, errorMessage: c.errors.join('; ') } : undefined
      if (json) return reply.type('application/json').send(jsonResponse(signal, partial))
      return reply.type('application/x-protobuf').send(Buffer.from(encodeResponse(signal, partial)))
    })
  }
}
