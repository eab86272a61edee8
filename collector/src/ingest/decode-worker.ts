// A decode thread: converts request bodies to encoded rows off the event loop that serves
// HTTP (see decode-pool.ts).
import { parentPort } from 'node:worker_threads'
import { convertBody } from './convert.js'
import { ownBuffer, type DecodeJob, type DecodeReply } from './decode-pool.js'

const port = parentPort
if (!port) throw new Error('decode-worker runs as a worker thread')

port.on('message', (job: DecodeJob) => {
  const transfer: ArrayBuffer[] = []
  let reply: DecodeReply
  try {
    // It arrives as a plain Uint8Array; as a Buffer, protobufjs reads strings natively.
    const body = Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength)
    const conversion = convertBody(job.signal, body, job.json, job.nowNanos)
    if (conversion.kind === 'converted') {
      for (const rows of Object.values(conversion.converted.batches)) {
        rows.data = ownBuffer(rows.data, transfer, true)
      }
    }
    reply = { id: job.id, conversion }
  } catch (err) {
    reply = { id: job.id, error: err instanceof Error ? err.message : String(err) }
  }
  port.postMessage(reply, transfer)
})
