// A record of a file or PostgreSQL source as the engine holds it (reconcile_records), and the
// checks every value passes on the way in: an amount is exact decimal text, a currency an
// ISO 4217 code, a time an instant with its zone, a key never empty. A row that fails is
// named with every reason at once, so a person fixes it in one pass.
import type { Storage } from '@reckon/collector/storage'
import currencyCodes from 'currency-codes'
import type { ColumnsConfig } from '../config.js'
import { nanosText } from '../nanos.js'
import { EARLIEST_NS, LATEST_NS, rfc3339Nanos } from '@reckon/collector/time'

/** Which column holds each part of a record; a composite key has several. */
export interface RecordColumns {
  key: string[]
  amount: string
  currency: string
  status?: string
  time: string
}

/** A source's columns, or the default names a query returns (status optional). */
export function recordColumns(columns: ColumnsConfig | undefined): RecordColumns {
  if (!columns) return { key: ['key'], amount: 'amount', currency: 'currency', time: 'time' }
  return {
    key: typeof columns.key === 'string' ? [columns.key] : columns.key,
    amount: columns.amount,
    currency: columns.currency,
    ...(columns.status !== undefined ? { status: columns.status } : {}),
    time: columns.time,
  }
}

/** The columns a record is read from, each once. */
export function requiredColumns(columns: RecordColumns): string[] {
  const wanted = [...columns.key, columns.amount, columns.currency, columns.time]
  if (columns.status !== undefined) wanted.push(columns.status)
  return [...new Set(wanted)]
}

/** The required columns `have` lacks, in the order the source names them. */
export function missingColumns(columns: RecordColumns, have: readonly string[]): string[] {
  const present = new Set(have)
  return requiredColumns(columns).filter((c) => !present.has(c))
}

/** The row as reconcile_records takes it, less its source, batch and line. */
export interface RecordRow {
  key: string
  key_parts: string[]
  amount: string
  amount_text: string
  currency: string
  status: string
  time: string
}

/**
 * One key of several parts: joined by `|`, with `\` and `|` inside a part escaped, so two
 * different lists never give the same key. A single part is itself, as events carry it.
 */
export function compositeKey(parts: readonly string[]): string {
  if (parts.length === 1) return parts[0]!
  return parts.map((p) => p.replace(/[\\|]/g, (c) => `\\${c}`)).join('|')
}

// Decimal(38, 9) holds 29 digits before the point; 27 leaves room for sums (as reckon.yaml's
// tolerances do).
const DECIMAL = /^-?\d{1,27}(?:\.\d{1,9})?$/

/** Why `text` is not an amount, or undefined when it is one. */
export function amountProblem(text: string): string | undefined {
  if (text === '') return 'amount is empty'
  if (DECIMAL.test(text)) return undefined
  const shown = JSON.stringify(text)
  if (/^[-+]?[\d.]+[eE][-+]?\d+$/.test(text))
    return `amount ${shown} is in exponent notation: write its digits`
  if (/^-?[\d.,' ]+$/.test(text) && /[,' ]/.test(text))
    return `amount ${shown} has a thousands separator or a decimal comma: write digits and a "." only`
  if (/^-?\d+\.\d{10,}$/.test(text)) return `amount ${shown} has more than 9 decimal places`
  if (/^-?\d{28,}(?:\.\d*)?$/.test(text))
    return `amount ${shown} has more than 27 digits before the point`
  return `amount ${shown} is not a decimal number (digits, an optional leading "-", a "." and at most 9 places)`
}

/** Why `text` is not an ISO 4217 currency code, or undefined when it is one. */
export function currencyProblem(text: string): string | undefined {
  if (text === '') return 'currency is empty'
  if (/^[A-Z]{3}$/.test(text) && currencyCodes.code(text)) return undefined
  const upper = text.toUpperCase()
  if (upper !== text && /^[A-Z]{3}$/.test(upper) && currencyCodes.code(upper))
    return `currency ${JSON.stringify(text)} is not an ISO 4217 code (codes are upper case: ${upper})`
  return `currency ${JSON.stringify(text)} is not an ISO 4217 code`
}

const RECORD_TIME =
  /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))? ?([Zz]|[+-]\d{2}(?::?\d{2})?)?$/

