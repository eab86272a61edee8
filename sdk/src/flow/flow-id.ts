import { createHash } from 'node:crypto'
import { hostname } from 'node:os'
import { systemClock, type Clock } from '../clock.js'

// Snowflake layout (seed 000, global IDs): 41 bits of milliseconds since EPOCH, 10 bits of
// worker, 12 bits of sequence. IDs sort by time, fit in a signed 64-bit integer and are
// written as decimal strings, so JSON and baggage carry them without loss.
export const FLOW_EPOCH_MS = Date.UTC(2024, 0, 1)
const WORKER_BITS = 10n
const SEQUENCE_BITS = 12n
export const MAX_WORKER = (1 << Number(WORKER_BITS)) - 1
const MAX_SEQUENCE = (1 << Number(SEQUENCE_BITS)) - 1
const MAX_TIME = 2 ** 41 - 1

/** The clock stepped back further than the generator is willing to wait out. */
export class ClockMovedBackwardsError extends Error {
  override name = 'ClockMovedBackwardsError'
}

export interface FlowIdOptions {
  /** 0–1023, unique among the processes issuing IDs. Default: RECKON_WORKER_ID, else derived. */
  workerId?: number
  /** How far the clock may step back before `next()` fails instead of waiting. Default 10 ms. */
  maxBackwardsMs?: number
  clock?: Clock
  /** Blocks the thread for `ms` (waiting out a small step back or a full millisecond). */
  sleepSync?: (ms: number) => void
}

/** Blocks without spinning: Atomics.wait on a private buffer that nobody notifies. */
const blockingSleep = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

/**
 * A worker ID from RECKON_WORKER_ID, or else a hash of host name and process ID. The
 * derived one can collide between two processes (1 in 1024 per pair): set the variable
 * when several instances of a service run on a fleet.
 */
export function defaultWorkerId(env: NodeJS.ProcessEnv = process.env): number {
  const configured = env.RECKON_WORKER_ID
  if (configured !== undefined && configured !== '') {
    const n = Number(configured)
    if (!Number.isInteger(n) || n < 0 || n > MAX_WORKER) {
      throw new RangeError(`RECKON_WORKER_ID must be an integer 0–${MAX_WORKER}, got ${configured}`)
    }
    return n
  }
  const digest = createHash('sha256').update(`${hostname()}:${process.pid}`).digest()
  return digest.readUInt16BE(0) & MAX_WORKER
}

/** Issues time-ordered, never-repeating flow IDs for one worker. */
export class FlowIdGenerator {
  readonly workerId: number
  private readonly clock: Clock
  private readonly maxBackwardsMs: number
  private readonly sleepSync: (ms: number) => void
  private lastMs = -1
  private sequence = 0

  constructor(opts: FlowIdOptions = {}) {
    const workerId = opts.workerId ?? defaultWorkerId()
    if (!Number.isInteger(workerId) || workerId < 0 || workerId > MAX_WORKER) {
      throw new RangeError(`workerId must be an integer 0–${MAX_WORKER}, got ${workerId}`)
    }
    this.workerId = workerId
    this.clock = opts.clock ?? systemClock
    this.maxBackwardsMs = opts.maxBackwardsMs ?? 10
    this.sleepSync = opts.sleepSync ?? blockingSleep
  }

  next(): string {
    let now = this.elapsed()
    if (now < this.lastMs) {
      const behind = this.lastMs - now
      if (behind > this.maxBackwardsMs) {
        throw new ClockMovedBackwardsError(
          `clock moved back ${behind} ms (more than the ${this.maxBackwardsMs} ms the flow ID generator waits out); refusing to issue IDs that could repeat`,
        )
      }
      // A small step back (an NTP slew): wait until the clock passes the last ID's time.
      while (now < this.lastMs) {
        this.sleepSync(this.lastMs - now)
        now = this.elapsed()
      }
    }
    if (now === this.lastMs) {
      this.sequence = (this.sequence + 1) & MAX_SEQUENCE
      if (this.sequence === 0) {
        // 4096 IDs in this millisecond already: wait for the next one.
        while (now <= this.lastMs) {
          this.sleepSync(1)
          now = this.elapsed()
        }
      }
    } else {
      this.sequence = 0
    }
    this.lastMs = now
    return (
      (BigInt(now) << (WORKER_BITS + SEQUENCE_BITS)) |
      (BigInt(this.workerId) << SEQUENCE_BITS) |
      BigInt(this.sequence)
    ).toString()
  }

  private elapsed(): number {
    const ms = this.clock.now() - FLOW_EPOCH_MS
    if (ms < 0 || ms > MAX_TIME) {
      throw new ClockMovedBackwardsError(
        `clock reads ${new Date(this.clock.now()).toISOString()}, outside the flow ID range`,
      )
    }
    return ms
  }
}

export interface FlowIdParts {
  /** When the ID was issued. */
  time: Date
  workerId: number
  sequence: number
}

/** The parts of a generated flow ID, or undefined for a business key used as a flow ID. */
export function parseFlowId(id: string): FlowIdParts | undefined {
  if (!/^\d{1,19}$/.test(id)) return undefined
  const n = BigInt(id)
  if (n >= 1n << 63n) return undefined
  const ms = Number(n >> (WORKER_BITS + SEQUENCE_BITS))
  return {
    time: new Date(FLOW_EPOCH_MS + ms),
    workerId: Number((n >> SEQUENCE_BITS) & BigInt(MAX_WORKER)),
    sequence: Number(n & BigInt(MAX_SEQUENCE)),
  }
}
