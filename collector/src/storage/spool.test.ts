import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DecodePool } from '../ingest/decode-pool.js'
import { dropDatabase, hex, testConfig, testStorage } from '../testing/harness.js'
import { protobufSpans } from '../testing/otlp.js'
import type { Storage } from './client.js'
import { rowInserter, spoolDir } from './insert.js'
import { leftoverSpool, rejectedDir, setAside } from './recover.js'
import { SpoolRecycler } from './spool-recycler.js'
import { parseSpoolName, spool, spoolAsync } from './spool.js'
import { jsonRows, TableWriter, type FlushOutcome, type WriterOptions } from './writer.js'
import { silentLogger } from '../log.js'

let storage: Storage
let dir: string
beforeAll(async () => {
  storage = testStorage(testConfig())
  if (storage.target.kind !== 'embedded') throw new Error('spooling is for the embedded engine')
  dir = spoolDir(storage.target.dataDir)
  await storage.client.command({ query: `CREATE DATABASE IF NOT EXISTS ${storage.database}` })
})
afterAll(() => dropDatabase(storage))

/** A fresh table per test: order IDs and amounts, as JSON lines. */
async function table(): Promise<string> {
  const name = `orders_${hex(4)}`
  await storage.client.command({
    query: `CREATE TABLE ${storage.database}.${name} (id String, cents UInt64) ENGINE = MergeTree ORDER BY id`,
  })
  return name
}

const lines = (ids: string[]): Buffer =>
  Buffer.from(ids.map((id, i) => JSON.stringify({ id, cents: 100 + i }) + '\n').join(''))

/** A writer of JSON lines to `table` that flushes only when told. */
const writerFor = (
  table: string,
  more: Pick<WriterOptions, 'onFlush' | 'discard'> = {},
): TableWriter =>
  new TableWriter({
    storage,
    table,
    format: 'JSONEachRow',
    batchRows: 1_000,
    flushIntervalMs: 60_000,
    maxQueueBytes: 1 << 20,
    ...more,
  })

async function stored(name: string): Promise<string[]> {
  const rs = await storage.client.query({
    query: `SELECT id FROM ${storage.database}.${name} ORDER BY id`,
    format: 'JSONEachRow',
  })
  return (await rs.json<{ id: string }>()).map((r) => r.id)
}

describe('spooled rows', () => {
  it('are stored with the rows held in memory, and their files removed once written', async () => {
    const name = await table()
    const outcomes: FlushOutcome[] = []
    const writer = writerFor(name, { onFlush: (o) => outcomes.push(o) })
    // Written in two parts, as a decode thread writes a block it holds in pieces.
    const a = spool(join(dir, `${hex(4)}-a.rows`), [lines(['A-1']), lines(['A-2', 'A-3'])], 3)
    const b = spool(join(dir, `${hex(4)}-b.rows`), [lines(['B-1'])], 1)
    writer.enqueue(a)
    writer.enqueue(jsonRows(lines(['M-1']).toString(), 1))
    writer.enqueue(b)
    expect(writer.depth).toEqual({ rows: 5, bytes: a.bytes + b.bytes + lines(['M-1']).length })
    await writer.flush()
    expect(await stored(name)).toEqual(['A-1', 'A-2', 'A-3', 'B-1', 'M-1'])
    expect(outcomes.map((o) => o.kind)).toEqual(['written'])
    expect([existsSync(a.file), existsSync(b.file)]).toEqual([false, false])
    expect(writer.depth).toEqual({ rows: 0, bytes: 0 })
  })

  it('fail the insert when a file has gone missing, rather than store nothing silently', async () => {
    const name = await table()
    const gone = { file: join(dir, `${hex(4)}-gone.rows`), bytes: 10, rows: 1 }
    const kept = spool(join(dir, `${hex(4)}-kept.rows`), [lines(['K-1'])], 1)
    await expect(
      rowInserter(storage)(`${storage.database}.${name}`, 'JSONEachRow', [kept, gone]),
    ).rejects.toThrow(/spool file .*-gone.rows is missing/)
    expect(await stored(name)).toEqual([])
    // The file the engine did not take is still there for the retry.
    expect(existsSync(kept.file)).toBe(true)
  })
})