/**
 * A record's time as Unix nanoseconds: RFC 3339 with its zone (`2026-05-01T10:00:00Z`,
 * `…+02:00`; a space for the T, as PostgreSQL writes it, and `+02` alone are taken), or
 * Unix milliseconds when the text is all digits. A time without a zone is refused rather
 * than guessed: a settlement file's local time is not UTC. What the forms mean is read by
 * the collector's RFC 3339 reader, once they are written as RFC 3339.
 */
export function parseRecordTime(text: string): bigint | string {
  const shown = JSON.stringify(text)
  if (text === '') return 'time is empty'
  if (/^\d{1,15}$/.test(text)) return BigInt(text) * 1_000_000n
  const m = RECORD_TIME.exec(text)
  if (!m) {
    if (/^\d{4}-\d{2}-\d{2}$/.test(text))
      return `time ${shown} has no time of day: write 2026-05-01T00:00:00Z`
    return `time ${shown} is not RFC 3339 (2026-05-01T10:00:00Z, 2026-05-01T12:00:00+02:00) or Unix milliseconds`
  }
  const [, date, time, fraction, zone] = m
  if (zone === undefined) return `time ${shown} has no zone: add Z for UTC or its offset (+02:00)`
  const offset = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)
  if (offset && (Number(offset[2]) > 23 || Number(offset[3] ?? '0') > 59))
    return `time ${shown} has an offset out of range`
  const rfc3339Zone = offset ? `${offset[1]}${offset[2]}:${offset[3] ?? '00'}` : 'Z'
  const ns = rfc3339Nanos(`${date}T${time}${fraction ? `.${fraction}` : ''}${rfc3339Zone}`)
  if (ns === undefined) return `time ${shown} is not a date and time of the calendar`
  if (ns < EARLIEST_NS || ns > LATEST_NS)
    return `time ${shown} lies outside 1970-01-01T00:00:00Z to 2262-04-11T23:47:16Z`
  return ns
}

/** Reads a value of the row by column name (text, trimmed; undefined when absent). */
export type ValueOf = (column: string) => string | undefined

/** The row as a record, or every reason it is not one, joined. */
export function toRecord(columns: RecordColumns, value: ValueOf): RecordRow | { problem: string } {
  const problems: string[] = []
  const parts = columns.key.map((c) => value(c) ?? '')
  columns.key.forEach((c, i) => {
    if (parts[i] === '')
      problems.push(columns.key.length === 1 ? `key (${c}) is empty` : `key part ${c} is empty`)
  })
  const amount = value(columns.amount) ?? ''
  const currency = value(columns.currency) ?? ''
  const time = parseRecordTime(value(columns.time) ?? '')
  for (const p of [amountProblem(amount), currencyProblem(currency)]) if (p) problems.push(p)
  if (typeof time === 'string') problems.push(time)
  if (problems.length > 0 || typeof time === 'string') return { problem: problems.join('; ') }
  return {
    key: compositeKey(parts),
    key_parts: parts,
    amount,
    amount_text: amount,
    currency,
    status: columns.status !== undefined ? (value(columns.status) ?? '') : '',
    time: nanosText(time),
  }
}

export const BATCH_ROWS = 10_000

/**
 * Rows of one batch of a source, inserted a bounded number at a time: a 10M-row file or
 * table costs the memory of one insert, not of its rows.
 */
export class RecordsWriter {
  private pending: Record<string, unknown>[] = []
  /** Rows written so far (and pending). */
  rows = 0

  constructor(
    private readonly storage: Storage,
    private readonly source: string,
    readonly batch: string,
    private readonly batchRows = BATCH_ROWS,
    /** Called after each insert, e.g. to renew a lease or report progress. */
    private readonly onFlush?: () => Promise<void>,
  ) {}

  /** Adds a row; resolves once any insert it filled has been written. */
  async add(line: number, row: RecordRow): Promise<void> {
    this.pending.push({ source: this.source, batch: this.batch, line, ...row })
    this.rows++
    if (this.pending.length >= this.batchRows) await this.flush()
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return
    const values = this.pending
    this.pending = []
    await this.storage.client.insert({
      table: `${this.storage.database}.reconcile_records`,
      format: 'JSONEachRow',
      values,
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    })
    await this.onFlush?.()
  }
}

/** Removes a batch's rows (an import cut short, a refused file). */
export async function deleteBatch(storage: Storage, source: string, batch: string): Promise<void> {
  await storage.client.command({
    query: `DELETE FROM ${storage.database}.reconcile_records
      WHERE source = {source:String} AND batch = {batch:String}`,
    query_params: { source, batch },
  })
}
