import type { FastifyInstance } from 'fastify'
import type { Config } from '../config/index.js'
import type { Storage } from '../storage/client.js'
import { costCaps } from './query-limits.js'
import { ReadPool } from './read-pool.js'
import { Readiness } from './readiness.js'
import { openSession } from './sessions.js'
import { DAY_NS } from './time.js'

/** How long `/readyz` waits for the engine to answer `SELECT 1` before saying not ready. */
export const READINESS_DEADLINE_MS = 2000

/** The API's ways into the engine, apart from one another and from ingest's writes. */
export interface ApiReads {
  /** Every query but a trace view and the switches: searches, flows, RED, metrics, breakers. */
  searches: ReadPool
  traces: ReadPool
  /** What the SDKs poll and operators change in an incident: not behind searches. */
  switches: ReadPool
  readiness: Readiness
  close(): Promise<void>
}

export function openReads(storage: Storage, config: Config): ApiReads {
  const caps = costCaps(config)
  const q = config.query
  const reads = {
    searches: new ReadPool('searches', storage, config, q.searches, caps),
    traces: new ReadPool('trace reads', storage, config, q.traceReads, caps),
    switches: new ReadPool('switch reads', storage, config, 2, caps),
    readiness: new Readiness(openSession(storage, config), READINESS_DEADLINE_MS),
  }
  return {
    ...reads,
    close: async () => {
      await Promise.all([
        reads.searches.close(),
        reads.traces.close(),
        reads.switches.close(),
        reads.readiness.close(),
      ])
    },
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    reads: ApiReads
  }
}

/** What every query route starts from: the read pools, the query timeout, the retention. */
export function queryRoute(app: FastifyInstance): ApiReads & {
  timeout: number
  retentionNs: bigint
} {
  const { config } = app.reckon
  return {
    ...app.reads,
    timeout: config.query.timeoutSeconds,
    retentionNs: BigInt(config.retentionDays) * DAY_NS,
  }
}
