import { randomBytes } from 'node:crypto'
import { createReadStream, existsSync } from 'node:fs'
import { open, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { Readable } from 'node:stream'
import { finished } from 'node:stream/promises'
import type { ClickHouseClient } from '@clickhouse/client'
import type { Storage } from './client.js'
import { MissingSpoolFile } from './engine-errors.js'
import { FILE_MODE, privateDir, spoolName, writingName, type SpooledRows } from './spool.js'

export type InsertFormat = 'JSONEachRow' | 'Native'

/** Encoded rows in memory, or in a spool file (see spool.ts). Both concatenate. */
export type RowSource = Buffer | SpooledRows

/** Writes encoded rows into a fully qualified table. */
export type RowInserter = (
  table: string,
  format: InsertFormat,
  chunks: readonly RowSource[],
) => Promise<void>

async function* bytesOf(chunks: readonly RowSource[]): AsyncGenerator<Buffer> {
  for (const chunk of chunks) {
    if (Buffer.isBuffer(chunk)) yield chunk
    else for await (const part of createReadStream(chunk.file)) yield part as Buffer
  }
}

/** Server: the rows are the HTTP request body, streamed unchanged. */
export function streamingInserter(client: ClickHouseClient): RowInserter {
  return async (table, format, chunks) => {
    const result = await client.exec({
      query: `INSERT INTO ${table} FORMAT ${format}`,
      values: Readable.from(bytesOf(chunks), { objectMode: false }),
    })
    result.stream.resume()
    await finished(result.stream)
  }
}

/** Where the embedded engine's inserts are spooled, under its data directory. */
export const spoolDir = (dataDir: string): string => join(dataDir, 'inserts')

/**
 * Embedded: chDB takes inline data only as SQL text (no binary formats) and parses it on
 * one thread, but reads files with its parallel parser. So a batch is a set of files in
 * the spool directory: those the decode threads wrote, plus one for rows held in memory,
 * removed once the insert settles. Spooled files are the write queue's to remove.
 */
export function fileInserter(client: ClickHouseClient, dir: string): RowInserter {
  privateDir(dir)
  return async (table, format, chunks) => {
    const buffers = chunks.filter((c) => Buffer.isBuffer(c))
    const names: string[] = []
    for (const chunk of chunks) {
      if (Buffer.isBuffer(chunk)) continue
      if (dirname(chunk.file) !== dir) throw new Error(`${chunk.file} is not in ${dir}`)
      // A glob that matches nothing inserts nothing, without an error. (Sync: a stat of a
      // file just written costs less than a trip through the thread pool.)
      if (!existsSync(chunk.file)) throw new MissingSpoolFile(chunk.file)
      names.push(basename(chunk.file))
    }
    // Not a spool name: what it holds is in spool files still (pieces of them, or their
    // quarantined rows), so recovery deletes it rather than storing its rows twice.
    const own =
      buffers.length > 0
        ? writingName(spoolName(randomBytes(8).toString('hex'), table, format))
        : undefined
    try {
      if (own) {
        // One writev: a busy event loop must not stretch the write over many turns.
        const file = await open(join(dir, own), 'wx', FILE_MODE)
        try {
          await file.writev(buffers)
        } finally {
          await file.close()
        }
        names.push(own)
      }
      if (names.length === 0) return
      // Names are ours ([0-9a-z_.-]): safe inside the engine's {a,b,…} file glob.
      const files = join(dir, names.length === 1 ? names[0]! : `{${names.join(',')}}`)
      await client.command({
        query: `INSERT INTO ${table} FROM INFILE ${sqlString(files)} FORMAT ${format}`,
      })
    } finally {
      if (own) await rm(join(dir, own), { force: true })
    }
  }
}

/** A ClickHouse string literal (backslash and quote escaped). */
export function sqlString(s: string): string {
  return `'${s.replace(/[\\']/g, (c) => `\\${c}`)}'`
}

/**
 * Writes encoded rows into `database.table` by the fastest path for the target: files the
 * engine reads with its parallel parser when embedded, a streamed request to a server.
 */
export function rowInserter(storage: Pick<Storage, 'client' | 'target'>): RowInserter {
  const { client, target } = storage
  return target.kind === 'embedded'
    ? fileInserter(client, spoolDir(target.dataDir))
    : streamingInserter(client)
}
