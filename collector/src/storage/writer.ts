import { readFile } from 'node:fs/promises'
import type { Storage } from './client.js'
import { silentLogger, type Logger } from '../log.js'
import { classifyInsertError, engineReason } from './engine-errors.js'
import { rowInserter, type InsertFormat, type RowInserter, type RowSource } from './insert.js'
import { storeIsolating, wholeChunk, without, type Piece } from './isolate.js'
import {
  QUARANTINE_TABLE,
  quarantineBlock,
  quarantineElsewhere,
  type RefusedRows,
} from './quarantine.js'
import { respool, unspool, type SpooledRows } from './spool.js'
import { nowNanos } from '../time/instant.js'

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
  /** How rows reach the engine; default: `rowInserter(storage)`. */
  insert?: RowInserter
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
  /** Called after every attempt and every refusal; feeds /metrics. */
  onFlush?: (outcome: FlushOutcome) => void
  /** Called once per queued chunk when it leaves the queue. */
  onSettled?: (chunk: QueuedRows, outcome: Settled) => void
  log?: Logger
}

export type FlushOutcome =
  | { kind: 'written'; rows: number; seconds: number }
  | { kind: 'retrying'; rows: number; error: string }
  /** Refused by the engine on their own, and kept in quarantined_rows (or elsewhere). */
  | { kind: 'quarantined'; rows: number; error: string }
  /** Shutting down with a server that cannot store: rows in memory lost (spooled ones kept). */
  | { kind: 'dropped'; rows: number; error: string }

/**
 * What became of a chunk: `left` is a spool file kept for the next start (see shutdown),
 * holding what was not stored of it.
 */
export type Settled = 'stored' | 'quarantined' | 'left' | 'dropped'

/** Tries, while shutting down, before an engine that cannot store is given up on. */
const SHUTDOWN_ATTEMPTS = 6
const MAX_BACKOFF_MS = 5000

/** Stops the flushes of a writer that is shutting down and cannot store. */
class GiveUp extends Error {}

/** What a flush stored (or quarantined) of a queued chunk: its byte ranges, and their rows. */
interface Progress {
  ranges: [number, number][]
  rows: number
  quarantined: boolean
}

/**
 * Batches rows for one table. Callers enqueue only after `hasRoom` said yes, so memory is
 * bounded by `maxQueueBytes`; once enqueued, rows are kept until written. Anything but the
 * engine refusing the rows (engine-errors.ts: connection trouble, "not now", no disk space,
 * a table missing…) is retried until it passes, with `cannotStore` saying why meanwhile and
 * the full queue pushing back on senders. A batch the engine refuses as bad data is bisected
 * (isolate.ts): every row it takes is stored, and those it refuses on their own are
 * quarantined with its reason. What a flush stored of a chunk is never offered again: a
 * chunk left part-stored (a stop) keeps only the rest.
 *
 * Native chunks (one request's block) are not split: the engine parses no values in Native
 * (numbers are fixed-width, strings taken as bytes, unchecked), so what it can refuse is the
 * block's structure (cut short, or columns the table no longer has), which spoils every row
 * alike. Such a chunk is quarantined whole.
 */
export class TableWriter {
  readonly table: string
  private readonly opts: WriterOptions
  private readonly inserter: RowInserter
  private chunks: QueuedRows[] = []
  private queuedRows = 0
  /** Recovered files queued: they are written at once, not after the flush interval. */
  private queuedRecovered = 0
  private queuedBytes = 0
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> | undefined
  private closed = false
  /** Shutting down, the engine could not store: what is queued stays in the spool. */
  private gaveUp: GiveUp | undefined
  private trouble: string | undefined

  constructor(opts: WriterOptions) {
    this.opts = opts
    this.table = opts.table
    this.inserter = opts.insert ?? rowInserter(opts.storage)
  }

  get depth(): { rows: number; bytes: number } {
    return { rows: this.queuedRows, bytes: this.queuedBytes }
  }

