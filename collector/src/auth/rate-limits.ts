import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'

/** Whose budget a request spends: its key's, else its address's. */
export const budgetOf = (request: FastifyRequest): string =>
  request.identity?.keyId !== undefined ? `key:${request.identity.keyId}` : `ip:${request.ip}`

/** Refused with 429 and Retry-After (the error handlers give it each port's shape). */
class RateLimited extends Error {
  override name = 'RateLimited'
  readonly statusCode = 429
}

/**
 * Each key (or, without one, each address) gets `max` requests a second or minute, so one
 * sender cannot starve the rest. Runs after the auth guard, which tells whose request it
 * is. The counters live in an LRU of at most `keys` entries.
 */
export async function rateLimits(
  app: FastifyInstance,
  opts: { max: number; per: 'second' | 'minute'; what: string },
): Promise<void> {
  await app.register(rateLimit, {
    global: opts.max > 0,
    max: opts.max > 0 ? opts.max : Number.MAX_SAFE_INTEGER,
    timeWindow: opts.per === 'second' ? 1000 : 60_000,
    cache: 10_000,
    keyGenerator: budgetOf,
    addHeadersOnExceeding: {
      'x-ratelimit-limit': false,
      'x-ratelimit-remaining': false,
      'x-ratelimit-reset': false,
    },
    errorResponseBuilder: (_request, context) =>
      new RateLimited(
        `more than ${context.max} ${opts.what} a ${opts.per} from one key or address; retry in ${Math.max(1, Math.ceil(context.ttl / 1000))} s`,
      ),
  })
}
