import { readFile } from 'node:fs/promises'
import type { Storage } from './client.js'
import type { InsertFormat, RowSource } from './insert.js'
import { clickHouseErrorName, storeIsolating, wholeChunk, type Piece } from './isolate.js'
import {
  QUARANTINE_TABLE,
  quarantineBlock,
  quarantineElsewhere,
  type RefusedRows,
} from './quarantine.js'
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
  /** What becomes of spool files once their rows are stored or quarantined; default: deleted. */
  discard?: (files: SpooledRows[]) => Promise<void>
  /**
   * A recovered file the engine refused on its own (recover.ts): moved aside whole. Without
   * it, recovered files are quarantined like any other.
   */
  setAside?: (file: SpooledRows, error: string) => Promise<void>
  /** Called after every attempt and every refusal; feeds /metrics. */
  onFlush?: (outcome: FlushOutcome) => void
  /** Called once per queued chunk when it leaves the queue. */
  onSettled?: (chunk: QueuedRows, outcome: Settled) => void
  log?: (message: string, err?: unknown) => void
}

export type FlushOutcome =
  | { kind: 'written'; rows: number; seconds: number }
  | { kind: 'retrying'; rows: number; error: string }
  /** Refused by the engine on their own, and kept in quarantined_rows (or elsewhere). */
  | { kind: 'quarantined'; rows: number; error: string }
  /** A recovered file refused on its own, moved aside whole. */
  | { kind: 'set aside'; rows: number; error: string }
  /** Shutting down with the engine unreachable: in-memory rows lost (spooled ones are kept). */
  | { kind: 'dropped'; rows: number; error: string }

/** What became of a chunk: `left` is a spool file kept for the next start (see shutdown). */
export type Settled = 'stored' | 'quarantined' | 'set aside' | 'left' | 'dropped'

/** Tries, while shutting down, before an unreachable engine is given up on. */
const SHUTDOWN_ATTEMPTS = 6
const MAX_BACKOFF_MS = 5000

/** Stops a flush that is shutting down and cannot reach the engine. */
class GiveUp extends Error {}

/**
 * Batches rows for one table. Callers enqueue only after `hasRoom` said yes, so memory is
 * bounded by `maxQueueBytes`; once enqueued, rows are kept until written. Connection
 * trouble and a server's "not now" are retried until they pass, with the full queue pushing
 * back on senders. A batch the engine refuses as bad data is bisected (isolate.ts): every
 * row it takes is stored, and those it refuses on their own are quarantined with its reason.
 *
 * Native chunks (one request's block) are not split: the engine parses no values in Native
 * (numbers are fixed-width, strings taken as bytes, unchecked), so what it can refuse is the
 * block's structure (cut short, or columns the table no longer has), which spoils every row
 * alike. Such a chunk is quarantined whole.
 */
