import type { Storage } from '../storage/client.js'
import { isMigrated } from '../storage/migrate.js'

export interface ReadinessState {
  storage: boolean
  migrations: boolean
  /** Why not ready, when not. */
  reason?: string
}

/**
 * What `/readyz` reports: whether the engine answers and every migration is applied, asked
 * on a session of its own (see sessions.ts), so the answer waits for no search and no
 * insert. Probes never pile up: callers share the one in flight. A probe that has not
 * answered within `deadlineMs` makes the answer "not ready" at once, whatever it waits on.
 */
export class Readiness {
  private inFlight: { since: number; result: Promise<ReadinessState> } | undefined

  constructor(
    private readonly probe: Storage,
    private readonly deadlineMs: number,
  ) {}

  async check(): Promise<ReadinessState> {
    const now = performance.now()
    const current = (this.inFlight ??= { since: now, result: this.run() })
    const left = this.deadlineMs - (now - current.since)
    const late: ReadinessState = {
      storage: false,
      migrations: false,
      reason: `storage did not answer within ${this.deadlineMs} ms`,
    }
    if (left <= 0) return late
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<ReadinessState>((resolve) => {
      timer = setTimeout(() => resolve(late), left)
    })
    try {
      return await Promise.race([current.result, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  private async run(): Promise<ReadinessState> {
    try {
      const ping = await this.probe.client.ping()
      if (!ping.success) {
        return { storage: false, migrations: false, reason: `storage: ${ping.error.message}` }
      }
      const migrations = await isMigrated(this.probe)
      return migrations
        ? { storage: true, migrations }
        : { storage: true, migrations, reason: 'migrations are not all applied' }
    } catch (err) {
      return {
        storage: false,
        migrations: false,
        reason: `storage: ${err instanceof Error ? err.message : String(err)}`,
      }
    } finally {
      this.inFlight = undefined
    }
  }

  close(): Promise<void> {
    return this.probe.close()
  }
}
