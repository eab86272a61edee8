import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dropDatabase, testConfig, testStorage } from '../testing/harness.js'
import type { Storage } from './client.js'
import { jsonRows, TableWriter, type FlushOutcome } from './writer.js'

let storage: Storage
beforeAll(async () => {
  storage = testStorage(testConfig())
  await storage.client.command({ query: `CREATE DATABASE ${storage.database}` })
})
afterAll(() => dropDatabase(storage))

/** A table of its own and a writer for it that records every flush's outcome. */
async function writerFor(
  table: string,
): Promise<{ writer: TableWriter; outcomes: FlushOutcome[] }> {
  await storage.client.command({
    query: `CREATE TABLE ${storage.database}.${table} (n UInt32) ENGINE = MergeTree ORDER BY n`,
  })
  const outcomes: FlushOutcome[] = []
  const writer = new TableWriter({
    storage,
    table,
    format: 'JSONEachRow',
    batchRows: 1,
    flushIntervalMs: 10,
    maxQueueBytes: 1 << 20,
    onFlush: (o) => outcomes.push(o),
  })
  return { writer, outcomes }
}

const rows = async (table: string): Promise<number[]> =>
  (
    await storage.client
      .query({
        query: `SELECT n FROM ${storage.database}.${table} ORDER BY n`,
        format: 'JSONEachRow',
      })
      .then((r) => r.json<{ n: number }>())
  ).map((r) => r.n)

describe('TableWriter', () => {
  it('quarantines a row the engine refuses as bad data at once, then writes the next', async () => {
    const { writer, outcomes } = await writerFor('bad_data')
    writer.enqueue(jsonRows('{"n":"not a number"}\n', 1))
    writer.enqueue(jsonRows('{"n":7}\n', 1))
    await writer.flush()
    expect(outcomes.map((o) => o.kind)).toEqual(['quarantined', 'written'])
    expect(outcomes[0]).toMatchObject({
      rows: 1,
      error: expect.stringMatching(/^Cannot parse input/),
    })
    expect(await rows('bad_data')).toEqual([7])
  })

  it('retries a batch refused with TOO_MANY_PARTS until merges catch up, dropping nothing', async () => {
    const { writer, outcomes } = await writerFor('pushed_back')
    const table = `${storage.database}.pushed_back`
    writer.enqueue(jsonRows('{"n":1}\n', 1))
    await writer.flush()
    // What the engine says when inserts outrun its merges: here, at the second part.
    await storage.client.command({ query: `SYSTEM STOP MERGES ${table}` })
    await storage.client.command({
      query: `ALTER TABLE ${table} MODIFY SETTING parts_to_throw_insert = 1`,
    })
    writer.enqueue(jsonRows('{"n":2}\n', 1))
    const flushed = writer.flush()
    // More tries than a batch of bad data gets.
    const tries = (): number => outcomes.filter((o) => o.kind !== 'written').length
    while (tries() < 4 && !outcomes.some((o) => o.kind === 'dropped')) {
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(outcomes.at(-1)).toMatchObject({
      kind: 'retrying',
      error: expect.stringMatching(/^Too many parts/),
    })
    await storage.client.command({
      query: `ALTER TABLE ${table} RESET SETTING parts_to_throw_insert`,
    })
    await flushed
    expect(outcomes.map((o) => o.kind)).not.toContain('dropped')
    expect(await rows('pushed_back')).toEqual([1, 2])
  })

  it('keeps a batch for a table that is gone, retrying, and quarantines none of its rows', async () => {
    const { writer, outcomes } = await writerFor('renamed')
    const table = `${storage.database}.renamed`
    await storage.client.command({ query: `RENAME TABLE ${table} TO ${table}_aside` })
    writer.enqueue(jsonRows('{"n":1}\n{"n":"not a number"}\n{"n":3}\n', 3))
    const flushed = writer.flush()
    const retries = (): number => outcomes.filter((o) => o.kind === 'retrying').length
    while (retries() < 2 && !outcomes.some((o) => o.kind === 'quarantined')) {
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(outcomes.map((o) => o.kind)).not.toContain('quarantined')
    expect(writer.cannotStore).toMatch(/^writing to renamed: Table .*renamed does not exist/)
    await storage.client.command({ query: `RENAME TABLE ${table}_aside TO ${table}` })
    await flushed
    // Once the table is back, the batch is bisected as any refused batch is.
    expect(outcomes.filter((o) => o.kind === 'quarantined')).toEqual([
      { kind: 'quarantined', rows: 1, error: expect.stringMatching(/^Cannot parse input/) },
    ])
    expect(await rows('renamed')).toEqual([1, 3])
    expect(writer.cannotStore).toBeUndefined()
  })
})