export class TableWriter {
  readonly table: string
  private readonly opts: WriterOptions
  private chunks: QueuedRows[] = []
  private queuedRows = 0
  /** Recovered files queued: they are written at once, not after the flush interval. */
  private queuedRecovered = 0
  private queuedBytes = 0
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> | undefined
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
    if (isSpooled(rows) && rows.recovered) this.queuedRecovered++
    this.queuedBytes += queuedBytes(rows)
    this.schedule()
  }

  /** Writes everything queued now; resolves when it is stored or quarantined. */
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

  /**
   * Stop taking rows and write what was acknowledged. Recovered files not yet being written
   * stay in the spool for the next start: they outlive the process, and a stop need not wait
   * for a backlog.
   */
  async shutdown(): Promise<void> {
    this.closed = true
    this.clearTimer()
    while (this.flushing) await this.flushing
    const left = this.chunks.filter((c) => isSpooled(c) && c.recovered)
    if (left.length > 0) {
      this.chunks = this.chunks.filter((c) => !(isSpooled(c) && c.recovered))
      for (const c of left) {
        this.queuedRows -= c.rows
        this.queuedRecovered--
        this.queuedBytes -= queuedBytes(c)
        this.opts.onSettled?.(c, 'left')
      }
    }
    await this.flush()
  }

  private schedule(): void {
    // Once closed, shutdown's flush writes what is queued.
    if (this.flushing || this.closed) return
    if (this.queuedRows >= this.opts.batchRows || this.queuedRecovered > 0) {
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

  /** Takes up to a batch from the front and stores it, isolating refused rows. Never throws. */
  private async flushOnce(): Promise<void> {
    const batch: QueuedRows[] = []
    let rows = 0
    for (const chunk of this.chunks) {
      if (batch.length > 0 && rows + chunk.rows > this.opts.batchRows) break
      batch.push(chunk)
      rows += chunk.rows
    }
    if (batch.length === 0) return
    const outcomes = new Map<
      QueuedRows,
      { settledRows: number; refused?: 'quarantined' | 'set aside' }
    >(batch.map((c) => [c, { settledRows: 0 }]))
    const settle = (piece: Piece, refused?: 'quarantined' | 'set aside'): void => {
      const o = outcomes.get(piece.chunk)!
      o.settledRows += piece.rows
      if (refused) o.refused = refused
    }
    let gaveUp: GiveUp | undefined
    let failed = false
    try {
      await storeIsolating(batch.map(wholeChunk), {
        format: this.opts.format,
        insert: async (pieces) => {
          const error = await this.insert(
            this.table,
            this.opts.format,
            pieces.map((p) => p.source),
            sum(pieces),
          )
          if (!error) for (const p of pieces) settle(p)
          return error
        },
        refuse: async (piece, error) => settle(piece, await this.refuse(piece, error)),
        splittable: (chunk) => !(isSpooled(chunk) && chunk.recovered),
      })
    } catch (err) {
      if (err instanceof GiveUp) gaveUp = err
      else {
        // Not the engine's doing (a file that cannot be moved aside, say): what is not yet
        // stored stays queued and is tried again, at least once.
        failed = true
        this.opts.log?.(`writing rows to ${this.table} failed; retrying`, err)
      }
    }
    // Chunks settled whole leave the queue; on giving up, so do the rest: a spool file stays
    // for the next start to store, rows in memory are lost.
    const kept: QueuedRows[] = []
    const discard: SpooledRows[] = []
    for (const c of batch) {
      const o = outcomes.get(c)!
      let settled: Settled = o.refused ?? 'stored'
      if (o.settledRows < c.rows) {
        if (failed) {
          kept.push(c)
          continue
        }
        if (gaveUp) {
          settled = isSpooled(c) ? 'left' : 'dropped'
          if (!isSpooled(c)) {
            const rows = c.rows - o.settledRows
            this.opts.onFlush?.({ kind: 'dropped', rows, error: gaveUp.message })
            this.opts.log?.(
              `dropped ${rows} rows for ${this.table}: shutting down, ${gaveUp.message}`,
            )
          }
        }
      }
      this.queuedRows -= c.rows
      this.queuedBytes -= queuedBytes(c)
      if (isSpooled(c) && c.recovered) this.queuedRecovered--
      if (isSpooled(c) && settled !== 'set aside' && settled !== 'left') discard.push(c)
      this.opts.onSettled?.(c, settled)
    }
    this.chunks.splice(0, batch.length, ...kept)
    await (this.opts.discard ?? unspool)(discard).catch((err: unknown) =>
      this.opts.log?.(`removing spool files of ${this.table} failed`, err),
    )
    if (failed) await new Promise((r) => setTimeout(r, this.closed ? 100 : 1000))
  }

  /**
   * One INSERT, retried while the engine is unreachable or says "not now": resolves once
   * stored, or with the engine's refusal. Shutting down, it gives up after a few tries.
   */
  private async insert(
    table: string,
    format: InsertFormat,
    sources: RowSource[],
    rows: number,
  ): Promise<Error | undefined> {
    const { storage } = this.opts
    for (let attempt = 1; ; attempt++) {
      const started = performance.now()
      try {
        await storage.insertRows(`${storage.database}.${table}`, format, sources)
        const seconds = (performance.now() - started) / 1000
        if (table === this.table) this.opts.onFlush?.({ kind: 'written', rows, seconds })
        return undefined
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err))
        if (!isTransient(err)) return error
        if (this.closed && attempt >= SHUTDOWN_ATTEMPTS) throw new GiveUp(error.message)
        this.opts.onFlush?.({ kind: 'retrying', rows, error: error.message })
        this.opts.log?.(`writing ${rows} rows to ${table} failed; retrying`, err)
        const backoff = Math.min(MAX_BACKOFF_MS, 100 * 2 ** (attempt - 1))
        await new Promise((r) => setTimeout(r, this.closed ? Math.min(backoff, 500) : backoff))
      }
    }
  }

  /** Keeps rows refused on their own apart: a recovered file aside, others in quarantine. */
  private async refuse(piece: Piece, err: Error): Promise<'quarantined' | 'set aside'> {
    const reason = engineReason(err)
    const { chunk, source } = piece
    if (this.opts.setAside && isSpooled(chunk) && chunk.recovered) {
      await this.opts.setAside(chunk, reason)
      this.opts.onFlush?.({ kind: 'set aside', rows: piece.rows, error: reason })
      return 'set aside'
    }
    let data: Buffer
    let why = reason
    try {
      data = Buffer.isBuffer(source) ? source : await readFile(source.file)
    } catch (readErr) {
      data = Buffer.alloc(0)
      why = `${reason}; reading ${isSpooled(chunk) ? chunk.file : 'the rows'} failed: ${readErr instanceof Error ? readErr.message : String(readErr)}`
    }
    const refused: RefusedRows = {
      table: this.table,
      format: this.opts.format,
      reason: why,
      rows: piece.rows,
      data,
    }
    const block = quarantineBlock([refused], BigInt(Date.now()) * 1_000_000n)
    const error = await this.insert(QUARANTINE_TABLE, 'Native', [block], 1)
    const log = (line: string): void => this.opts.log?.(line)
    if (error) await quarantineElsewhere(this.opts.storage, [refused], engineReason(error), log)
    else
      log(
        `${piece.rows} row${piece.rows === 1 ? '' : 's'} for ${this.opts.storage.database}.${this.table} refused (${why}): kept in ${QUARANTINE_TABLE}`,
      )
    this.opts.onFlush?.({ kind: 'quarantined', rows: piece.rows, error: why })
    return 'quarantined'
  }
}

const sum = (pieces: readonly Piece[]): number => pieces.reduce((n, p) => n + p.rows, 0)

/** The engine's message, without the path of the file it read (gone by now). */
export const engineReason = (err: Error): string =>
  err.message
    .replace(/\s*:?\s*\(in file\/uri [^)]*\)/g, '')
    .replace(/:? While executing .*$/s, '')
    .replace(/\s+/g, ' ')
    .trim()

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
