// Importing settlement files as a finance user would: bad rows named by line with the reason
// while good rows are kept, files that cannot be read refused with nothing stored, and the
// same file imported twice stored once.
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import type { Storage } from '@reckon/collector/storage'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SourceConfig } from '../config.js'
import { dropStorage, testStorage } from '../testing/harness.js'
import {
  CsvRefused,
  ImportTooLarge,
  importCsv,
  NotAFileSource,
  type ImportProgress,
} from './csv-import.js'

const PSP: SourceConfig = {
  file: {
    format: 'csv',
    columns: {
      key: 'merchant_ref',
      amount: 'gross',
      currency: 'ccy',
      status: 'state',
      time: 'booked_at',
    },
  },
}
const HEADER = 'merchant_ref,gross,ccy,state,booked_at'

let storage: Storage
beforeAll(async () => {
  storage = await testStorage()
})
afterAll(async () => {
  await dropStorage(storage)
})

let sources = 0
/** A source name of its own per test: imports of one test never meet another's. */
const fresh = () => `psp-${++sources}`

const importText = (
  source: string,
  text: string | Buffer,
  extra: Partial<Parameters<typeof importCsv>[1]> = {},
) =>
  importCsv(storage, {
    source,
    config: PSP,
    stream: Readable.from([Buffer.from(text)]),
    fileName: 'settlement.csv',
    by: 'tester',
    ...extra,
  })

interface StoredRow {
  batch: string
  line: string
  key: string
  key_parts: string[]
  amount: string
  amount_text: string
  currency: string
  status: string
  time: string
}

async function stored(source: string): Promise<StoredRow[]> {
  const rs = await storage.client.query({
    query: `SELECT batch, line, key, key_parts, amount, amount_text, currency, status, toString(time) AS time
      FROM ${storage.database}.reconcile_records WHERE source = {source:String} ORDER BY line`,
    query_params: { source },
    format: 'JSONEachRow',
    clickhouse_settings: {
      output_format_json_quote_decimals: 1,
      output_format_json_quote_64bit_integers: 1,
    },
  })
  return rs.json<StoredRow>()
}

