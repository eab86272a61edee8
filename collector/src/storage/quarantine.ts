// Rows the engine refused, isolated from the good rows of their batch (isolate.ts), are kept
// apart for a person: in the `quarantined_rows` table, or when the engine refuses even that,
// in a file under the data directory (embedded) or in the log (server). Never dropped.
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Storage } from './client.js'
import type { Logger } from '../log.js'
import type { InsertFormat } from './insert.js'
import { encodeBlock, PlainColumn, TIME } from './native.js'
import { FILE_MODE, privateDir } from './spool.js'

export const QUARANTINE_TABLE = 'quarantined_rows'

/** Rows the engine refused on their own, with its reason and their bytes as offered. */
export interface RefusedRows {
  /** The table they were for, without the database. */
  table: string
  format: InsertFormat
  reason: string
  rows: number
  data: Buffer
}

/** Where quarantined rows go when the table cannot take them, embedded. */
export const quarantineDir = (dataDir: string): string => join(dataDir, 'quarantined')

/** A Native block of rows for `quarantined_rows`: bytes are kept exactly, whatever they are. */
export function quarantineBlock(refused: readonly RefusedRows[], nowNanos: bigint): Buffer {
  const time = new PlainColumn(TIME)
  const table = new PlainColumn('String')
  const format = new PlainColumn('String')
  const reason = new PlainColumn('String')
  const rows = new PlainColumn('UInt64')
  const data = new PlainColumn('String')
  for (const r of refused) {
    time.data.int64(nowNanos)
    table.data.string(r.table)
    format.data.string(r.format)
    reason.data.string(r.reason)
    rows.data.uint64n(r.rows)
    data.data.bytes(r.data)
  }
  return encodeBlock(
    [
      ['time', time],
      ['table_name', table],
      ['format', format],
      ['reason', reason],
      ['rows', rows],
      ['data', data],
    ],
    refused.length,
  )
}

/**
 * The last resort, when `quarantined_rows` refused the rows too: embedded, two files per
 * entry in `dataDir/quarantined` (the bytes, and `.reason`: the reasons and the row count);
 * on a server, the log (the bytes in base64). Where they went is logged either way.
 */
export async function quarantineElsewhere(
  storage: Storage,
  refused: readonly RefusedRows[],
  why: string,
  log: Logger,
): Promise<void> {
  const { target } = storage
  for (const r of refused) {
    const what = `${r.rows} row${r.rows === 1 ? '' : 's'} for ${storage.database}.${r.table} refused (${r.reason})`
    if (target.kind === 'embedded') {
      const dir = quarantineDir(target.dataDir)
      const file = join(
        dir,
        `${Date.now()}-${randomBytes(4).toString('hex')}.${r.table}.${r.format}`,
      )
      try {
        privateDir(dir)
        await writeFile(file, r.data, { flag: 'wx', mode: FILE_MODE })
        await writeFile(`${file}.reason`, `${r.reason}\n${why}\nrows: ${r.rows}\n`, {
          flag: 'wx',
          mode: FILE_MODE,
        })
        log.warn(`${what}: kept in ${file}, as ${QUARANTINE_TABLE} refused them (${why})`)
        continue
      } catch (err) {
        log.error({ err }, `${what}: writing them to ${file} failed too`)
      }
    }
    log.error(
      `${what}; ${QUARANTINE_TABLE} refused them (${why}); the rows, base64: ${r.data.toString('base64')}`,
    )
  }
}
