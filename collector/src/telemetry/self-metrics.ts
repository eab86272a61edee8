import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** Reckon's own health, served as Prometheus text on GET /metrics. */
export class SelfMetrics {
  readonly registry = new Registry()
  readonly requests = new Counter({
    name: 'reckon_ingest_requests_total',
    help: 'Ingest requests by signal and HTTP status.',
    labelNames: ['signal', 'status'] as const,
    registers: [this.registry],
  })
  readonly items = new Counter({
    name: 'reckon_ingest_items_total',
    help: 'Spans, log records, business events and metric points received, by outcome: accepted (queued for storage), rejected (invalid) or refused (queue full).',
    labelNames: ['signal', 'outcome'] as const,
    registers: [this.registry],
  })
  readonly rows = new Counter({
    name: 'reckon_storage_rows_total',
    help: 'Rows leaving the write queue, by table and outcome: written, or dropped (in memory when a shutdown gave up on an unreachable server).',
    labelNames: ['table', 'outcome'] as const,
    registers: [this.registry],
  })
  readonly quarantined = new Counter({
    name: 'reckon_rows_quarantined_total',
    help: 'Rows the engine refused on their own, kept apart from the good rows of their batch (in the quarantined_rows table, or a file or the log when it refused those too).',
    labelNames: ['table'] as const,
    registers: [this.registry],
  })
  readonly flushFailures = new Counter({
    name: 'reckon_storage_flush_failures_total',
    help: 'Write attempts that failed and are retried: the engine unreachable, saying "not now", or unable to store (no disk space, no permission, a table missing); rows it refuses are quarantined instead.',
    labelNames: ['table'] as const,
    registers: [this.registry],
  })
  readonly flushSeconds = new Histogram({
    name: 'reckon_storage_flush_seconds',
    help: 'Time to write one batch.',
    labelNames: ['table'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  })
  readonly recovered = new Counter({
    name: 'reckon_spool_recovered_total',
    help: 'Spooled inserts a previous run acknowledged but did not write (it was killed or crashed), found at start: stored (rows the engine refused quarantined), or rejected (the file could not be read; moved to inserts-rejected).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })
  /** Set by the write pipeline; read whenever /metrics is scraped. */
  queueDepth: () => { table: string; rows: number; bytes: number }[] = () => []

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'reckon_' })
    // prom-client names three gauges like counters, which Prometheus' checks refuse; each is
    // the sum over the `type` label of the gauge of the same name without `_total`.
    for (const kind of ['handles', 'requests', 'resources']) {
      this.registry.removeSingleMetric(`reckon_nodejs_active_${kind}_total`)
    }
    const depth = () => this.queueDepth()
    new Gauge({
      name: 'reckon_storage_queue_rows',
      help: 'Rows waiting in the write queue.',
      labelNames: ['table'] as const,
      registers: [this.registry],
      collect() {
        for (const d of depth()) this.set({ table: d.table }, d.rows)
      },
    })
    new Gauge({
      name: 'reckon_storage_queue_bytes',
      help: 'Encoded bytes waiting in the write queue.',
      labelNames: ['table'] as const,
      registers: [this.registry],
      collect() {
        for (const d of depth()) this.set({ table: d.table }, d.bytes)
      },
    })
  }
}