async function imports(
  source: string,
): Promise<{ state: string; rows: string; bad_rows: string; by: string }[]> {
  const rs = await storage.client.query({
    query: `SELECT state, rows, bad_rows, by FROM ${storage.database}.reconcile_imports FINAL
      WHERE source = {source:String}`,
    query_params: { source },
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
  })
  return rs.json()
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

describe('a settlement file', () => {
  it('keeps the good rows and names each bad one by line with its reason', async () => {
    const source = fresh()
    const file = [
      HEADER,
      'M-1,10.00,EUR,SETTLED,2026-05-01T10:00:00Z',
      'M-2,1e5,EUR,SETTLED,2026-05-01T10:00:00Z',
      'M-3,"1,000.00",EUR,SETTLED,2026-05-01T10:00:00Z',
      '',
      'M-4,-0.123456789,USD,REFUNDED,2026-05-01T12:00:00.5+02:00',
      ',5.00,EUR,SETTLED,2026-05-01T10:00:00Z',
      'M-6,5.00,eur,SETTLED,2026-05-01T10:00:00Z',
      'M-7,5.00,XYZ,SETTLED,2026-05-01 10:00:00',
      '"M-8',
      'two lines",1500,JPY,SETTLED,1777629600000',
      'M-9,5.0000000001,EUR,SETTLED,yesterday',
      'M-10,5.00,EUR',
      'M-11,+5,EUR,SETTLED,2026-02-30T10:00:00Z',
    ].join('\r\n')
    const summary = await importText(source, file)
    expect(summary).toMatchObject({
      source,
      batch: sha256(file),
      rows: 3,
      badRows: 8,
      alreadyImported: false,
    })
    expect(summary.problems).toEqual([
      { line: 3, message: 'amount "1e5" is in exponent notation: write its digits' },
      {
        line: 4,
        message:
          'amount "1,000.00" has a thousands separator or a decimal comma: write digits and a "." only',
      },
      { line: 7, message: 'key (merchant_ref) is empty' },
      { line: 8, message: 'currency "eur" is not an ISO 4217 code (codes are upper case: EUR)' },
      {
        line: 9,
        message:
          'currency "XYZ" is not an ISO 4217 code; time "2026-05-01 10:00:00" has no zone: add Z for UTC or its offset (+02:00)',
      },
      {
        line: 12,
        message: expect.stringMatching(
          /^amount "5.0000000001" has more than 9 decimal places; time "yesterday" is not RFC 3339/,
        ),
      },
      { line: 13, message: 'has 3 fields, the header has 5' },
      {
        line: 14,
        message: expect.stringMatching(
          /^amount "\+5" is not a decimal number.*; time "2026-02-30T10:00:00Z" is not a date and time of the calendar$/,
        ),
      },
    ])
    const rows = await stored(source)
    expect(rows.map((r) => [r.line, r.key, r.amount, r.currency, r.status, r.time])).toEqual([
      ['2', 'M-1', '10', 'EUR', 'SETTLED', '2026-05-01 10:00:00.000000000'],
      ['6', 'M-4', '-0.123456789', 'USD', 'REFUNDED', '2026-05-01 10:00:00.500000000'],
      // A quoted key across two lines is one record, at the line it starts on.
      ['10', 'M-8\r\ntwo lines', '1500', 'JPY', 'SETTLED', '2026-05-01 10:00:00.000000000'],
    ])
    expect(rows[0]!.amount_text).toBe('10.00')
    expect(rows.every((r) => r.batch === summary.batch)).toBe(true)
    expect(await imports(source)).toEqual([
      { state: 'done', rows: '3', bad_rows: '8', by: 'tester' },
    ])
  })

  it('counts every bad row and lists the first hundred', async () => {
    const source = fresh()
    const lines = Array.from({ length: 250 }, (_, i) => `M-${i},ten,EUR,OK,2026-05-01T10:00:00Z`)
    const summary = await importText(
      source,
      [HEADER, ...lines, 'M-ok,10,EUR,OK,2026-05-01T10:00:00Z'].join('\n'),
    )
    expect([summary.rows, summary.badRows, summary.problems.length]).toEqual([1, 250, 100])
    expect(summary.problems[99]).toEqual({ line: 101, message: expect.stringContaining('"ten"') })
  })

  it('takes a byte-order mark, another delimiter and a composite key', async () => {
    const source = fresh()
    const config: SourceConfig = {
      file: {
        format: 'csv',
        delimiter: ';',
        columns: { key: ['merchant', 'ref'], amount: 'amount', currency: 'currency', time: 'time' },
      },
    }
    const file =
      '\uFEFFmerchant;ref;amount;currency;time\nshop|1;A-1;12.50;EUR;2026-05-01T10:00:00Z\nshop;A\\2;7;JPY;2026-05-01T10:00:00Z\n'
    const summary = await importText(source, file, { config })
    expect(summary).toMatchObject({ rows: 2, badRows: 0 })
    const rows = await stored(source)
    // The parts stay apart, and their join cannot be mistaken for another list's.
    expect(rows.map((r) => [r.key, r.key_parts, r.status])).toEqual([
      ['shop\\|1|A-1', ['shop|1', 'A-1'], ''],
      ['shop|A\\\\2', ['shop', 'A\\2'], ''],
    ])
  })

  it('keeps identical rows of one file apart, each at its line', async () => {
    const source = fresh()
    const row = 'M-1,10.00,EUR,SETTLED,2026-05-01T10:00:00Z'
    const summary = await importText(source, [HEADER, row, row, row].join('\n'))
    expect(summary.rows).toBe(3)
    expect((await stored(source)).map((r) => r.line)).toEqual(['2', '3', '4'])
  })
})

describe('importing again', () => {
  it('stores the same file once, under the same batch', async () => {
    const source = fresh()
    const file = [
      HEADER,
      'M-1,10.00,EUR,SETTLED,2026-05-01T10:00:00Z',
      'M-2,x,EUR,SETTLED,2026-05-01T10:00:00Z',
    ].join('\n')
    const first = await importText(source, file)
    const again = await importText(source, file, { fileName: 'renamed.csv' })
    expect(again).toEqual({
      ...first,
      fileName: 'renamed.csv',
      problems: [],
      alreadyImported: true,
    })
    expect(await stored(source)).toHaveLength(1)
    // Another file is another batch, beside the first.
    const next = await importText(source, `${file}\nM-3,1,EUR,SETTLED,2026-05-01T10:00:00Z`)
    expect(next.batch).not.toBe(first.batch)
    expect(await stored(source)).toHaveLength(3)
  })

  it('replaces what an import cut short left of the same file', async () => {
    const source = fresh()
    const file = [
      HEADER,
      'M-1,10.00,EUR,SETTLED,2026-05-01T10:00:00Z',
      'M-2,20.00,EUR,SETTLED,2026-05-01T10:00:00Z',
    ].join('\n')
    const batch = sha256(file)
    // What a process killed mid-import leaves: its marker and part of the rows.
    await storage.client.insert({
      table: `${storage.database}.reconcile_imports`,
      format: 'JSONEachRow',
      values: [
        {
          source,
          batch,
          file_name: 'settlement.csv',
          state: 'importing',
          rows: 0,
          bad_rows: 0,
          by: 'tester',
        },
      ],
    })
    await storage.client.insert({
      table: `${storage.database}.reconcile_records`,
      format: 'JSONEachRow',
      values: [
        {
          source,
          batch,
          line: 2,
          key: 'M-1',
          key_parts: ['M-1'],
          amount: '10.00',
          amount_text: '10.00',
          currency: 'EUR',
          status: 'SETTLED',
          time: '2026-05-01 10:00:00',
        },
      ],
    })
    const summary = await importText(source, file)
    expect(summary).toMatchObject({ batch, rows: 2, alreadyImported: false })
    expect((await stored(source)).map((r) => r.key)).toEqual(['M-1', 'M-2'])
    expect(await imports(source)).toMatchObject([{ state: 'done', rows: '2' }])
  })

  it('stores a file uploaded twice at once only once', async () => {
    const source = fresh()
    const rows = Array.from({ length: 2000 }, (_, i) => `M-${i},1.00,EUR,OK,2026-05-01T10:00:00Z`)
    const file = [HEADER, ...rows].join('\n')
    const outcomes = await Promise.allSettled([importText(source, file), importText(source, file)])
    const said = outcomes
      .map((o) =>
        o.status === 'fulfilled'
          ? o.value.alreadyImported
            ? 'already imported'
            : 'imported'
          : (o.reason as Error).name,
      )
      .sort()
    // The second finds the first at work, or finished.
    expect([
      ['ImportInProgress', 'imported'],
      ['already imported', 'imported'],
    ]).toContainEqual(said)
    expect(await stored(source)).toHaveLength(2000)
  })
})

describe('a file refused whole', () => {
  it('names the missing column and the columns the file has, storing nothing', async () => {
    const source = fresh()
    const file =
      'merchant_ref,amount,ccy,state,booked_at\nM-1,10.00,EUR,SETTLED,2026-05-01T10:00:00Z\n'
    await expect(importText(source, file)).rejects.toThrow(
      new CsvRefused(
        'settlement.csv has no column gross (its columns: merchant_ref, amount, ccy, state, booked_at); nothing was imported',
      ),
    )
    await expect(
      importText(source, `${HEADER},gross\nM-1,10.00,EUR,SETTLED,2026-05-01T10:00:00Z,11.00\n`),
    ).rejects.toThrow('settlement.csv has column gross twice; nothing was imported')
    await expect(importText(source, '')).rejects.toThrow(
      /settlement.csv is empty: it needs a header row/,
    )
    expect(await stored(source)).toEqual([])
    expect(await imports(source)).toEqual([])
  })

  it('refuses broken CSV found after rows were stored, and removes them', async () => {
    const source = fresh()
    const good = Array.from({ length: 10 }, (_, i) => `M-${i},1.00,EUR,OK,2026-05-01T10:00:00Z`)
    const file = [HEADER, ...good, '"M-x"q,1.00,EUR,OK,2026-05-01T10:00:00Z'].join('\n')
    await expect(importText(source, file, { batchRows: 3 })).rejects.toThrow(
      /^settlement.csv is not well-formed CSV: Invalid Closing Quote: got "q" at line 12.*; nothing was imported$/,
    )
    expect(await stored(source)).toEqual([])
    expect(await imports(source)).toEqual([])
  })

  it('refuses a file past the size limit, and a source that is not a file', async () => {
    const source = fresh()
    const file = [HEADER, 'M-1,10.00,EUR,SETTLED,2026-05-01T10:00:00Z'].join('\n')
    await expect(importText(source, file, { maxBytes: 20 })).rejects.toThrow(ImportTooLarge)
    await expect(
      importText(source, file, { config: { events: { system: 'psp' } } }),
    ).rejects.toThrow(
      new NotAFileSource(`source ${source} is not a file source: only files are imported`),
    )
    expect(await stored(source)).toEqual([])
  })
})

it('imports a large file in bounded inserts, reporting progress', async () => {
  const source = fresh()
  const n = 12_000
  // Generated as the upload arrives: the file is never in memory whole.
  async function* upload(): AsyncGenerator<Buffer> {
    yield Buffer.from(`${HEADER}\n`)
    for (let i = 0; i < n; i += 1000) {
      let chunk = ''
      for (let j = i; j < i + 1000; j++)
        chunk += `M-${j},99999999999999.99,EUR,OK,2026-05-01T10:00:00Z\n`
      yield Buffer.from(chunk)
    }
  }
  const seen: ImportProgress[] = []
  const summary = await importCsv(storage, {
    source,
    config: PSP,
    stream: Readable.from(upload()),
    fileName: 'big.csv',
    by: 'tester',
    onProgress: (p) => seen.push(p),
  })
  expect(summary).toMatchObject({ rows: n, badRows: 0 })
  const rs = await storage.client.query({
    query: `SELECT count() AS n, toString(sum(amount)) AS total FROM ${storage.database}.reconcile_records
      WHERE source = {source:String}`,
    query_params: { source },
    format: 'JSONEachRow',
  })
  expect(await rs.json()).toEqual([{ n: String(n), total: '1199999999999999880' }])
  const last = seen.at(-1)!
  expect(last).toMatchObject({ stage: 'importing', rows: n, badRows: 0 })
  expect(last.bytes).toBe(last.totalBytes)
  expect(seen.some((p) => p.stage === 'receiving')).toBe(true)
})
