import type { FastifyRequest } from 'fastify'
import type { Config } from '../config/schema.js'
import { arrival, type Arrival } from '../otlp/arrival.js'
import { nowNanos } from '../time/instant.js'

/** Seconds a sender should wait when the write queue is full. */
export const RETRY_AFTER_SECONDS = 2

export function isJson(request: FastifyRequest): boolean {
  const type = request.headers['content-type'] ?? ''
  return !type.toLowerCase().includes('protobuf')
}

/** A request arriving now, checked against the configured retention and caps. */
export const arrivingNow = (config: Config): Arrival =>
  arrival(nowNanos().toString(), {
    retentionDays: config.retentionDays,
    maxItems: config.ingest.maxItemsPerRequest,
    maxPerItem: config.ingest.maxEntriesPerItem,
  })

/** Thrown to answer 503 with Retry-After, in the request's content type. */
export class QueueFull extends Error {
  override name = 'QueueFull'
  constructor() {
    super('the write queue is full; retry after the interval in Retry-After')
  }
}

/** What a sender is told when its rows could not be written to disk (SpoolError). */
export const SPOOL_FAILED =
  'the collector cannot write to its disk right now; retry after the interval in Retry-After'
