import type { Storage } from './client.js'
import type { InsertFormat } from './insert.js'
import { unspool, type SpooledRows } from './spool.js'

/**
 * Rows encoded in the table's insert format, held as bytes outside the JS heap. Chunks of
 * both formats concatenate: JSONEachRow lines end in '\n', Native blocks follow each other.
 */
export interface EncodedRows {
  data: Buffer
  rows: number
}

/** What a write queue holds: rows in memory, or in a spool file a decode thread wrote. */
export type QueuedRows = EncodedRows | SpooledRows

export const isSpooled = (rows: QueuedRows): rows is SpooledRows => 'file' in rows
export const queuedBytes = (rows: QueuedRows): number =>
  isSpooled(rows) ? rows.bytes : rows.data.length

/** Text rows for the tables that take JSON, as bytes. */
export const jsonRows = (text: string, rows: number): EncodedRows => ({
  data: Buffer.from(text),
  rows,
})

export interface WriterOptions {
  storage: Storage
  table: string
  format: InsertFormat
  /** Flush as soon as this many rows are queued. */
  batchRows: number
  /** Flush whatever is queued after this long. */
  flushIntervalMs: number
  /** The queue refuses more once it holds this many bytes of encoded rows. */
  maxQueueBytes: number
  /** What becomes of spool files once their rows are stored or dropped; default: deleted. */
  discard?: (files: SpooledRows[]) => Promise<void>
  /** Called after every attempt; feeds /metrics. */
  onFlush?: (outcome: FlushOutcome) => void
  log?: (message: string, err?: unknown) => void
}

export type FlushOutcome =
  | { kind: 'written'; rows: number; seconds: number }
  | { kind: 'retrying'; rows: number; error: string }
  | { kind: 'dropped'; rows: number; error: string }

const PERMANENT_ATTEMPTS = 3
const MAX_BACKOFF_MS = 5000

/**
 * Batches rows for one table. Callers enqueue only after `hasRoom` said yes, so memory is
 * bounded by `maxQueueBytes`; once enqueued, rows are kept until written. A batch that the
 * server rejects as bad data is dropped (and counted) after a few attempts; connection
 * trouble and a server's "not now" are retried until they pass, with the full queue pushing
 * back on senders.
 */
export class TableWriter {
  readonly table: string
  private readonly opts: WriterOptions
  private chunks: QueuedRows[] = []
  private queuedRows = 0
  private queuedBytes = 0
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> | undefined
  private attempts = 0
  private closed = false

  constructor(opts: WriterOptions) {
    this.opts = opts
    this.table = opts.table
  }

  get depth(): { rows: number; bytes: number } {
    return { rows: this.queuedRows, bytes: this.queuedBytes }
  }

  hasRoom(bytes: number): boolean {
    return !this.closed && this.queuedBytes + bytes <= this.opts.maxQueueBytes
  }

  /** Queue rows; the caller has checked `hasRoom` (all-or-nothing across tables). */
  enqueue(rows: QueuedRows): void {
    if (rows.rows === 0) return
    this.chunks.push(rows)
    this.queuedRows += rows.rows
    this.queuedBytes += queuedBytes(rows)
    this.schedule()
  }

  /** Writes everything queued now; resolves when it is stored or dropped. */
  async flush(): Promise<void> {
    while (this.chunks.length > 0 || this.flushing) {
      if (this.flushing) {
        await this.flushing
        continue
      }
      this.clearTimer()
      this.flushing = this.flushOnce().finally(() => (this.flushing = undefined))
      await this.flushing
    }
  }

  /** Stop taking rows and write what was acknowledged. */
  async shutdown(): Promise<void> {
    this.closed = true
    this.clearTimer()
    await this.flush()
  }

