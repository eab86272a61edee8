// A decode thread: converts request bodies to encoded rows off the event loop that serves
// HTTP (see decode-pool.ts).
import { rmSync } from 'node:fs'
import { parentPort } from 'node:worker_threads'
import type { Table } from '../storage/pipeline.js'
import { spool, SpoolError, type SpooledRows } from '../storage/spool.js'
import type { QueuedRows } from '../storage/writer.js'
import { convertBody, type Converted } from './convert.js'
import { jobSpoolFile, ownBuffer, type DecodeJob, type DecodeReply } from './decode-pool.js'

const port = parentPort
if (!port) throw new Error('decode-worker runs as a worker thread')

/**
 * Moves each table's rows out of this thread: into a spool file when the job names a
 * spool (overwriting a kept file it lent, when there is one), otherwise transferred with the
 * reply. Takes from `reuse` the kept files it uses.
 */
function handOver(
  job: DecodeJob,
  batches: Converted<QueuedRows>['batches'],
  transfer: ArrayBuffer[],
  reuse: string[],
): void {
  const spooled: SpooledRows[] = []
  let using: string | undefined
  try {
    for (const [table, rows] of Object.entries(batches) as [Table, QueuedRows][]) {
      if (!('data' in rows) || rows.rows === 0) continue
      if (job.spool) {
        using = reuse.pop()
        const file = spool(jobSpoolFile(job.spool, job.id, table), [rows.data], rows.rows, using)
        using = undefined
        spooled.push(file)
        batches[table] = file
      } else {
        batches[table] = { data: ownBuffer(rows.data, transfer, true), rows: rows.rows }
      }
    }
  } catch (err) {
    // A disk that fills half-way: the request fails whole, and leaves no file behind.
    for (const f of spooled) rmSync(f.file, { force: true })
    if (using) rmSync(using, { force: true })
    throw err
  }
}

port.on('message', (job: DecodeJob) => {
  const transfer: ArrayBuffer[] = []
  // Kept files lent for this job; those it does not use go back with the reply.
  const reuse = job.reuse ?? []
  let reply: DecodeReply
  try {
    // It arrives as a plain Uint8Array; as a Buffer, protobufjs reads strings natively.
    const body = Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength)
    const conversion = convertBody(job.signal, body, job.json, job.arrival)
    if (conversion.kind === 'converted') {
      handOver(job, conversion.converted.batches, transfer, reuse)
    }
    reply = { id: job.id, conversion, unused: reuse }
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err)
    reply = { id: job.id, error, spool: err instanceof SpoolError, unused: reuse }
  }
  port.postMessage(reply, transfer)
})
