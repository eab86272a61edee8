// The rows of bench:reconcile, made the same way in both engines: order i is paid at a time
// spread over the day, in EUR (JPY for every tenth, in whole yen), and its payment follows a
// second later, except where i mod 1000 injects a break:
//   1 no payment (dropped)        2 captured one cent (one yen) more (amount mismatch)
//   3 refunded (status mismatch)  4 captured twice (duplicate)   5 an extra payment of no order (orphan)
import type { Category } from '../src/config.js'

const HOUR_NS = 3_600_000_000_000n

/** How many findings of each category N orders carry. */
export function BREAKS(n: number): Record<Category, number> {
  const count = (k: number) => (n > k ? Math.floor((n - k - 1) / 1000) + 1 : 0)
  return {
    dropped: count(1),
    amount_mismatch: count(2),
    status_mismatch: count(3),
    duplicate: count(4),
    orphan: count(5),
  }
}

/** Order i's time, Unix nanoseconds: from 23 h to 1 h before `now`. */
const timeSql = (n: number, now: bigint) =>
  `toInt64(${now - 23n * HOUR_NS}) + toInt64(number * ${(22n * HOUR_NS) / BigInt(n)})`

/** The INSERTs that make N orders and their payments as business events. */
export function chGenerator(db: string, n: number, now: bigint): string[] {
  const columns = `timestamp, observed_timestamp, event_name, system, entity, entity_key, status,
    amount, amount_text, currency, service_name, event_id`
  const base = `SELECT number, number % 1000 AS r, if(number % 10 = 0, 'JPY', 'EUR') AS cur,
      if(cur = 'JPY', toDecimal128(number % 100000 + 1, 9),
        toDecimal128(number % 100000 + 1, 9) / 100) AS amt,
      ${timeSql(n, now)} AS t
    FROM numbers(${n})`
  return [
    `INSERT INTO ${db}.business_events (${columns})
     SELECT fromUnixTimestamp64Nano(t, 'UTC') AS ts, ts, 'order.paid', 'order', 'order',
       concat('O-', toString(number)), 'PAID', amt, toString(amt), cur, 'order',
       concat('o', toString(number))
     FROM (${base})`,
    `INSERT INTO ${db}.business_events (${columns})
     SELECT fromUnixTimestamp64Nano(t + 1000000000, 'UTC') AS ts, ts, 'payment.captured',
       'payment', 'order', if(v = 'x', concat('X-', toString(number)), concat('O-', toString(number))),
       if(r = 3, 'REFUNDED', 'CAPTURED'),
       if(r = 2, amt + if(cur = 'JPY', toDecimal128(1, 9), toDecimal128('0.01', 9)), amt) AS a,
       toString(a), cur, 'payment', concat('p', toString(number), v)
     FROM (${base})
     ARRAY JOIN multiIf(r = 1, [], r = 4, ['a', 'b'], r = 5, ['a', 'x'], ['a']) AS v`,
  ]
}

/** The same rows in PostgreSQL tables `orders` and `payments`. */
export function pgGenerator(n: number, now: bigint): string {
  const t0 = Number((now - 23n * HOUR_NS) / 1000n) / 1e6
  const step = Number((22n * HOUR_NS) / BigInt(n)) / 1e9
  const base = `SELECT i, i % 1000 AS r, CASE WHEN i % 10 = 0 THEN 'JPY' ELSE 'EUR' END AS cur,
      CASE WHEN i % 10 = 0 THEN (i % 100000 + 1)::numeric ELSE (i % 100000 + 1)::numeric / 100 END AS amt,
      to_timestamp(${t0}) + i * interval '${step} seconds' AS t
    FROM generate_series(0, ${n - 1}) AS i`
  return `
    DROP TABLE IF EXISTS orders, payments;
    CREATE UNLOGGED TABLE orders AS
      SELECT 'O-' || i AS key, amt::numeric(38, 9) AS amount, cur AS currency,
        'PAID'::text AS status, t AS time
      FROM (${base}) b;
    CREATE UNLOGGED TABLE payments AS
      SELECT CASE WHEN v = 'x' THEN 'X-' || i ELSE 'O-' || i END AS key,
        (CASE WHEN r = 2 THEN amt + CASE WHEN cur = 'JPY' THEN 1 ELSE 0.01 END ELSE amt END)::numeric(38, 9) AS amount,
        cur AS currency, CASE WHEN r = 3 THEN 'REFUNDED' ELSE 'CAPTURED' END AS status,
        t + interval '1 second' AS time
      FROM (${base}) b
      CROSS JOIN LATERAL unnest(CASE WHEN r = 1 THEN ARRAY[]::text[] WHEN r = 4 THEN ARRAY['a', 'b']
        WHEN r = 5 THEN ARRAY['a', 'x'] ELSE ARRAY['a'] END) AS v;
    ANALYZE orders;
    ANALYZE payments;`
}

/** Reckon's comparison of the window [from, to) (grace 15 m) as one PostgreSQL query. */
export function pgComparison(from: bigint, to: bigint): string {
  const grace = 15n * 60_000_000_000n
  const ts = (ns: bigint) => `to_timestamp(${Number(ns / 1000n) / 1e6})`
  const side = (table: string) => `SELECT key, count(*) AS n,
      count(*) FILTER (WHERE time >= ${ts(from)} AND time < ${ts(to)}) AS n_in,
      sum(amount) AS amt, array_agg(DISTINCT currency) AS curs, array_agg(status) AS sts
    FROM ${table} WHERE time >= ${ts(from - grace)} AND time < ${ts(to + grace)} GROUP BY key`
  return `WITH l AS (${side('orders')}), r AS (${side('payments')}),
    j AS (
      SELECT coalesce(l.key, r.key) AS key, l.n AS ln, r.n AS rn, l.amt AS lamt, r.amt AS ramt,
        l.curs AS lc, r.curs AS rc, l.sts AS ls, r.sts AS rs
      FROM l FULL JOIN r ON l.key = r.key
      WHERE coalesce(l.n_in, 0) > 0 OR coalesce(r.n_in, 0) > 0
    ),
    c AS (
      SELECT key, CASE WHEN ln > 1 OR rn > 1 THEN ARRAY['duplicate'] ELSE array_remove(ARRAY[
        CASE WHEN ln IS NOT NULL AND rn IS NULL THEN 'dropped' END,
        CASE WHEN rn IS NOT NULL AND ln IS NULL THEN 'orphan' END,
        CASE WHEN ln IS NOT NULL AND rn IS NOT NULL AND EXISTS (
          SELECT 1 FROM unnest(ls) AS a(s), unnest(rs) AS b(s)
          WHERE a.s = 'PAID' AND b.s <> 'CAPTURED') THEN 'status_mismatch' END,
        CASE WHEN ln IS NOT NULL AND rn IS NOT NULL AND (lc <> rc OR lamt <> ramt)
          THEN 'amount_mismatch' END], NULL) END AS cats
      FROM j
    )
    SELECT category, count(*) AS n FROM c, unnest(cats) AS category GROUP BY category`
}
