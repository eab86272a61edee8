import type { FastifyRequest } from 'fastify'
import type { Identity } from '@reckon/collector/auth'

/**
 * Who is asking, as the query API's auth guard found it (`key:ci`, `user:alice`, `local`
 * with auth off on loopback). Audit fields are never taken from what the caller writes.
 */
export function identityOf(request: FastifyRequest): string {
  const who: Identity | null = request.identity
  // The guard sets it before any handler of a route with a role runs.
  if (!who) throw new Error(`no identity on ${request.method} ${request.url}`)
  return who.name
}
