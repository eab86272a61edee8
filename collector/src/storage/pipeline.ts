import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { Config } from '../config/index.js'
import type { SelfMetrics } from '../telemetry/self-metrics.js'
import type { Storage } from './client.js'
import type { Logger } from '../log.js'
import { rowInserter, spoolDir, type InsertFormat } from './insert.js'
import { readLeftovers, RecoveryProgress, type Leftover, type Recovery } from './recover.js'
import { SpoolRecycler } from './spool-recycler.js'
import { spoolAsync, spoolName, unspool, type SpooledRows } from './spool.js'
import { FORMATS, TABLES, type Table } from './table-registry.js'
import { isSpooled, queuedBytes, TableWriter, type QueuedRows } from './writer.js'

export { FORMATS, TABLES, type Table } from './table-registry.js'

/** Rows for some of the tables, from one request. */
export type Batches = Partial<Record<Table, QueuedRows>>

/** Where one request's rows for `table` are spooled; `stem` makes the name unique. */
export const spoolFile = (dir: string, stem: string, database: string, table: Table): string =>
  join(dir, spoolName(stem, `${database}.${table}`, FORMATS[table]))

/** The write side: one batching writer per table, sharing the queue budget. */
export class WritePipeline {
  readonly writers: Record<Table, TableWriter>
  /** Embedded: spool files whose rows are stored, kept for decode threads to overwrite. */
  readonly recycler: SpoolRecycler | undefined
  /** Writers for leftover files of other tables (another database, the dead-letter table). */
  private readonly others = new Map<string, TableWriter>()
  private readonly make: (table: string, format: InsertFormat, database?: string) => TableWriter
  private progress: RecoveryProgress | undefined
  /** Leftover files are being read: until they are queued, the queues' depth is unknown. */
  private listing = false

  constructor(
    private readonly storage: Storage,
    config: Config,
    private readonly metrics: SelfMetrics,
    private readonly log: Logger,
  ) {
    const { target } = storage
    this.recycler =
      target.kind === 'embedded' ? new SpoolRecycler(spoolDir(target.dataDir)) : undefined
    const insert = rowInserter(storage)
    this.make = (table, format, database = storage.database) =>
      new TableWriter({
        storage: database === storage.database ? storage : { ...storage, database },
        insert,
        table,
        format,
        batchRows: config.ingest.batchRows,
        flushIntervalMs: config.ingest.flushIntervalMs,
        maxQueueBytes: config.ingest.queueBytes,
        discard: (files) => this.discard(files),
        onSettled: (chunk, outcome) => {
          if (isSpooled(chunk)) this.progress?.settled(chunk, outcome)
        },
        log: log.child({ table: `${database}.${table}` }),
        onFlush: (o) => {
          if (o.kind === 'written') {
            metrics.rows.inc({ table, outcome: 'written' }, o.rows)
            metrics.flushSeconds.observe({ table }, o.seconds)
          } else if (o.kind === 'dropped') {
            metrics.rows.inc({ table, outcome: 'dropped' }, o.rows)
          } else if (o.kind === 'quarantined') {
            metrics.quarantined.inc({ table }, o.rows)
          } else if (o.kind === 'retrying') {
            metrics.flushFailures.inc({ table })
          }
        },
      })
    const make = (table: Table): TableWriter => this.make(table, FORMATS[table])
    this.writers = {
      spans: make('spans'),
      trace_spans: make('trace_spans'),
      logs: make('logs'),
      business_events: make('business_events'),
      metric_points: make('metric_points'),
    }
    metrics.queueDepth = () => TABLES.map((table) => ({ table, ...this.writers[table].depth }))
  }

  /** True while spool files an earlier process left are still being stored. */
  get recovering(): boolean {
    return this.progress?.inProgress ?? false
  }

  /** Why rows wait to be retried, while the engine cannot store them (see TableWriter). */
  get cannotStore(): string | undefined {
    for (const w of this.all()) if (w.cannotStore) return w.cannotStore
    return undefined
  }

