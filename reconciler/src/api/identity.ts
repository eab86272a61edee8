import type { FastifyRequest } from 'fastify'

/**
 * Who is asking. Until keys and sign-in exist every caller is `local` (Reckon bound to
 * loopback); audit fields are never taken from what the caller writes.
 */
export const identityOf = (_request: FastifyRequest): string => 'local'
