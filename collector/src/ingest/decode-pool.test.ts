import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { hex, nanosAgo } from '../testing/harness.js'
import { protobufTraces } from '../testing/otlp.js'
import { SpoolRecycler } from '../storage/spool-recycler.js'
import { parseSpoolName, type SpooledRows } from '../storage/spool.js'
import { DecodePool } from './decode-pool.js'
import { silentLogger, type Logger } from '../log.js'
import { captureLog } from '../testing/log.js'

function traces(spans: number): Buffer {
  const start = nanosAgo(1000)
  return protobufTraces({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'pool' } }] },
        scopeSpans: [
          {
            spans: Array.from({ length: spans }, (_, i) => ({
              traceId: Buffer.from(hex(16), 'hex'),
              spanId: Buffer.from(hex(8), 'hex'),
              name: `op ${i % 3}`,
              startTimeUnixNano: start.toString(),
              endTimeUnixNano: (start + 1000n).toString(),
              attributes: [{ key: 'n', value: { intValue: i } }],
            })),
          },
        ],
      },
    ],
  })
}

const pools: DecodePool[] = []
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()))
})
function pool(
  threads: number,
  log: Logger = silentLogger,
  spool?: { dir: string; database: string; recycler?: SpoolRecycler },
): DecodePool {
  const p = new DecodePool(threads, log, spool)
  pools.push(p)
  return p
}

type Conversion = Awaited<ReturnType<DecodePool['convert']>>

/** What a conversion that must succeed converted; a refusal fails the test with its reason. */
function converted(
  c: Conversion,
  which: string,
): Extract<Conversion, { kind: 'converted' }>['converted'] {
  if (c.kind !== 'converted')
    throw new Error(`${which} conversion refused (${c.status}): ${c.message}`)
  return c.converted
}

describe('DecodePool', () => {
  it('encodes a body on a worker thread exactly as on the calling thread', async () => {
    const body = traces(300)
    const now = nanosAgo().toString()
    const [onCaller, onWorker] = await Promise.all([
      pool(0).convert('traces', Buffer.from(body), false, now),
      pool(2).convert('traces', Buffer.from(body), false, now),
    ])
    const [inline, threaded] = [converted(onCaller, 'inline'), converted(onWorker, 'threaded')]
    expect(inline.accepted).toBe(300)
    expect(threaded.accepted).toBe(300)
    for (const table of ['spans', 'trace_spans'] as const) {
      const [a, b] = [inline.batches[table], threaded.batches[table]]
      if (!b || !a || !('data' in b) || !('data' in a)) throw new Error(`${table}: no rows`)
      expect(Buffer.isBuffer(b.data)).toBe(true)
      expect(b.rows).toBe(300)
      expect(b.data.equals(a.data)).toBe(true)
    }
  })

  it('writes the rows to spool files, byte for byte what the calling thread encodes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reckon-spool-'))
    const body = traces(300)
    const now = nanosAgo().toString()
    const [onCaller, onWorker] = await Promise.all([
      pool(0).convert('traces', Buffer.from(body), false, now),
      pool(1, silentLogger, { dir, database: 'shop' }).convert(
        'traces',
        Buffer.from(body),
        false,
        now,
      ),
    ])
    const [inline, spooled] = [converted(onCaller, 'inline'), converted(onWorker, 'spooled')]
    for (const table of ['spans', 'trace_spans'] as const) {
      const [a, b] = [inline.batches[table], spooled.batches[table]]
      if (!a || !('data' in a) || !b || !('file' in b)) throw new Error(`${table}: not spooled`)
      expect(dirname(b.file)).toBe(dir)
      // Named for where the rows go, so a crashed process's files can be stored later.
      expect(parseSpoolName(basename(b.file))).toEqual({ table: `shop.${table}`, format: 'Native' })
      expect([b.rows, b.bytes]).toEqual([300, a.data.length])
      expect(readFileSync(b.file).equals(a.data)).toBe(true)
    }
  })

  it('overwrites kept files instead of making new ones, and gives back those it did not use', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reckon-spool-'))
    const recycler = new SpoolRecycler(dir)
    const p = pool(1, silentLogger, { dir, database: 'shop', recycler })
    const filesOf = (c: Conversion): SpooledRows[] =>
      Object.values(converted(c, 'spooled').batches).filter((b) => 'file' in b)
    // Rows stored: their two files are kept.
    const stored = filesOf(await p.convert('traces', traces(50), false, nanosAgo().toString()))
    const inodes = stored.map((f) => statSync(f.file).ino).sort()
    await recycler.recycle(stored)
    const next = filesOf(await p.convert('traces', traces(5), false, nanosAgo().toString()))
    expect(next.map((f) => statSync(f.file).ino).sort()).toEqual(inodes)
    expect(readdirSync(dir).sort()).toEqual(next.map((f) => basename(f.file)).sort())

    // A refused body uses none of the files it was lent: they go back for the next request.
    await recycler.recycle(next)
    const refused = await p.convert('traces', Buffer.from([0x0a, 0xff]), false, '0')
    expect(refused.kind).toBe('refused')
    expect(recycler.take(3).length).toBe(2)
    await recycler.close()
  })

  it('refuses an undecodable body with the reason, and leaves the caller’s small buffers intact', async () => {
    // Two small buffers share one slab of Node's pool: sending one must not detach the other.
    const garbage = Buffer.from([0x0a, 0xff, 0xff])
    const neighbour = Buffer.from('still here')
    const result = await pool(1).convert('traces', garbage, false, '0')
    expect(result).toEqual({
      kind: 'refused',
      status: 400,
      message: expect.stringMatching(/^body is not a valid protobuf ExportTraceServiceRequest/),
    })
    expect(neighbour.toString()).toBe('still here')
  })

  it('fails the requests of a thread that dies, and decodes the next ones on a new thread', async () => {
    const log = captureLog()
    const p = pool(1, log.logger)
    const inFlight = p.convert('traces', traces(20_000), false, '0')
    await p['threads'][0]!.worker.terminate()
    await expect(inFlight).rejects.toThrow(/decode thread exited/)
    expect(log.entries).toMatchObject([
      {
        level: 50,
        msg: 'a decode thread stopped; starting another',
        err: { stack: expect.stringMatching(/decode thread exited[^]*\n +at /) },
      },
    ])
    const next = await p.convert('traces', traces(5), false, '0')
    expect(next.kind === 'converted' && next.converted.accepted).toBe(5)
    // The replacement dying young too is taken as a broken thread: no restart loop, and
    // requests are refused (senders retry) until the next one starts a second later.
    await p['threads'][0]!.worker.terminate()
    await expect(p.convert('traces', traces(5), false, '0')).rejects.toThrow(
      /no decode thread is running/,
    )
  })
})
