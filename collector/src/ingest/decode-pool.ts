// Decoding and encoding a 1000-span request takes ~10 ms of CPU. Done on the event loop,
// it stalls every other request in the process (the query API too, under `reckon up`) and
// leaves the other cores to the engine alone; on worker threads it overlaps with both.
// Memory is bounded upstream: a body holds its share of the in-flight budget until answered.
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { Arrival } from '../otlp-to-native/arrival.js'
import type { Signal } from '../otlp-to-native/proto.js'
import type { Logger } from '../log.js'
import { spoolFile, TABLES, type Table } from '../storage/pipeline.js'
import type { KeptFile, SpoolRecycler } from '../storage/spool-recycler.js'
import { SpoolError, unspool } from '../storage/spool.js'
import type { QueuedRows } from '../storage/writer.js'
import { convertBody, type Conversion } from './convert.js'

export interface DecodeJob {
  id: number
  signal: Signal
  body: Uint8Array
  json: boolean
  /** When the body arrived and what it is checked against (a bare time: the defaults). */
  arrival: Arrival | string
  /** Where to write the job's rows (spool.ts) instead of sending them back. */
  spool?: JobSpool
  /** Kept files to overwrite instead of making new ones (spool-recycler.ts). */
  reuse?: string[]
}

/** A pool's spool: the directory, the database its rows go to, the pool's own prefix. */
export interface JobSpool {
  dir: string
  database: string
  prefix: string
}

export type DecodeReply = (
  | { id: number; conversion: Conversion<QueuedRows> }
  | { id: number; error: string; /** writing the rows failed, not decoding them */ spool: boolean }
) & { /** Kept files lent to the job that it did not overwrite. */ unused: string[] }

/** The spool file of one job's rows for one table. */
export const jobSpoolFile = (spool: JobSpool, id: number, table: Table): string =>
  spoolFile(spool.dir, `${spool.prefix}-${id}`, spool.database, table)

/**
 * `bytes` as a view whose ArrayBuffer is added to `transfer`, so it moves to the other thread
 * instead of being copied. `exclusive` says nothing else uses that buffer (a block just
 * encoded), so it may move whole, slack included. Otherwise only a view spanning its whole
 * buffer moves; a view into a shared one (Node's pool for small buffers, a socket chunk) is
 * copied first, since moving it would detach its neighbours.
 */
export function ownBuffer(bytes: Uint8Array, transfer: ArrayBuffer[], exclusive = false): Buffer {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
  // Pooled buffers are slices of a slab of exactly Buffer.poolSize bytes.
  const movable = whole || (exclusive && bytes.buffer.byteLength !== Buffer.poolSize)
  const own = movable ? bytes : new Uint8Array(bytes)
  transfer.push(own.buffer as ArrayBuffer)
  return Buffer.from(own.buffer, own.byteOffset, own.byteLength)
}

interface Pending {
  resolve: (c: Conversion<QueuedRows>) => void
  reject: (err: Error) => void
  /** Kept files lent to the job. */
  reuse: KeptFile[]
}

interface Thread {
  worker: Worker
  pending: Map<number, Pending>
  startedAt: number
  alive: boolean
}

/**
 * Tests run this module from source, which a worker cannot load; they use the compiled
 * worker, which `npm test` builds first.
 */
function workerFile(): URL {
  const here = import.meta.url
  const url = here.endsWith('.ts')
    ? new URL('../../dist/src/ingest/decode-worker.js', here)
    : new URL('./decode-worker.js', here)
  if (!existsSync(fileURLToPath(url))) {
    throw new Error(`decode worker ${fileURLToPath(url)} is missing; run npm run build first`)
  }
  return url
}

/** Runs `convertBody` on `threads` worker threads (0: on the calling thread). */
export class DecodePool {
  private readonly threads: Thread[] = []
  private nextId = 0
  private closed = false
  /** Threads in a row that died within a second of starting (a broken build, say). */
  private quickDeaths = 0

  private readonly spool: JobSpool | undefined
  private readonly recycler: SpoolRecycler | undefined

  /**
   * `spool`: threads write rows there (see spool.ts), overwriting the files the recycler
   * kept when it has some; unset, they send rows back.
   */
  constructor(
    threads: number,
    private readonly log: Logger,
    spool?: { dir: string; database: string; recycler?: SpoolRecycler },
  ) {
    this.recycler = spool?.recycler
    // The prefix names this pool's files apart from any other's.
    this.spool = spool && {
      dir: spool.dir,
      database: spool.database,
      prefix: randomBytes(4).toString('hex'),
    }
    for (let i = 0; i < threads; i++) this.threads.push(this.start())
  }

