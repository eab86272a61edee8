import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dropDatabase, testConfig, testStorage } from '../testing/harness.js'
import type { Storage } from './client.js'
import { LowCardinalityColumn, MapColumn } from './native-dictionary.js'
import { ArrayColumn, encodeBlock, PlainColumn } from './native.js'
import { rowInserter } from './insert.js'

// The encoder is checked against the engine itself: what it reads back must equal what
// was written, for every column kind, for the string lengths where the prefix grows, and
// for dictionaries past 256 entries (two-byte indexes).
class TestColumns {
  ts = new PlainColumn("DateTime64(9, 'UTC')")
  name = new LowCardinalityColumn()
  text = new PlainColumn('String')
  n = new PlainColumn('UInt32')
  big = new PlainColumn('UInt64')
  tags = new ArrayColumn('String')
  times = new ArrayColumn("DateTime64(9, 'UTC')")
  attrs = new MapColumn('String')
  types = new MapColumn('LowCardinality(String)')
  rows = 0

  encode(): Buffer {
    return encodeBlock(
      [
        ['ts', this.ts],
        ['name', this.name],
        ['text', this.text],
        ['n', this.n],
        ['big', this.big],
        ['tags', this.tags],
        ['times', this.times],
        ['attrs', this.attrs],
        ['types', this.types],
      ],
      this.rows,
    )
  }
}

let storage: Storage
beforeAll(async () => {
  storage = testStorage(testConfig())
  await storage.client.command({ query: `CREATE DATABASE ${storage.database}` })
  await storage.client.command({
    query: `CREATE TABLE ${storage.database}.t (
      ts DateTime64(9, 'UTC'), name LowCardinality(String), text String, n UInt32, big UInt64,
      tags Array(String), times Array(DateTime64(9, 'UTC')),
      attrs Map(LowCardinality(String), String),
      types Map(LowCardinality(String), LowCardinality(String))
    ) ENGINE = MergeTree ORDER BY ts`,
  })
})
afterAll(() => dropDatabase(storage))

interface Row {
  ts: string
  name: string
  text: string
  n: number
  big: string
  tags: string[]
  times: string[]
  attrs: Record<string, string>
  types: Record<string, string>
}

async function readBack(): Promise<Row[]> {
  const rs = await storage.client.query({
    query: `SELECT toUnixTimestamp64Nano(ts) AS ts, name, text, n, big, tags,
              arrayMap(t -> toString(toUnixTimestamp64Nano(t)), times) AS times, attrs, types
            FROM ${storage.database}.t ORDER BY ts`,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
  })
  return rs.json<Row>()
}

describe('Native columns', () => {
  it('writes every column kind so the engine reads back exactly what was sent', async () => {
    const names = ['', 'ascii', 'grüße 注文 🚚', 'x'.repeat(127), 'y'.repeat(128), 'é'.repeat(9000)]
    // The first row alone in a block: every map and array column is empty there.
    const blocks = [new TestColumns(), new TestColumns(), new TestColumns()]
    names.forEach((name, i) => {
      const c = blocks[i === 0 ? 0 : 1 + (i % 2)]!
      c.ts.data.int64(1_763_800_000_123_456_789n + BigInt(i))
      c.name.add(name)
      c.text.data.string(name)
      c.n.data.uint32(4_294_967_295 - i)
      c.big.data.uint64(18_446_744_073_709_551_615n - BigInt(i))
      if (i > 0) {
        c.tags.elements.data.string(name)
        c.tags.elements.data.string(`tag-${i}`)
        c.times.elements.data.int64(1_763_800_000_000_000_001n)
        c.times.elements.data.int64(1_763_800_000_999_999_999n)
      }
      c.tags.endRow(i === 0 ? 0 : 2)
      c.times.endRow(i === 0 ? 0 : 2)
      c.attrs.beginRow()
      c.types.beginRow()
      if (i > 0) {
        c.attrs.set('http.route', '/orders/:id')
        c.attrs.set(`k${i}`, name)
        c.attrs.set('http.route', 'a repeated key keeps its first value')
        c.types.set(`k${i}`, 'int')
      }
      c.attrs.endRow()
      c.types.endRow()
      c.rows++
    })
    // Several blocks, one insert: a batch is the concatenation of per-request blocks.
    await rowInserter(storage)(
      `${storage.database}.t`,
      'Native',
      blocks.map((b) => b.encode()),
    )
    const rows = await readBack()
    expect(rows).toHaveLength(names.length)
    names.forEach((name, i) => {
      expect(rows[i]).toEqual({
        ts: String(1_763_800_000_123_456_789n + BigInt(i)),
        name,
        text: name,
        n: 4_294_967_295 - i,
        big: String(18_446_744_073_709_551_615n - BigInt(i)),
        tags: i === 0 ? [] : [name, `tag-${i}`],
        times: i === 0 ? [] : ['1763800000000000001', '1763800000999999999'],
        attrs: i === 0 ? {} : { 'http.route': '/orders/:id', [`k${i}`]: name },
        types: i === 0 ? {} : { [`k${i}`]: 'int' },
      })
    })
  })

  it('keeps dictionaries past 256 entries, and takes back an aborted map row', async () => {
    await storage.client.command({ query: `TRUNCATE TABLE ${storage.database}.t` })
    const c = new TestColumns()
    const rows = 70_000
    for (let i = 0; i < rows; i++) {
      c.ts.data.int64(1_763_900_000_000_000_000n + BigInt(i))
      c.name.add(`operation ${i}`)
      c.text.data.string('')
      c.n.data.uint32(i)
      c.big.data.uint64(BigInt(i))
      c.tags.endRow(0)
      c.times.endRow(0)
      c.attrs.beginRow()
      c.types.beginRow()
      c.attrs.set(`key ${i % 300}`, String(i))
      c.types.set('kind', i % 2 ? 'odd' : 'even')
      if (i % 1000 === 1) {
        // A row refused half-way: what it added must not reach the next row.
        c.attrs.set('refused', 'x')
        c.attrs.abortRow()
        c.types.abortRow()
        c.attrs.beginRow()
        c.types.beginRow()
        c.attrs.set(`key ${i % 300}`, String(i))
        c.types.set('kind', 'odd')
      }
      c.attrs.endRow()
      c.types.endRow()
      c.rows++
    }
    await rowInserter(storage)(`${storage.database}.t`, 'Native', [c.encode()])
    const back = await readBack()
    expect(back).toHaveLength(rows)
    for (const i of [0, 1, 255, 256, 299, 300, 1001, 65_535, 65_536, rows - 1]) {
      expect(back[i]).toMatchObject({
        name: `operation ${i}`,
        n: i,
        attrs: { [`key ${i % 300}`]: String(i) },
        types: { kind: i % 2 ? 'odd' : 'even' },
      })
    }
  })

  it('encodes an empty block that inserts nothing', async () => {
    const c = new TestColumns()
    await rowInserter(storage)(`${storage.database}.t`, 'Native', [c.encode()])
    const rs = await storage.client.query({
      query: `SELECT count() AS c FROM ${storage.database}.t WHERE name = 'never'`,
      format: 'JSONEachRow',
    })
    expect(await rs.json()).toEqual([{ c: '0' }])
  })
})
