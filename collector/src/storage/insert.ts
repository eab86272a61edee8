import { randomBytes } from 'node:crypto'
import { mkdirSync, rmSync } from 'node:fs'
import { open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { finished } from 'node:stream/promises'
import type { ClickHouseClient } from '@clickhouse/client'

export type InsertFormat = 'JSONEachRow' | 'Native'

/** Writes encoded rows into a fully qualified table. */
export type RowInserter = (
  table: string,
  format: InsertFormat,
  chunks: readonly Buffer[],
) => Promise<void>

/** Server: the rows are the HTTP request body, streamed unchanged. */
export function streamingInserter(client: ClickHouseClient): RowInserter {
  return async (table, format, chunks) => {
    const result = await client.exec({
      query: `INSERT INTO ${table} FORMAT ${format}`,
      values: Readable.from(chunks, { objectMode: false }),
    })
    result.stream.resume()
    await finished(result.stream)
  }
}

/**
 * Embedded: chDB takes inline data only as SQL text (no binary formats) and parses it on
 * one thread, but reads a file with its parallel parser. So each batch goes through a file
 * under the data directory that is removed once the insert settles.
 */
export function fileInserter(client: ClickHouseClient, dataDir: string): RowInserter {
  const dir = join(dataDir, 'inserts')
  // Files left by a crash were never acknowledged as stored; senders retried them.
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  return async (table, format, chunks) => {
    const path = join(dir, `${randomBytes(8).toString('hex')}.${format}`)
    try {
      // One writev: a busy event loop must not stretch the write over many turns.
      const file = await open(path, 'wx')
      try {
        await file.writev(chunks)
      } finally {
        await file.close()
      }
      await client.command({
        query: `INSERT INTO ${table} FROM INFILE ${sqlString(path)} FORMAT ${format}`,
      })
    } finally {
      await rm(path, { force: true })
    }
  }
}

/** A ClickHouse string literal (backslash and quote escaped). */
function sqlString(s: string): string {
  return `'${s.replace(/[\\']/g, (c) => `\\${c}`)}'`
}
