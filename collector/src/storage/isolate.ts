// When the engine refuses a batch as bad data, the bad rows are found by bisection: the
// batch is split in halves until every part is either stored or a single chunk refused on
// its own; a refused chunk of JSON lines is split the same way by lines. One bad row among
// n costs about 2·log2(n) inserts, and every other row of the batch is stored.
import { readFile } from 'node:fs/promises'
import type { InsertFormat, RowSource } from './insert.js'
import type { SpooledRows } from './spool.js'

/** Rows the write queue held: in memory, or in a spool file. */
export type Chunk = { data: Buffer; rows: number } | SpooledRows

/** Part of a batch: a whole chunk, or some of its lines. */
export interface Piece {
  /** The queued chunk the rows come from. */
  chunk: Chunk
  /** The chunk itself, or the bytes of some of its lines. */
  source: RowSource
  rows: number
}

export interface Isolation {
  format: InsertFormat
  /** Inserts the pieces in one statement: resolves with nothing once stored, or with the
   * engine's refusal. Anything else (giving up on an unreachable engine) rejects. */
  insert(pieces: readonly Piece[]): Promise<Error | undefined>
  /** Keeps rows the engine refused on their own apart from the others. */
  refuse(piece: Piece, error: Error): Promise<void>
  /** Recovered files are not split: see recover.ts. */
  splittable(chunk: Chunk): boolean
}

export const wholeChunk = (chunk: Chunk): Piece => ({
  chunk,
  source: 'file' in chunk ? chunk : chunk.data,
  rows: chunk.rows,
})

/** Stores every piece the engine takes, and refuses the rest (one at a time). */
export async function storeIsolating(pieces: readonly Piece[], how: Isolation): Promise<void> {
  if (pieces.length === 0) return
  const error = await how.insert(pieces)
  if (error) await isolate(pieces, error, how)
}

/** `pieces` were refused together with `error`: stores what the engine takes of them. */
async function isolate(pieces: readonly Piece[], error: Error, how: Isolation): Promise<void> {
  if (!aboutTheRows(error)) {
    // The table, not the rows, is the trouble: splitting would refuse every row on its own.
    for (const piece of pieces) await how.refuse(piece, error)
    return
  }
  let parts = pieces
  if (parts.length === 1) {
    const lines = await splitLines(parts[0]!, how)
    if (!lines) return how.refuse(parts[0]!, error)
    parts = lines
  }
  const mid = parts.length >> 1
  for (const half of [parts.slice(0, mid), parts.slice(mid)]) {
    const refused = await how.insert(half)
    if (refused) await isolate(half, refused, how)
  }
}

/**
 * A piece of JSON lines in two halves by lines (a spool file is read for it), or nothing
 * when it cannot be split: Native (see writer.ts), one line, or a recovered file.
 */
async function splitLines(piece: Piece, how: Isolation): Promise<Piece[] | undefined> {
  if (how.format !== 'JSONEachRow' || piece.rows < 2 || !how.splittable(piece.chunk)) return
  const { source } = piece
  let data: Buffer
  try {
    data = Buffer.isBuffer(source) ? source : await readFile(source.file)
  } catch {
    return undefined // refused whole, with the engine's reason (a missing file, say)
  }
  const ends: number[] = []
  for (let at = data.indexOf(10); at >= 0; at = data.indexOf(10, at + 1)) ends.push(at + 1)
  if (ends.at(-1) !== data.length) ends.push(data.length) // a last line without its newline
  if (ends.length < 2) return undefined
  const cut = ends[(ends.length >> 1) - 1]!
  const first = Math.min(piece.rows - 1, ends.length >> 1)
  return [
    { chunk: piece.chunk, source: data.subarray(0, cut), rows: first },
    { chunk: piece.chunk, source: data.subarray(cut), rows: piece.rows - first },
  ]
}

/**
 * Errors that say nothing about the rows: the table or database is gone, columns do not
 * match, the user may not insert. Every row would be refused alike.
 */
const NOT_ABOUT_THE_ROWS = new Set([
  'UNKNOWN_TABLE', // 60
  'UNKNOWN_DATABASE', // 81
  'NO_SUCH_COLUMN_IN_TABLE', // 16
  'THERE_IS_NO_COLUMN', // 8
  'ACCESS_DENIED', // 497
  'READONLY', // 164
  'AUTHENTICATION_FAILED', // 516
  'UNKNOWN_USER', // 192
])

function aboutTheRows(err: Error): boolean {
  const name = clickHouseErrorName(err)
  return name === undefined || !NOT_ABOUT_THE_ROWS.has(name)
}

/** The error's name, e.g. TOO_MANY_PARTS: the client's `type`, or the engine's "(NAME)". */
export function clickHouseErrorName(err: Error): string | undefined {
  const type = (err as { type?: unknown }).type
  if (typeof type === 'string') return type
  return /DB::Exception: .*\(([A-Z][A-Z0-9_]+)\)/s.exec(err.message)?.[1]
}