  /**
   * Hands the spool files an earlier process left (`names`, in the spool directory) to the
   * write queues, past their cap: senders are told to retry until the backlog is under it.
   * Resolves once every file is stored, or set aside as unreadable (see recover.ts).
   */
  async recover(names: readonly string[], log: Logger): Promise<Recovery> {
    const { target, database } = this.storage
    if (target.kind !== 'embedded') throw new Error('only the embedded engine spools')
    if (this.progress) throw new Error('recovery runs once')
    const dir = spoolDir(target.dataDir)
    const progress = new RecoveryProgress(dir, (outcome) => this.metrics.recovered.inc({ outcome }))
    this.progress = progress
    const leftovers: Leftover[] = []
    this.listing = true
    try {
      const read = await readLeftovers(dir, names)
      leftovers.push(...read.leftovers)
      for (const { name, error, movedTo } of read.unreadable) {
        log.warn(
          `cannot read the spooled insert ${name} (${error}): ${movedTo ? `moved to ${movedTo}` : `left in ${dir}`}, its rows not stored`,
        )
        progress.unreadable(name, error)
      }
    } finally {
      this.listing = false
      progress.expect(leftovers.map((l) => l.rows))
    }
    // A full queue takes seconds to store: say what is going on meanwhile.
    if (leftovers.length > 0)
      log.info(`storing ${leftovers.length} spooled inserts the previous run left…`)
    for (const { table, format, rows } of leftovers) {
      const [db, name] = table.split('.') as [string, string]
      const ours = db === database && (TABLES as readonly string[]).includes(name)
      let writer = ours ? this.writers[name as Table] : this.others.get(table)
      if (!writer) {
        writer = this.make(name, format, db)
        this.others.set(table, writer)
      }
      writer.enqueue(rows)
    }
    return progress.done
  }

  /**
   * Embedded, rows encoded on the event loop go to spool files before they are offered, as
   * the decode threads' do, so what is acknowledged outlives a crash (recover.ts). All or
   * none: a failure removes the files already written.
   */
  async spool(batches: Batches): Promise<Batches> {
    const { target, database } = this.storage
    // Rows the queue will refuse anyway are not written first.
    if (target.kind !== 'embedded' || !this.fits(batches)) return batches
    const dir = spoolDir(target.dataDir)
    const out: Batches = {}
    const written: SpooledRows[] = []
    try {
      for (const [table, rows] of Object.entries(batches) as [Table, QueuedRows][]) {
        if (isSpooled(rows) || rows.rows === 0) {
          out[table] = rows
          continue
        }
        const file = spoolFile(dir, randomBytes(8).toString('hex'), database, table)
        out[table] = await spoolAsync(file, rows.data, rows.rows)
        written.push(out[table])
      }
    } catch (err) {
      await unspool(written).catch(() => {})
      throw err
    }
    return out
  }

  /**
   * Queues rows for several tables at once, or none of them when any queue is full (the
   * sender is told to retry, nothing is half-stored, and refused spool files are removed).
   */
  offer(batches: Batches): boolean {
    const entries = Object.entries(batches) as [Table, QueuedRows][]
    if (!this.fits(batches)) {
      const files = entries.map(([, rows]) => rows).filter(isSpooled)
      this.discard(files).catch((err: unknown) =>
        this.log.warn({ err }, 'removing refused spool files failed'),
      )
      return false
    }
    for (const [t, rows] of entries) this.writers[t].enqueue(rows)
    return true
  }

  /**
   * Spool files whose rows are stored, quarantined or refused: kept for reuse when embedded,
   * but for those an earlier process left, so the spool is empty once they are stored.
   */
  private async discard(files: SpooledRows[]): Promise<void> {
    const recovered = files.filter((f) => f.recovered)
    const live = recovered.length === 0 ? files : files.filter((f) => !f.recovered)
    await Promise.all([
      unspool(recovered),
      this.recycler ? this.recycler.recycle(live) : unspool(live),
    ])
  }

  private fits(batches: Batches): boolean {
    if (this.listing) return false
    const entries = Object.entries(batches) as [Table, QueuedRows][]
    return entries.every(([t, rows]) => this.writers[t].hasRoom(queuedBytes(rows)))
  }

  private all(): TableWriter[] {
    return [...TABLES.map((t) => this.writers[t]), ...this.others.values()]
  }

  async flush(): Promise<void> {
    await Promise.all(this.all().map((w) => w.flush()))
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.all().map((w) => w.shutdown()))
    await this.recycler?.close()
  }
}
