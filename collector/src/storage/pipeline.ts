import type { Config } from '../config/index.js'
import type { SelfMetrics } from '../telemetry/self-metrics.js'
import type { Storage } from './client.js'
import type { InsertFormat } from './insert.js'
import { unspool } from './spool.js'
import { isSpooled, queuedBytes, TableWriter, type QueuedRows } from './writer.js'

export const TABLES = ['spans', 'trace_spans', 'logs', 'business_events', 'metric_points'] as const
export type Table = (typeof TABLES)[number]

/** Spans, the bulk of the volume, go in Native; the rest as JSON lines. */
const FORMATS: Record<Table, InsertFormat> = {
  spans: 'Native',
  trace_spans: 'Native',
  logs: 'JSONEachRow',
  business_events: 'JSONEachRow',
  metric_points: 'JSONEachRow',
}

/** The write side: one batching writer per table, sharing the queue budget. */
export class WritePipeline {
  readonly writers: Record<Table, TableWriter>

  constructor(
    storage: Storage,
    config: Config,
    metrics: SelfMetrics,
    private readonly log: (msg: string, err?: unknown) => void,
  ) {
    const make = (table: Table): TableWriter =>
      new TableWriter({
        storage,
        table,
        format: FORMATS[table],
        batchRows: config.ingest.batchRows,
        flushIntervalMs: config.ingest.flushIntervalMs,
        maxQueueBytes: config.ingest.queueBytes,
        log,
        onFlush: (o) => {
          if (o.kind === 'written') {
            metrics.rows.inc({ table, outcome: 'written' }, o.rows)
            metrics.flushSeconds.observe({ table }, o.seconds)
          } else if (o.kind === 'dropped') {
            metrics.rows.inc({ table, outcome: 'dropped' }, o.rows)
            metrics.flushFailures.inc({ table })
          } else {
            metrics.flushFailures.inc({ table })
          }
        },
      })
    this.writers = {
      spans: make('spans'),
      trace_spans: make('trace_spans'),
      logs: make('logs'),
      business_events: make('business_events'),
      metric_points: make('metric_points'),
    }
    metrics.queueDepth = () => TABLES.map((table) => ({ table, ...this.writers[table].depth }))
  }

  /**
   * Queues rows for several tables at once, or none of them when any queue is full (the
   * sender is told to retry, nothing is half-stored, and refused spool files are removed).
   */
  offer(batches: Partial<Record<Table, QueuedRows>>): boolean {
    const entries = Object.entries(batches) as [Table, QueuedRows][]
    if (!entries.every(([t, rows]) => this.writers[t].hasRoom(queuedBytes(rows)))) {
      const files = entries.map(([, rows]) => rows).filter(isSpooled)
      unspool(files).catch((err: unknown) => this.log('removing refused spool files failed', err))
      return false
    }
    for (const [t, rows] of entries) this.writers[t].enqueue(rows)
    return true
  }

  async flush(): Promise<void> {
    await Promise.all(TABLES.map((t) => this.writers[t].flush()))
  }

  async shutdown(): Promise<void> {
    await Promise.all(TABLES.map((t) => this.writers[t].shutdown()))
  }
}
