// Reading a PostgreSQL source from a real PostgreSQL 15 (Debian's, started here): exact
// amounts, times in UTC, composite keys, many fetches, and errors that name the source and
// PostgreSQL's reason without the password.
import type { Storage } from '@reckon/collector/storage'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dropStorage, testStorage } from '../testing/harness.js'
import { startPostgres, type TestPostgres } from '../testing/postgres.js'
import {
  PostgresSourceError,
  redactUrl,
  snapshotPostgres,
  type PostgresConfig,
} from './postgres.js'

let storage: Storage
let db: TestPostgres
beforeAll(async () => {
  ;[storage, db] = await Promise.all([testStorage(), startPostgres()])
  await db.sql(`CREATE TABLE orders (
    merchant text, ref text, total numeric(20, 2), currency char(3), status text,
    updated_at timestamptz, booked timestamp, booked_on date, rate double precision)`)
  await db.sql(`INSERT INTO orders VALUES
    ('shop', 'A-1', 99999999999999.99, 'EUR', 'PAID', '2026-05-01 12:00:00.123456+02', '2026-05-01 10:00:00', '2026-05-01', 0.1),
    ('shop', 'A-2', 0.01, 'JPY', 'PAID', '2026-05-01 10:00:00+00', '2026-05-01 10:00:00', '2026-05-01', 0.1),
    ('shop|x', 'A-3', -5, 'USD', NULL, '2026-05-01 10:00:00+00', '2026-05-01 10:00:00', '2026-05-01', 0.1)`)
  await db.sql(`CREATE TABLE many AS
    SELECT 'k-' || i AS key, (i || '.01')::numeric AS amount, 'EUR' AS currency, 'OK' AS status,
      timestamptz '2026-05-01 00:00:00Z' + i * interval '1 second' AS time
    FROM generate_series(1, 25) AS i`)
})
afterAll(async () => {
  await Promise.all([db.stop(), dropStorage(storage)])
})

let batches = 0
const snapshot = (
  config: Partial<PostgresConfig> & Pick<PostgresConfig, 'query'>,
  fetchRows?: number,
) => {
  const batch = `run:test-${++batches}:left`
  return {
    batch,
    read: () =>
      snapshotPostgres({
        storage,
        source: 'orders-db',
        config: { url: db.url, ...config },
        batch,
        ...(fetchRows ? { fetchRows } : {}),
      }),
  }
}

async function rowsOf(batch: string): Promise<Record<string, unknown>[]> {
  const rs = await storage.client.query({
    query: `SELECT line, key, key_parts, amount, amount_text, currency, status, toString(time) AS time
      FROM ${storage.database}.reconcile_records WHERE batch = {batch:String} ORDER BY line`,
    query_params: { batch },
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_decimals: 1 },
  })
  return rs.json()
}

describe('a PostgreSQL source', () => {
  it('reads amounts exactly, times in UTC and composite keys', async () => {
    const s = snapshot({
      query: 'SELECT * FROM orders ORDER BY ref;',
      columns: {
        key: ['merchant', 'ref'],
        amount: 'total',
        currency: 'currency',
        status: 'status',
        time: 'updated_at',
      },
    })
    expect(await s.read()).toBe(3)
    expect(await rowsOf(s.batch)).toEqual([
      {
        line: 1,
        key: 'shop|A-1',
        key_parts: ['shop', 'A-1'],
        amount: '99999999999999.99',
        amount_text: '99999999999999.99',
        currency: 'EUR',
        status: 'PAID',
        time: '2026-05-01 10:00:00.123456000',
      },
      expect.objectContaining({ key: 'shop|A-2', amount: '0.01', currency: 'JPY' }),
      expect.objectContaining({ key: 'shop\\|x|A-3', amount: '-5', status: '' }),
    ])
  })

  it('takes the default column names, a timestamp without zone as UTC, and a date', async () => {
    const naive = snapshot({
      query: `SELECT ref AS key, total AS amount, currency, booked AS time FROM orders WHERE ref = 'A-1'`,
    })
    await naive.read()
    expect(await rowsOf(naive.batch)).toMatchObject([
      { key: 'A-1', status: '', time: '2026-05-01 10:00:00.000000000' },
    ])
    const day = snapshot({
      query: `SELECT ref AS key, total AS amount, currency, booked_on AS time FROM orders WHERE ref = 'A-1'`,
    })
    await day.read()
    expect(await rowsOf(day.batch)).toMatchObject([{ time: '2026-05-01 00:00:00.000000000' }])
  })

  it('reads past one fetch', async () => {
    const s = snapshot({ query: 'SELECT * FROM many ORDER BY time' }, 10)
    expect(await s.read()).toBe(25)
    const rows = await rowsOf(s.batch)
    expect(rows).toHaveLength(25)
    expect(rows[24]).toMatchObject({ line: 25, key: 'k-25', amount: '25.01' })
  })
})

describe('a PostgreSQL source that cannot be read', () => {
  const failure = async (config: Partial<PostgresConfig> & Pick<PostgresConfig, 'query'>) => {
    const s = snapshot(config)
    const err = await s.read().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(PostgresSourceError)
    expect(await rowsOf(s.batch)).toEqual([])
    const message = (err as Error).message
    expect(message).not.toContain(db.password)
    return message
  }
  const where = () => `orders-db (PostgreSQL ${redactUrl(db.url)})`

  it('names the source and PostgreSQL’s reason, never the password', async () => {
    expect(redactUrl(db.url)).toBe(`postgres://postgres:***@127.0.0.1:${db.port}/postgres`)
    expect(await failure({ query: 'SELEC 1' })).toBe(`${where()}: syntax error at or near "SELEC"`)
    const wrong = db.url.replace(db.password, 'not-the-password')
    expect(await failure({ url: wrong, query: 'SELECT 1' })).toBe(
      `orders-db (PostgreSQL ${redactUrl(wrong)}): password authentication failed for user "postgres"`,
    )
  })

  it('reads in a read-only transaction', async () => {
    await db.sql('CREATE SEQUENCE IF NOT EXISTS reads')
    expect(
      await failure({
        query: `SELECT nextval('reads')::text AS key, 1 AS amount, 'EUR' AS currency, now() AS time`,
      }),
    ).toBe(`${where()}: cannot execute nextval() in a read-only transaction`)
    expect((await db.sql(`SELECT last_value FROM reads`)).rows).toEqual([{ last_value: '1' }])
    expect((await db.sql(`SELECT nextval('reads') AS n`)).rows).toEqual([{ n: '1' }])
  })

  it('refuses a query without a column, or a floating-point amount', async () => {
    expect(await failure({ query: 'SELECT ref AS key, total AS amount FROM orders' })).toBe(
      `${where()}: the query returns no columns currency, time (its columns: key, amount)`,
    )
    expect(
      await failure({
        query: 'SELECT ref AS key, rate AS amount, currency, updated_at AS time FROM orders',
      }),
    ).toBe(
      `${where()}: the amount column amount is floating-point, which cannot hold money exactly: cast it to numeric in the query (amount::numeric)`,
    )
  })

  it('fails on rows that are not records, naming them, and stores none', async () => {
    const message = await failure({
      query: `SELECT ref AS key, total AS amount, currency, updated_at AS time FROM orders
        UNION ALL SELECT 'B-1', NULL, 'EUR', now()
        UNION ALL SELECT 'B-2', 1, 'XX', now()`,
    })
    expect(message).toBe(
      `${where()}: 2 of the query's 5 rows are not records (row 4: amount is empty; row 5: currency "XX" is not an ISO 4217 code): fix them or leave them out of the query`,
    )
  })
})
