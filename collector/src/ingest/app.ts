import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { encodeStatus, RpcCode } from '../otlp-to-native/proto.js'
import { BodyError, InFlightBudget, readBody } from './body.js'
import { spoolDir } from '../storage/insert.js'
import { SpoolError } from '../storage/spool.js'
import { isProtobuf, QueueFull, RETRY_AFTER_SECONDS, SPOOL_FAILED } from './common.js'
import { DecodePool } from './decode-pool.js'
import { eventRoutes } from './event-routes.js'
import { otlpRoutes } from './otlp-routes.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Bytes of the in-flight budget this request holds until it is answered. */
    heldBytes: number
  }
}

const BODY_TYPES = [
  'application/x-protobuf',
  'application/protobuf',
  'application/json',
  'application/x-ndjson',
]

/** Answers an error the OTLP way: a google.rpc.Status in the request's own encoding. */
function sendStatus(
  request: FastifyRequest,
  reply: FastifyReply,
  http: number,
  message: string,
): FastifyReply {
  const code =
    http === 503 || http === 429
      ? RpcCode.UNAVAILABLE
      : http >= 500
        ? RpcCode.INTERNAL
        : RpcCode.INVALID_ARGUMENT
  // A rate limit says when its window reopens; a full queue, the usual wait.
  if ((http === 503 || http === 429) && !reply.hasHeader('retry-after'))
    reply.header('retry-after', String(RETRY_AFTER_SECONDS))
  if (isProtobuf(request) && http !== 415) {
    return reply
      .code(http)
      .type('application/x-protobuf')
      .send(Buffer.from(encodeStatus(code, message)))
  }
  return reply.code(http).type('application/json').send({ code, message })
}

/** The OTLP/HTTP and business-event receiver (port 4318). */
export async function ingestApp(app: FastifyInstance): Promise<void> {
  const { config } = app.reckon
  const budget = new InFlightBudget(config.ingest.maxInFlightBytes)
  app.decorateRequest('heldBytes', 0)

  app.removeAllContentTypeParsers()
  app.addContentTypeParser(BODY_TYPES, (request, payload, done) => {
    readBody(payload, request.headers['content-encoding'], {
      maxBytes: config.ingest.maxBodyBytes,
      budget,
      onTaken: (n) => (request.heldBytes += n),
    }).then(
      (body) => done(null, body),
      (err: Error) => done(err),
    )
  })
  app.addHook('onResponse', async (request) => {
    budget.give(request.heldBytes)
    request.heldBytes = 0
  })

  app.setErrorHandler((err: FastifyError | BodyError | QueueFull, request, reply) => {
    if (err instanceof BodyError) return sendStatus(request, reply, err.status, err.message)
    if (err instanceof QueueFull) return sendStatus(request, reply, 503, err.message)
    if (err instanceof SpoolError) {
      // Nothing was kept: the sender retries, and the operator reads the cause in the log.
      request.log.error({ err }, 'spooling rows failed')
      return sendStatus(request, reply, 503, SPOOL_FAILED)
    }
    const status = 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : 500
    if (status === 415) {
      return sendStatus(
        request,
        reply,
        415,
        `Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')} is not supported; use application/x-protobuf or application/json`,
      )
    }
    if (status < 500) return sendStatus(request, reply, status, err.message)
    request.log.error({ err }, 'ingest request failed')
    return sendStatus(request, reply, 500, 'internal error')
  })
  app.setNotFoundHandler((request, reply) =>
    sendStatus(
      request,
      reply,
      404,
      `no receiver at ${request.method} ${request.url}; use /v1/traces, /v1/logs, /v1/metrics or /v1/events`,
    ),
  )

  app.addHook('onResponse', async (request, reply) => {
    const signal = /^\/v1\/(traces|logs|metrics|events)/.exec(request.url)?.[1]
    if (signal) app.reckon.metrics.requests.inc({ signal, status: String(reply.statusCode) })
  })

  // Embedded, decode threads spool rows beside the engine's data for it to read (spool.ts).
  const { target } = app.reckon.storage
  const decoder = new DecodePool(
    config.ingest.decodeThreads,
    app.reckon.log.child({ component: 'decode' }),
    target.kind === 'embedded'
      ? {
          dir: spoolDir(target.dataDir),
          database: app.reckon.storage.database,
          recycler: app.reckon.pipeline.recycler,
        }
      : undefined,
  )
  app.addHook('onClose', () => decoder.close())

  app.get('/healthz', { config: { role: 'public' } }, async () => ({ status: 'ok' }))
  otlpRoutes(app, decoder)
  eventRoutes(app)
}
