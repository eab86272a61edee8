import type { FastifyReply, FastifyRequest } from 'fastify'
import { BoundedMap } from './bounded-map.js'

interface Outcome {
  status: number
  body: unknown
}

/**
 * Idempotency-Key handling for compensation endpoints (the reconciler may call them twice):
 * the first request with a key does the work; any later one with the same key gets the
 * same answer, marked `Idempotent-Replayed: true`, and does nothing. A request arriving
 * while the first is still running waits for it rather than doing the work again.
 */
export class IdempotencyStore {
  private readonly outcomes = new BoundedMap<string, Promise<Outcome>>(100_000)

  async handle(
    request: FastifyRequest,
    reply: FastifyReply,
    work: () => Promise<Outcome>,
  ): Promise<FastifyReply> {
    const key = request.headers['idempotency-key']
    if (typeof key !== 'string' || key.length === 0 || key.length > 200) {
      return reply
        .code(400)
        .send({ error: 'the Idempotency-Key header is required (1-200 characters)' })
    }
    const scoped = `${request.routeOptions.url ?? ''}\0${key}`
    const earlier = this.outcomes.get(scoped)
    if (earlier) {
      const o = await earlier
      return reply.header('idempotent-replayed', 'true').code(o.status).send(o.body)
    }
    const running = work()
    this.outcomes.set(scoped, running)
    try {
      const o = await running
      return reply.code(o.status).send(o.body)
    } catch (err) {
      this.outcomes.delete(scoped) // a failure is not an answer: the caller may try again
      throw err
    }
  }
}
