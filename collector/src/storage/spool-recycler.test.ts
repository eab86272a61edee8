import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dropDatabase, hex, testConfig, testStorage } from '../testing/harness.js'
import type { Storage } from './client.js'
import { spoolDir } from './insert.js'
import { SpoolRecycler } from './spool-recycler.js'
import { parseSpoolName, spool } from './spool.js'
import { TableWriter } from './writer.js'

let storage: Storage
let dir: string
beforeAll(async () => {
  storage = testStorage(testConfig())
  if (storage.target.kind !== 'embedded') throw new Error('spooling is for the embedded engine')
  dir = spoolDir(storage.target.dataDir)
  await storage.client.command({ query: `CREATE DATABASE IF NOT EXISTS ${storage.database}` })
})
afterAll(() => dropDatabase(storage))

const lines = (ids: string[]): Buffer =>
  Buffer.from(ids.map((id) => JSON.stringify({ id }) + '\n').join(''))

/** A spool file name for `table` in this test's database, as the decode threads name them. */
const spoolFile = (table: string): string =>
  join(dir, `${hex(4)}.${storage.database}.${table}.JSONEachRow`)

describe('a spool file whose rows are stored', () => {
  it('is kept under a name recovery deletes, then overwritten whole by the next rows', async () => {
    const table = `orders_${hex(4)}`
    await storage.client.command({
      query: `CREATE TABLE ${storage.database}.${table} (id String) ENGINE = MergeTree ORDER BY id`,
    })
    const recycler = new SpoolRecycler(dir)
    const writer = new TableWriter({
      storage,
      table,
      format: 'JSONEachRow',
      batchRows: 1_000,
      flushIntervalMs: 60_000,
      maxQueueBytes: 1 << 20,
      discard: (files) => recycler.recycle(files),
    })
    const many = Array.from({ length: 50 }, (_, i) => `A-${i}`)
    const first = spool(spoolFile(table), [lines(many)], many.length)
    const inode = statSync(first.file).ino
    writer.enqueue(first)
    await writer.flush()
    expect(existsSync(first.file)).toBe(false)

    const [kept, ...more] = recycler.take(2)
    expect(more).toEqual([])
    expect(kept && parseSpoolName(basename(kept))).toBeUndefined()
    expect(statSync(kept!).ino).toBe(inode)

    // Fewer rows than the file held: nothing of the earlier ones may be stored again.
    const second = spool(spoolFile(table), [lines(['B-1']), lines(['B-2'])], 2, kept)
    expect(statSync(second.file).ino).toBe(inode)
    expect(existsSync(kept!)).toBe(false)
    expect(readFileSync(second.file, 'utf8')).toBe(lines(['B-1', 'B-2']).toString())
    writer.enqueue(second)
    await writer.flush()
    const rs = await storage.client.query({
      query: `SELECT id FROM ${storage.database}.${table} WHERE id LIKE 'B-%' ORDER BY id`,
      format: 'JSONEachRow',
    })
    expect(await rs.json()).toEqual([{ id: 'B-1' }, { id: 'B-2' }])
    const count = await storage.client.query({
      query: `SELECT count() AS n FROM ${storage.database}.${table}`,
      format: 'JSONEachRow',
    })
    expect(await count.json()).toEqual([{ n: 52 }])
    await recycler.close()
  })
})

describe('the recycler', () => {
  it('keeps at most 256 files and no large ones, deleting the rest and all at close', async () => {
    const own = await mkdtemp(join(tmpdir(), 'reckon-recycler-'))
    const recycler = new SpoolRecycler(own)
    const files = Array.from({ length: 260 }, (_, i) =>
      spool(join(own, `f${i}.db.t.JSONEachRow`), [lines([`r${i}`])], 1),
    )
    const large = { ...spool(join(own, 'large.db.t.Native'), [lines(['x'])], 1), bytes: 5 << 20 }
    await recycler.recycle([large, ...files])
    const left = readdirSync(own)
    expect(left.length).toBe(256)
    expect(left.every((name) => !parseSpoolName(name))).toBe(true)

    const taken = recycler.take(3)
    expect(taken.length).toBe(3)
    await recycler.close()
    expect(readdirSync(own).sort()).toEqual(taken.map((f) => basename(f)).sort())
    // Taken before the close and given back after it: deleted, not kept.
    recycler.giveBack(taken)
    await expect.poll(() => readdirSync(own)).toEqual([])
  })
})