describe('a spool file whose rows are stored', () => {
  it('is kept under a name recovery deletes, then overwritten whole by the next rows', async () => {
    const name = await table()
    const recycler = new SpoolRecycler(dir)
    const writer = writerFor(name, { discard: (files) => recycler.recycle(files) })
    // Named as the decode threads name theirs.
    const file = (): string => join(dir, `${hex(4)}.${storage.database}.${name}.JSONEachRow`)
    const many = Array.from({ length: 50 }, (_, i) => `A-${String(i).padStart(2, '0')}`)
    const first = spool(file(), [lines(many)], many.length)
    const inode = statSync(first.file).ino
    writer.enqueue(first)
    await writer.flush()
    expect(existsSync(first.file)).toBe(false)

    const [kept, ...more] = recycler.take(2)
    expect(more).toEqual([])
    if (!kept) throw new Error('the stored file was not kept')
    expect(parseSpoolName(basename(kept.file))).toBeUndefined()
    expect([statSync(kept.file).ino, kept.bytes]).toEqual([inode, first.bytes])

    // Fewer rows than the file held: nothing of the earlier ones may be stored again.
    const second = spool(file(), [lines(['B-1']), lines(['B-2'])], 2, kept.file)
    expect(statSync(second.file).ino).toBe(inode)
    expect(existsSync(kept.file)).toBe(false)
    expect(readFileSync(second.file)).toEqual(Buffer.concat([lines(['B-1']), lines(['B-2'])]))
    writer.enqueue(second)
    await writer.flush()
    expect(await stored(name)).toEqual([...many, 'B-1', 'B-2'])
    await recycler.close()
  })
})

/** Permission bits of a file or directory. */
const mode = (path: string): number => statSync(path).mode & 0o777

describe('spool files and their directories', () => {
  it('are readable by this user alone: files 0600, directories 0700', async () => {
    // The engine's spool, as the process made it when it opened the data directory.
    expect(mode(dir)).toBe(0o700)
    const name = await table()
    const file = (): string => join(dir, `${hex(4)}.${storage.database}.${name}.JSONEachRow`)
    const written = spool(file(), [lines(['A-1'])], 1)
    const fromLoop = await spoolAsync(file(), lines(['A-2']), 1)
    // A decode thread's: the rows of a request as it spools them.
    const pool = new DecodePool(1, silentLogger, { dir, database: storage.database })
    const c = await pool.convert('traces', protobufSpans('modes', hex(16), 3), false, '0')
    await pool.close()
    if (c.kind !== 'converted') throw new Error('refused')
    const decoded = Object.values(c.converted.batches).map((rows) => {
      if (!('file' in rows)) throw new Error('not spooled')
      return rows.file
    })
    // Kept for reuse, then overwritten with the next request's rows.
    const recycler = new SpoolRecycler(dir)
    await recycler.recycle([written])
    const [kept] = recycler.take(1)
    if (!kept) throw new Error('not kept')
    const keptMode = mode(kept.file)
    const reused = spool(file(), [lines(['A-3'])], 1, kept.file)
    expect([fromLoop.file, ...decoded, reused.file].map((f) => [basename(f), mode(f)])).toEqual(
      [fromLoop.file, ...decoded, reused.file].map((f) => [basename(f), 0o600]),
    )
    expect(keptMode).toBe(0o600)
    await recycler.close()
  })

  it('are made private when an earlier version left them readable by anyone', () => {
    const old = join(dirname(dir), `old-${hex(4)}`, 'inserts')
    mkdirSync(old, { recursive: true, mode: 0o755 })
    chmodSync(old, 0o755)
    const leftover = join(old, `${hex(4)}.${storage.database}.orders.JSONEachRow`)
    writeFileSync(leftover, '{"id":"cut sh', { mode: 0o644 })
    chmodSync(leftover, 0o644)
    expect(leftoverSpool(old)).toEqual([basename(leftover)])
    expect(mode(old)).toBe(0o700)
    // Refused, it is moved aside for a person, and is theirs alone there too.
    setAside(leftover, rejectedDir(old))
    const aside = join(rejectedDir(old), basename(leftover))
    expect([mode(rejectedDir(old)), mode(aside)]).toEqual([0o700, 0o600])
  })
})