  convert(
    signal: Signal,
    body: Buffer,
    json: boolean,
    arrival: Arrival | string,
  ): Promise<Conversion<QueuedRows>> {
    if (this.threads.length === 0) return Promise.resolve(convertBody(signal, body, json, arrival))
    if (this.closed) return Promise.reject(new Error('the decode pool is closed'))
    // The least busy live thread; ties go to the first.
    let thread: Thread | undefined
    for (const t of this.threads) {
      if (t.alive && (!thread || t.pending.size < thread.pending.size)) thread = t
    }
    if (!thread) return Promise.reject(new Error('no decode thread is running'))
    const chosen = thread
    const id = this.nextId++
    const transfer: ArrayBuffer[] = []
    const job: DecodeJob = { id, signal, body: ownBuffer(body, transfer), json, arrival }
    // A request fills at most two tables (spans and trace_spans; logs and business events).
    const reuse = this.recycler?.take(2) ?? []
    if (this.spool) job.spool = this.spool
    if (reuse.length > 0) job.reuse = reuse.map((k) => k.file)
    return new Promise((resolve, reject) => {
      chosen.pending.set(id, { resolve, reject, reuse })
      chosen.worker.postMessage(job, transfer)
    })
  }

  async close(): Promise<void> {
    this.closed = true
    await Promise.all(this.threads.map((t) => t.worker.terminate()))
  }

  private start(): Thread {
    // Decoding makes ~60 short-lived objects a span: a young generation of 96 MiB (3 × 32 MiB
    // semi-spaces) lets them die young instead of being promoted, with no flag to pass.
    const worker = new Worker(workerFile(), {
      resourceLimits: { maxYoungGenerationSizeMb: 96 },
    })
    const thread: Thread = { worker, pending: new Map(), startedAt: performance.now(), alive: true }
    const { pending } = thread
    worker.on('message', (reply: DecodeReply) => {
      const p = pending.get(reply.id)
      if (!p) return
      pending.delete(reply.id)
      this.recycler?.giveBack(p.reuse.filter((k) => reply.unused.includes(k.file)))
      if ('error' in reply)
        p.reject(
          reply.spool ? new SpoolError(reply.error) : new Error(`decoding failed: ${reply.error}`),
        )
      else p.resolve(revive(reply.conversion))
    })
    // A thread that dies fails its requests (senders retry them) and is replaced: at once
    // the first time, then after 1, 2, 4… s (at most 30) while replacements keep dying young.
    const fail = (err: Error): void => {
      if (this.closed || !thread.alive) return
      thread.alive = false
      this.quickDeaths = performance.now() - thread.startedAt < 1000 ? this.quickDeaths + 1 : 1
      const delay = this.quickDeaths <= 1 ? 0 : Math.min(30_000, 1000 * 2 ** (this.quickDeaths - 2))
      this.log.error({ err }, 'a decode thread stopped; starting another')
      for (const p of pending.values()) p.reject(err)
      // A job may have written some of its files before the thread died.
      const { spool } = this
      if (spool) {
        const files = [...pending].flatMap(([id, p]) => [
          ...TABLES.map((t) => ({ file: jobSpoolFile(spool, id, t), bytes: 0, rows: 0 })),
          ...p.reuse.map(({ file }) => ({ file, bytes: 0, rows: 0 })),
        ])
        unspool(files).catch((err: unknown) =>
          this.log.warn({ err }, 'removing spool files failed'),
        )
      }
      pending.clear()
      const replace = (): void => {
        const i = this.threads.indexOf(thread)
        if (!this.closed && i >= 0) this.threads[i] = this.start()
      }
      if (delay === 0) replace()
      else setTimeout(replace, delay).unref()
    }
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Error(`decode thread exited with code ${code}`)))
    return thread
  }
}

/** Encoded rows arrive as plain Uint8Arrays; the write path expects Buffers. */
function revive(c: Conversion<QueuedRows>): Conversion<QueuedRows> {
  if (c.kind === 'converted') {
    for (const rows of Object.values(c.converted.batches)) {
      if ('data' in rows) {
        rows.data = Buffer.from(rows.data.buffer, rows.data.byteOffset, rows.data.byteLength)
      }
    }
  }
  return c
}
