// A PostgreSQL source, read at each run into a batch of the run's own, so the comparison
// runs in the engine like any other. The query runs in a read-only transaction (one
// consistent snapshot of the database) through a cursor, fetched a bounded number of rows at
// a time: a 10M-row table costs the memory of one fetch. Numbers and times come as
// PostgreSQL's text, so money is never a float and a time keeps its zone; rows pass the same
// checks as a file's, and a row that fails them fails the run, naming it, rather than being
// left out of the books unseen.
import type { Storage } from '@reckon/collector/storage'
import pg from 'pg'
import type { SourceConfig } from '../config.js'
import type { Snapshotter } from '../run.js'
import type { RecordsBatch } from './source-sql.js'
import {
  BATCH_ROWS,
  deleteBatch,
  missingColumns,
  recordColumns,
  RecordsWriter,
  toRecord,
  type RecordColumns,
} from './records.js'

export type PostgresConfig = Extract<SourceConfig, { postgres: unknown }>['postgres']

/** The source could not be read; the message names it and PostgreSQL's reason. */
export class PostgresSourceError extends Error {
  override name = 'PostgresSourceError'
}

const OID = {
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
  float4: 700,
  float8: 701,
} as const

const asText = (text: string): string => text

type Parse = (text: string) => unknown

/** PostgreSQL's text for what must stay exact; timestamps without a zone are UTC. */
function typeParser(oid: number, format: 'text' | 'binary' = 'text'): Parse {
  switch (oid) {
    case OID.numeric:
    case OID.float4:
    case OID.float8:
    case OID.timestamptz:
      return asText
    case OID.timestamp:
      return (text) => `${text}Z`
    case OID.date:
      return (text) => `${text}T00:00:00Z`
    default:
      return pg.types.getTypeParser(oid, format) as Parse
  }
}
const TYPES: pg.CustomTypesConfig = { getTypeParser: typeParser }

/** The URL as messages show it: no password. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return 'postgres://(a URL that does not parse)'
  }
}

export interface SnapshotOptions {
  storage: Storage
  /** The source's name in reckon.yaml, and its entry. */
  source: string
  config: PostgresConfig
  batch: string
  fetchRows?: number
}

/** The problems quoted in a failed run's message; every one is counted. */
const QUOTED_PROBLEMS = 5

/** Reads the source's query into `batch`; resolves with the number of rows. */
export async function snapshotPostgres(opts: SnapshotOptions): Promise<number> {
  const { storage, source, config, batch } = opts
  const fetchRows = opts.fetchRows ?? BATCH_ROWS
  const where = `${source} (PostgreSQL ${redactUrl(config.url)})`
  const password = safePassword(config.url)
  const fail = (message: string): PostgresSourceError =>
    new PostgresSourceError(`${where}: ${password ? message.replaceAll(password, '***') : message}`)
  const columns = recordColumns(config.columns)
  const client = new pg.Client({
    connectionString: config.url,
    types: TYPES,
    connectionTimeoutMillis: 10_000,
    application_name: 'reckon-reconciler',
  })
  // A broken connection is reported by the query it breaks; this keeps it from crashing the
  // process between queries.
  client.on('error', () => {})
  const writer = new RecordsWriter(storage, source, batch, BATCH_ROWS)
  const problems: string[] = []
  let bad = 0
  let line = 0
  try {
    await client.connect()
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
    await client.query("SET LOCAL TIME ZONE 'UTC'")
    const query = config.query.trim().replace(/;\s*$/, '')
    await client.query(`DECLARE reckon_records NO SCROLL CURSOR FOR ${query}`)
    let index: Map<string, number> | undefined
    for (;;) {
      const res = await client.query<unknown[]>({
        text: `FETCH ${fetchRows} FROM reckon_records`,
        rowMode: 'array',
      })
      if (!index) index = checkFields(res.fields, columns, fail)
      const at = index
      for (const values of res.rows) {
        line++
        const row = toRecord(columns, (c) => text(values[at.get(c)!]))
        if ('problem' in row) {
          bad++
          if (problems.length < QUOTED_PROBLEMS) problems.push(`row ${line}: ${row.problem}`)
        } else if (bad === 0) await writer.add(line, row)
      }
      if (res.rows.length < fetchRows) break
    }
    await client.query('COMMIT')
    if (bad > 0) {
      const more = bad > problems.length ? `; and ${bad - problems.length} more` : ''
      throw fail(
        `${bad} of the query's ${line} rows are not records (${problems.join('; ')}${more}): fix them or leave them out of the query`,
      )
    }
    await writer.flush()
    return line
  } catch (err) {
    // A run that failed compares nothing: what it read of the source is of no use.
    await deleteBatch(storage, source, batch).catch(() => {})
    if (err instanceof PostgresSourceError) throw err
    throw fail(err instanceof Error ? err.message : String(err))
  } finally {
    await client.end().catch(() => {})
  }
}

function safePassword(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password)
  } catch {
    return ''
  }
}

/** A value as record text: NULL is empty; numbers and flags as PostgreSQL wrote them. */
function text(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'string') return value.trim()
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value)
  return JSON.stringify(value)
}

/** Column name → index; refuses a query without a required column or with a float amount. */
function checkFields(
  fields: pg.FieldDef[],
  columns: RecordColumns,
  fail: (message: string) => Error,
): Map<string, number> {
  const names = fields.map((f) => f.name)
  const missing = missingColumns(columns, names)
  if (missing.length > 0) {
    const which = missing.length === 1 ? `column ${missing[0]}` : `columns ${missing.join(', ')}`
    throw fail(`the query returns no ${which} (its columns: ${names.join(', ') || 'none'})`)
  }
  const index = new Map<string, number>()
  fields.forEach((f, i) => {
    if (!index.has(f.name)) index.set(f.name, i)
  })
  const amount = fields[index.get(columns.amount)!]!
  if (amount.dataTypeID === OID.float4 || amount.dataTypeID === OID.float8)
    throw fail(
      `the amount column ${amount.name} is floating-point, which cannot hold money exactly: cast it to numeric in the query (${amount.name}::numeric)`,
    )
  return index
}

/** The reconciler's default reader of PostgreSQL sources: a batch per run and side. */
export function postgresSnapshotter(storage: Storage): Snapshotter {
  return async (rule, side, runId): Promise<RecordsBatch> => {
    const name = side === 'left' ? rule.left : rule.right
    const source = side === 'left' ? rule.leftSource : rule.rightSource
    if (!('postgres' in source)) throw new Error(`${name} is not a PostgreSQL source`)
    const batch = `run:${runId}:${side}`
    await snapshotPostgres({ storage, source: name, config: source.postgres, batch })
    return { kind: 'snapshot', batch }
  }
}
