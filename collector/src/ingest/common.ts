import type { FastifyRequest } from 'fastify'
import type { Config } from '../config/schema.js'
import { arrival, type Arrival } from '../otlp-to-native/arrival.js'
import { nowNanos } from '../time/instant.js'

/** Seconds a sender should wait when the write queue is full. */
export const RETRY_AFTER_SECONDS = 2

/**
 * The request's media type without its parameters, lower-cased: type and subtype are
 * case-insensitive (RFC 9110 §8.3.1), so `Application/X-Protobuf` is protobuf.
 */
export function mediaType(request: FastifyRequest): string {
  const header = request.headers['content-type'] ?? ''
  return (header.split(';', 1)[0] ?? '').trim().toLowerCase()
}

const PROTOBUF_TYPES = new Set(['application/x-protobuf', 'application/protobuf'])

export const isProtobuf = (request: FastifyRequest): boolean =>
  PROTOBUF_TYPES.has(mediaType(request))

/** OTLP bodies are JSON unless they say protobuf. */
export const isJson = (request: FastifyRequest): boolean => !isProtobuf(request)

export const isNdjson = (request: FastifyRequest): boolean =>
  mediaType(request) === 'application/x-ndjson'

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
