import type { ClickHouseSettings } from '@clickhouse/client'
import type { Config } from '../config/index.js'
import type { Storage } from '../storage/client.js'
import { ReadGate } from './read-gate.js'
import { openSession } from './sessions.js'

/**
 * Reads of one kind, `running` at a time and as many again waiting (more are answered 503),
 * each on a session of its own when the engine is embedded, so the ones admitted run side
 * by side rather than queueing inside the engine, and none waits behind ingest's inserts
 * or another kind of read.
 */
export class ReadPool {
  private readonly gate: ReadGate
  private readonly free: Storage[]
  private readonly sessions: Storage[]

  constructor(
    what: string,
    storage: Storage,
    config: Config,
    running: number,
    settings: ClickHouseSettings,
  ) {
    this.gate = new ReadGate(what, running, running)
    // A server is one client for all: it runs the queries side by side itself.
    const count = storage.target.kind === 'embedded' ? running : 1
    this.sessions = Array.from({ length: count }, () => openSession(storage, config, settings))
    this.free = Array.from({ length: running }, (_, i) => this.sessions[i % count]!)
  }

  /** Runs `read` on a free session; throws ReadsBusy at once when the waiting line is full. */
  run<T>(read: (storage: Storage) => Promise<T>): Promise<T> {
    return this.gate.run(async () => {
      // The gate admits no more reads than there are places, so one is always free here.
      const session = this.free.pop()!
      try {
        return await read(session)
      } finally {
        this.free.push(session)
      }
    })
  }

  async close(): Promise<void> {
    await Promise.all(this.sessions.map((s) => s.close()))
  }
}
