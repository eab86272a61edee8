import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dropDatabase, testConfig, testStorage } from '../testing/harness.js'
import type { Storage } from './client.js'
import { NativeBlock } from './native.js'

// The encoder is checked against the engine itself: what it reads back must equal what
// was written, for every column type and for the string lengths where the prefix grows.
const COLUMNS = [
  { name: 'ts', type: 'DateTime64' },
  { name: 'name', type: 'String' },
  { name: 'n', type: 'UInt32' },
  { name: 'big', type: 'UInt64' },
  { name: 'tags', type: 'Array(String)' },
  { name: 'times', type: 'Array(DateTime64)' },
  { name: 'attrs', type: 'Map(String, String)' },
] as const

let storage: Storage
beforeAll(async () => {
  storage = testStorage(testConfig())
  await storage.client.command({ query: `CREATE DATABASE ${storage.database}` })
  await storage.client.command({
    query: `CREATE TABLE ${storage.database}.t (
      ts DateTime64(9, 'UTC'), name LowCardinality(String), n UInt32, big UInt64,
      tags Array(String), times Array(DateTime64(9, 'UTC')),
      attrs Map(LowCardinality(String), String)
    ) ENGINE = MergeTree ORDER BY ts`,
  })
})
afterAll(() => dropDatabase(storage))

interface Row {
  ts: string
  name: string
  n: number
  big: string
  tags: string[]
  times: string[]
  attrs: Record<string, string>
}

describe('NativeBlock', () => {
  it('writes every column type so the engine reads back exactly what was sent', async () => {
    const names = ['', 'ascii', 'grüße 注文 🚚', 'x'.repeat(127), 'y'.repeat(128), 'é'.repeat(9000)]
    const first = new NativeBlock(COLUMNS)
    const second = new NativeBlock(COLUMNS)
    names.forEach((name, i) => {
      const block = i % 2 === 0 ? first : second
      block.append([
        1_763_800_000_123_456_789n + BigInt(i),
        name,
        4_294_967_295 - i,
        18_446_744_073_709_551_615n - BigInt(i),
        i === 0 ? [] : [name, `tag-${i}`],
        i === 0 ? [] : [1_763_800_000_000_000_001n, 1_763_800_000_999_999_999n],
        i === 0 ? {} : { 'http.route': '/orders/:id', [`k${i}`]: name },
      ])
    })
    // Two blocks, one insert: a batch is the concatenation of per-request blocks.
    await storage.insertRows(`${storage.database}.t`, 'Native', [first.encode(), second.encode()])
    const rs = await storage.client.query({
      query: `SELECT toUnixTimestamp64Nano(ts) AS ts, name, n, big, tags,
                arrayMap(t -> toString(toUnixTimestamp64Nano(t)), times) AS times, attrs
              FROM ${storage.database}.t ORDER BY ts`,
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
    })
    const rows = await rs.json<Row>()
    expect(rows).toHaveLength(names.length)
    names.forEach((name, i) => {
      expect(rows[i]).toEqual({
        ts: String(1_763_800_000_123_456_789n + BigInt(i)),
        name,
        n: 4_294_967_295 - i,
        big: String(18_446_744_073_709_551_615n - BigInt(i)),
        tags: i === 0 ? [] : [name, `tag-${i}`],
        times: i === 0 ? [] : ['1763800000000000001', '1763800000999999999'],
        attrs: i === 0 ? {} : { 'http.route': '/orders/:id', [`k${i}`]: name },
      })
    })
  })

  it('encodes an empty block that inserts nothing', async () => {
    const block = new NativeBlock(COLUMNS)
    await storage.insertRows(`${storage.database}.t`, 'Native', [block.encode()])
    const rs = await storage.client.query({
      query: `SELECT count() AS c FROM ${storage.database}.t WHERE name = 'never'`,
      format: 'JSONEachRow',
    })
    expect(await rs.json()).toEqual([{ c: '0' }])
  })
})
