import type { Readable } from 'node:stream'
import { createGunzip, createInflate } from 'node:zlib'

/** Why a body could not be read; `status` is the HTTP answer. */
export class BodyError extends Error {
  override name = 'BodyError'
  constructor(
    readonly status: 400 | 413 | 415 | 503,
    message: string,
  ) {
    super(message)
  }
}

/**
 * Bytes held by bodies being read or decoded right now, across all requests, so a burst of
 * large uploads cannot exhaust memory: past the budget a request is refused with 503.
 */
export class InFlightBudget {
  private used = 0
  constructor(readonly limit: number) {}
  take(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false
    this.used += bytes
    return true
  }
  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes)
  }
  get inUse(): number {
    return this.used
  }
}

export interface ReadLimits {
  /** Cap on the body after decompression (and before, which is never larger for sane input). */
  maxBytes: number
  budget: InFlightBudget
  /** Bytes taken from the budget so far; the caller gives them back when the request ends. */
  onTaken: (bytes: number) => void
}

/**
 * Reads a request body, inflating gzip/deflate as it arrives and stopping the moment the
 * inflated size passes the cap, so a zip bomb costs no more than the cap.
 */
export function readBody(
  raw: Readable,
  encoding: string | undefined,
  limits: ReadLimits,
): Promise<Buffer> {
  const enc = (encoding ?? 'identity').trim().toLowerCase()
  let source: Readable
  if (enc === 'gzip' || enc === 'x-gzip') source = raw.pipe(createGunzip())
  else if (enc === 'deflate') source = raw.pipe(createInflate())
  else if (enc === 'identity' || enc === '') source = raw
  else {
    raw.resume()
    return Promise.reject(
      new BodyError(
        415,
        `Content-Encoding ${JSON.stringify(encoding)} is not supported; use gzip or none`,
      ),
    )
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const fail = (err: BodyError): void => {
      if (done) return
      done = true
      if (source !== raw) source.destroy()
      raw.resume() // drain what the client still sends so the 4xx reaches it
      reject(err)
    }
    source.on('data', (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > limits.maxBytes) {
        fail(
          new BodyError(
            413,
            `request body exceeds ${limits.maxBytes} bytes${source !== raw ? ' after decompression' : ''}`,
          ),
        )
        return
      }
      if (!limits.budget.take(chunk.length)) {
        fail(new BodyError(503, 'too many large requests in progress; retry later'))
        return
      }
      limits.onTaken(chunk.length)
      chunks.push(chunk)
    })
    source.on('error', (err: Error) => {
      fail(new BodyError(400, `request body is not valid ${enc} data: ${err.message}`))
    })
    raw.on('error', (err: Error) =>
      fail(new BodyError(400, `request body was cut off: ${err.message}`)),
    )
    source.on('end', () => {
      if (done) return
      done = true
      resolve(Buffer.concat(chunks, size))
    })
  })
}