  /** Why rows are waiting to be retried (e.g. "writing to logs: …"), while they are. */
  get cannotStore(): string | undefined {
    return this.trouble
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
   * for a backlog. Nor for an engine that cannot store: after a few tries, every spool file
   * queued stays for the next start too, holding what is not stored of it.
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
    const progress = new Map<QueuedRows, Progress>(
      batch.map((c) => [c, { ranges: [], rows: 0, quarantined: false }]),
    )
    const settle = (piece: Piece, quarantined = false): void => {
      const p = progress.get(piece.chunk)!
      p.ranges.push([piece.start, piece.end])
      p.rows += piece.rows
      if (quarantined) p.quarantined = true
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
        refuse: async (piece, error) => {
          await this.refuse(piece, error)
          settle(piece, true)
        },
      })
    } catch (err) {
      if (err instanceof GiveUp) gaveUp = err
      else if (this.closed) {
        gaveUp = this.gaveUp = new GiveUp(err instanceof Error ? err.message : String(err))
      } else {
        // Not the engine's doing (a spool file that cannot be read, say): what is not yet
        // stored stays queued and is tried again.
        failed = true
        this.opts.log?.warn({ err }, `writing rows to ${this.table} failed; retrying`)
      }
    }
    // Chunks settled whole leave the queue. Of the others, only what is not stored stays: in
    // the queue to be tried again, or on giving up, in the spool for the next start.
    const kept: QueuedRows[] = []
    const discard: SpooledRows[] = []
    for (const c of batch) {
      const p = progress.get(c)!
      // Counted as queued (a spool file's rest is written in its place).
      this.queuedRows -= c.rows
      this.queuedBytes -= queuedBytes(c)
      let settled: Settled = p.quarantined ? 'quarantined' : 'stored'
      if (p.rows < c.rows && (failed || gaveUp)) {
        const rest = await this.rest(c, p)
        if (failed) {
          this.queuedRows += rest.rows
          this.queuedBytes += queuedBytes(rest)
          kept.push(rest)
          continue
        }
        settled = this.leave(rest, gaveUp)
      }
      if (isSpooled(c) && c.recovered) this.queuedRecovered--
      if (isSpooled(c) && settled !== 'left') discard.push(c)
      this.opts.onSettled?.(c, settled)
    }
    this.chunks.splice(0, batch.length, ...kept)
    await (this.opts.discard ?? unspool)(discard).catch((err: unknown) =>
      this.opts.log?.warn({ err }, `removing spool files of ${this.table} failed`),
    )
    if (failed) await new Promise((r) => setTimeout(r, 1000))
  }

  /**
   * What is not yet stored of `chunk` (a JSON chunk part-stored by bisection: Native ones are
   * never split). A spool file is rewritten to hold only that; when it cannot be, it keeps
   * all its rows, to be stored again (at least once, never lost).
   */
  private async rest(chunk: QueuedRows, p: Progress): Promise<QueuedRows> {
    if (p.ranges.length === 0) return chunk
    try {
      const data = isSpooled(chunk) ? await readFile(chunk.file) : chunk.data
      const rest = without(data, p.ranges)
      if (!isSpooled(chunk)) return { data: rest, rows: chunk.rows - p.rows }
      await respool(chunk, rest, chunk.rows - p.rows)
    } catch (err) {
      this.opts.log?.warn(
        { err },
        `keeping only the rows not yet stored of ${isSpooled(chunk) ? chunk.file : 'a batch'} failed: they may be stored twice`,
      )
    }
    return chunk
  }

  /**
   * Shutting down without an engine to store them: spooled rows stay in their file for the
   * next start; rows in memory (a server's queue: the embedded engine's is spooled) are lost.
   */
  private leave(rows: QueuedRows, why: GiveUp | undefined): Settled {
    if (isSpooled(rows)) return 'left'
    const error = why?.message ?? 'the engine cannot store'
    this.opts.onFlush?.({ kind: 'dropped', rows: rows.rows, error })
    this.opts.log?.error(`dropped ${rows.rows} rows for ${this.table}: shutting down, ${error}`)
    return 'dropped'
  }

  /**
   * One INSERT, retried until it passes unless the engine refuses the rows (or, with
   * `elsewhere`, cannot store them: they have another place to go): resolves once stored, or
   * with that refusal. Shutting down, it gives up after a few tries, and throws.
   */
  private async insert(
    table: string,
    format: InsertFormat,
    sources: RowSource[],
    rows: number,
    elsewhere = false,
  ): Promise<Error | undefined> {
    const { storage } = this.opts
    for (let attempt = 1; ; attempt++) {
      if (this.gaveUp) throw this.gaveUp
      const started = performance.now()
      try {
        await this.inserter(`${storage.database}.${table}`, format, sources)
        const seconds = (performance.now() - started) / 1000
        this.trouble = undefined
        if (table === this.table) this.opts.onFlush?.({ kind: 'written', rows, seconds })
        return undefined
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err))
        const trouble = classifyInsertError(err)
        if (trouble === 'rows') return error
        if (trouble === 'store' && elsewhere) return error
        if (this.closed && attempt >= SHUTDOWN_ATTEMPTS) {
          throw (this.gaveUp = new GiveUp(engineReason(error)))
        }
        this.trouble = `writing to ${table}: ${engineReason(error)}`
        this.opts.onFlush?.({ kind: 'retrying', rows, error: error.message })
        this.opts.log?.warn({ err }, `writing ${rows} rows to ${table} failed; retrying`)
        const backoff = Math.min(MAX_BACKOFF_MS, 100 * 2 ** (attempt - 1))
        await new Promise((r) => setTimeout(r, this.closed ? Math.min(backoff, 500) : backoff))
      }
    }
  }

  /** Keeps rows the engine refused on their own apart, in quarantine. */
  private async refuse(piece: Piece, err: Error): Promise<void> {
    const reason = engineReason(err)
    const { chunk, source } = piece
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
    const block = quarantineBlock([refused], nowNanos())
    // A dead-letter table that cannot take them (gone, say) must not hold up the good rows.
    const error = await this.insert(QUARANTINE_TABLE, 'Native', [block], 1, true)
    const log = this.opts.log ?? silentLogger
    if (error) await quarantineElsewhere(this.opts.storage, [refused], engineReason(error), log)
    else
      log.warn(
        `${piece.rows} row${piece.rows === 1 ? '' : 's'} for ${this.opts.storage.database}.${this.table} refused (${why}): kept in ${QUARANTINE_TABLE}`,
      )
    this.opts.onFlush?.({ kind: 'quarantined', rows: piece.rows, error: why })
  }
}

const sum = (pieces: readonly Piece[]): number => pieces.reduce((n, p) => n + p.rows, 0)
