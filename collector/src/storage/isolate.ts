// When the engine refuses a batch as bad data, the bad rows are found by bisection: the
// batch is split in halves until every part is either stored or a single chunk refused on
// its own; a refused chunk of JSON lines is split the same way by lines. One bad row among
// n costs about 2·log2(n) inserts, and every other row of the batch is stored. Only errors
// about the rows get here (engine-errors.ts): the insert retries the others itself.
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
  /** Where its bytes are in the chunk's, so what is stored of a chunk is known (writer.ts). */
  start: number
  end: number
}

export interface Isolation {
  format: InsertFormat
  /** Inserts the pieces in one statement: resolves with nothing once stored, or with the
   * engine's refusal of some of the rows. Anything else (giving up on an engine that cannot
   * store, while shutting down) rejects. */
  insert(pieces: readonly Piece[]): Promise<Error | undefined>
  /** Keeps rows the engine refused on their own apart from the others. */
  refuse(piece: Piece, error: Error): Promise<void>
}

export const wholeChunk = (chunk: Chunk): Piece =>
  'file' in chunk
    ? { chunk, source: chunk, rows: chunk.rows, start: 0, end: chunk.bytes }
    : { chunk, source: chunk.data, rows: chunk.rows, start: 0, end: chunk.data.length }

/** Stores every piece the engine takes, and refuses the rest (one at a time). */
export async function storeIsolating(pieces: readonly Piece[], how: Isolation): Promise<void> {
  if (pieces.length === 0) return
  const error = await how.insert(pieces)
  if (error) await isolate(pieces, error, how)
}

/** `pieces` were refused together with `error`: stores what the engine takes of them. */
async function isolate(pieces: readonly Piece[], error: Error, how: Isolation): Promise<void> {
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
 * when it cannot be split: Native (see writer.ts), or one line.
 */
async function splitLines(piece: Piece, how: Isolation): Promise<Piece[] | undefined> {
  if (how.format !== 'JSONEachRow' || piece.rows < 2) return
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
  const { chunk, start } = piece
  const end = start + data.length
  return [
    { chunk, source: data.subarray(0, cut), rows: first, start, end: start + cut },
    { chunk, source: data.subarray(cut), rows: piece.rows - first, start: start + cut, end },
  ]
}

/** `data` without the byte ranges `taken` (pieces of it, stored or refused), in order. */
export function without(data: Buffer, taken: readonly (readonly [number, number])[]): Buffer {
  const parts: Buffer[] = []
  let at = 0
  for (const [start, end] of [...taken].sort((a, b) => a[0] - b[0])) {
    if (start > at) parts.push(data.subarray(at, start))
    at = Math.max(at, end)
  }
  if (at < data.length) parts.push(data.subarray(at))
  return Buffer.concat(parts)
}
