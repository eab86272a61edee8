// What an error from an insert means for the rows offered, in one place: the writer retries
// or gives up on it, bisection splits on it, quarantine falls back on it (writer.ts,
// isolate.ts). Getting it wrong costs rows: splitting on an error that is not about the rows
// refuses every good row on its own, so only errors known to be about the data split.

/** A spool file a queued chunk names is gone: its rows cannot be offered (insert.ts). */
export class MissingSpoolFile extends Error {
  override name = 'MissingSpoolFile'
  constructor(readonly file: string) {
    super(`spool file ${file} is missing`)
  }
}

/**
 * - `rows`: the engine refused some of the rows offered (a value it cannot parse, out of
 *   range, a block cut short): splitting the batch finds them, and every other row is stored.
 * - `busy`: "not now": the engine unreachable or pushing back; it passes on its own.
 * - `store`: nothing can be stored as things are (no disk space, no permission, a table or
 *   column missing, the engine closed, or an error not known to be about the rows): the rows
 *   are kept and tried again, and a person may have to act.
 */
export type InsertTrouble = 'rows' | 'busy' | 'store'

/**
 * The engine's parse, type and value errors about the data it was given. Nothing else is
 * taken as being about the rows.
 */
const ROW_ERRORS = new Set([
  'CANNOT_PARSE_TEXT', // 6
  'INCORRECT_NUMBER_OF_COLUMNS', // 7
  'SIZE_OF_FIXED_STRING_DOESNT_MATCH', // 19
  'CANNOT_PARSE_ESCAPE_SEQUENCE', // 25
  'CANNOT_PARSE_QUOTED_STRING', // 26
  'CANNOT_PARSE_INPUT_ASSERTION_FAILED', // 27
  'ATTEMPT_TO_READ_AFTER_EOF', // 32
  'CANNOT_READ_ALL_DATA', // 33: a Native block cut short
  'CANNOT_PARSE_DATE', // 38
  'CANNOT_PARSE_DATETIME', // 41
  'UNKNOWN_TYPE', // 50: a Native block's type name garbled (the statement names none)
  'TYPE_MISMATCH', // 53
  'ARGUMENT_OUT_OF_BOUND', // 69
  'CANNOT_CONVERT_TYPE', // 70
  'CANNOT_PARSE_NUMBER', // 72
  'INCORRECT_DATA', // 117
  'TOO_LARGE_ARRAY_SIZE', // 128
  'CANNOT_READ_ARRAY_FROM_TEXT', // 130
  'TOO_LARGE_STRING_SIZE', // 131
  'TOO_DEEP_RECURSION', // 306
  'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE', // 321
  'CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN', // 349
  'CANNOT_PARSE_UUID', // 376
  'DECIMAL_OVERFLOW', // 407: a time past DateTime64's range
  'CANNOT_PARSE_IPV4', // 441
  'CANNOT_PARSE_IPV6', // 442
  'CANNOT_PARSE_BOOL', // 467
  'VIOLATED_CONSTRAINT', // 469
  'UNKNOWN_ELEMENT_OF_ENUM', // 691
])

/**
 * ClickHouse's "not now": a server pushing back (inserts outrunning merges, too many
 * queries, memory), a replica briefly without its Keeper session, a server shutting down.
 */
const BUSY_ERRORS = new Set([
  'TOO_MANY_PARTS', // 252
  'TOO_MANY_SIMULTANEOUS_QUERIES', // 202
  'MEMORY_LIMIT_EXCEEDED', // 241
  'TIMEOUT_EXCEEDED', // 159
  'SOCKET_TIMEOUT', // 209
  'NETWORK_ERROR', // 210
  'TABLE_IS_READ_ONLY', // 242
  'ALL_CONNECTION_TRIES_FAILED', // 279
  'UNKNOWN_STATUS_OF_INSERT', // 319
  'QUERY_WAS_CANCELLED', // 394
  'ABORTED', // 236
  'KEEPER_EXCEPTION', // 999
])

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
])

/** What an insert's failure says about the rows offered (see InsertTrouble). */
export function classifyInsertError(err: unknown): InsertTrouble {
  if (!(err instanceof Error)) return 'store'
  // Its rows are gone; splitting finds the chunk, which is kept apart with the reason.
  if (err instanceof MissingSpoolFile) return 'rows'
  const name = engineErrorName(err)
  if (name !== undefined && ROW_ERRORS.has(name)) return 'rows'
  // A Native block's type name that does not parse; a statement's own syntax is not the rows'.
  if (name === 'SYNTAX_ERROR' && err.message.includes('Syntax error (data type)')) return 'rows'
  if (name !== undefined && BUSY_ERRORS.has(name)) return 'busy'
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return 'busy'
  if (err.name === 'AbortError' || err.name === 'TimeoutError') return 'busy'
  if (name === undefined && /timeout|socket hang up|ECONNRESET/i.test(err.message)) return 'busy'
  return 'store'
}

/** The error's name, e.g. TOO_MANY_PARTS: the client's `type`, or the engine's "(NAME)". */
export function engineErrorName(err: Error): string | undefined {
  const type = (err as { type?: unknown }).type
  if (typeof type === 'string') return type
  return /DB::Exception: .*\(([A-Z][A-Z0-9_]+)\)/s.exec(err.message)?.[1]
}

/** The engine's message, without the path of the file it read (gone by now). */
export const engineReason = (err: Error): string =>
  err.message
    .replace(/\s*:?\s*\(in file\/uri [^)]*\)/g, '')
    .replace(/:? While executing .*$/s, '')
    .replace(/\s+/g, ' ')
    .trim()
