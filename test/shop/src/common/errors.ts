import type { FastifyInstance } from 'fastify'
import { HttpFault } from './faults.js'

/** One error handler per service: injected faults say so, real faults are logged and hidden. */
export function handleErrors(app: FastifyInstance): void {
  app.setErrorHandler((err: Error & { statusCode?: number }, request, reply) => {
    if (err instanceof HttpFault) return reply.code(err.statusCode).send({ error: err.message })
    const status = err.statusCode ?? 500
    if (status >= 500) request.log.error({ err }, 'request failed')
    return reply.code(status).send({ error: status >= 500 ? 'internal error' : err.message })
  })
}