  private schedule(): void {
    if (this.flushing) return
    if (this.queuedRows >= this.opts.batchRows) {
      this.clearTimer()
      this.flushing = this.flushOnce().finally(() => {
        this.flushing = undefined
        this.schedule()
      })
      return
    }
    if (this.chunks.length > 0 && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined
        if (this.flushing) return
        this.flushing = this.flushOnce().finally(() => {
          this.flushing = undefined
          this.schedule()
        })
      }, this.opts.flushIntervalMs)
      this.timer.unref()
    }
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Takes up to a batch from the front, writes it, and handles failure. Never throws. */
  private async flushOnce(): Promise<void> {
    const batch: QueuedRows[] = []
    let rows = 0
    for (const chunk of this.chunks) {
      if (batch.length > 0 && rows + chunk.rows > this.opts.batchRows) break
      batch.push(chunk)
      rows += chunk.rows
    }
    if (batch.length === 0) return
    const started = performance.now()
    try {
      const { storage } = this.opts
      await storage.insertRows(
        `${storage.database}.${this.table}`,
        this.opts.format,
        batch.map((c) => (isSpooled(c) ? c : c.data)),
      )
      await this.release(batch.length, rows, batch)
      this.attempts = 0
      this.opts.onFlush?.({ kind: 'written', rows, seconds: (performance.now() - started) / 1000 })
    } catch (err) {
      this.attempts++
      const error = err instanceof Error ? err.message : String(err)
      const permanent = !isTransient(err) && this.attempts >= PERMANENT_ATTEMPTS
      if (permanent || (this.closed && this.attempts >= PERMANENT_ATTEMPTS * 2)) {
        await this.release(batch.length, rows, batch)
        this.attempts = 0
        this.opts.onFlush?.({ kind: 'dropped', rows, error })
        this.opts.log?.(`dropped ${rows} rows for ${this.table} after repeated failures`, err)
        return
      }
      this.opts.onFlush?.({ kind: 'retrying', rows, error })
      this.opts.log?.(`writing ${rows} rows to ${this.table} failed; retrying`, err)
      const backoff = Math.min(MAX_BACKOFF_MS, 100 * 2 ** (this.attempts - 1))
      await new Promise((r) => setTimeout(r, this.closed ? Math.min(backoff, 500) : backoff))
    }
  }

  /** Takes a written or dropped batch off the queue, and removes its spool files. */
  private async release(count: number, rows: number, batch: QueuedRows[]): Promise<void> {
    this.chunks.splice(0, count)
    this.queuedRows -= rows
    for (const c of batch) this.queuedBytes -= queuedBytes(c)
    const discard = this.opts.discard ?? unspool
    await discard(batch.filter(isSpooled)).catch((err: unknown) =>
      this.opts.log?.(`removing spool files of ${this.table} failed`, err),
    )
  }
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
])

/**
 * ClickHouse errors that mean "not now" rather than "not this": a server pushing back
 * (inserts outrunning merges, too many queries, memory), a replica briefly without its
 * Keeper session, a server shutting down. Dropping rows on them would lose what senders
 * were told is kept, so they are retried like a connection that fails.
 */
const TRANSIENT_ERRORS = new Set([
  'TOO_MANY_PARTS', // 252
  'TOO_MANY_SIMULTANEOUS_QUERIES', // 202
  'MEMORY_LIMIT_EXCEEDED', // 241
  'TIMEOUT_EXCEEDED', // 159
  'SOCKET_TIMEOUT', // 209
  'NETWORK_ERROR', // 210
  'TABLE_IS_READ_ONLY', // 242
  'ALL_CONNECTION_TRIES_FAILED', // 279
  'UNKNOWN_STATUS_OF_INSERT', // 319
  'QUERY_WAS_CANCELLED', // 394
  'ABORTED', // 236
  'KEEPER_EXCEPTION', // 999
])

/** The error's name, e.g. TOO_MANY_PARTS: the client's `type`, or the engine's "(NAME)". */
function clickHouseErrorName(err: Error): string | undefined {
  const type = (err as { type?: unknown }).type
  if (typeof type === 'string') return type
  return /DB::Exception: .*\(([A-Z][A-Z0-9_]+)\)/s.exec(err.message)?.[1]
}

/**
 * Trouble reaching the server, or the server saying "not now": worth retrying until it
 * passes. Anything else is the engine refusing the batch (the embedded engine reports even
 * bad data as a plain Error), which no retry will fix: it must not block the rows queued
 * behind it.
 */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true
  if (err.name === 'AbortError' || err.name === 'TimeoutError') return true
  const name = clickHouseErrorName(err)
  if (name !== undefined && TRANSIENT_ERRORS.has(name)) return true
  return /timeout|socket hang up|connect/i.test(err.message)
}
