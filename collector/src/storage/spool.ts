// Encoded rows handed from a decode thread to the event loop as ArrayBuffers (~1 MB per
// 1000 spans) grow the event loop's external memory until its GC runs a full mark-compact,
// several times a second under load. So a decode thread writes the rows of each request to
// a spool file beside the embedded engine's data, and the write queue holds the file's name;
// the insert reads the files directly.
import {
  chmodSync,
  closeSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writevSync,
} from 'node:fs'
import { rename, unlink, writeFile } from 'node:fs/promises'
import type { InsertFormat } from './insert.js'

/** Spooled rows are the senders' data: readable by this user alone, as the engine's are. */
export const FILE_MODE = 0o600
export const DIR_MODE = 0o700

/** Makes `dir` (and its parents) readable by this user alone, created or already there. */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: DIR_MODE })
  // An existing directory keeps its mode through mkdir (one from an earlier version: 0755).
  chmodSync(dir, DIR_MODE)
}

/** Rows waiting in a spool file, written whole before the request was acknowledged. */
export interface SpooledRows {
  /** Absolute path of the file; it holds these rows and nothing else. */
  file: string
  bytes: number
  rows: number
  /** Left by a process that died (recover.ts), not spooled by this one. */
  recovered?: boolean
}

/**
 * A spool file's name says where its rows go, so files a crashed process left behind can
 * still be stored (recover.ts): `<stem>.<database>.<table>.<format>`.
 */
export const spoolName = (stem: string, table: string, format: InsertFormat): string =>
  `${stem}.${table}.${format}`

const SPOOL_NAME =
  /^[0-9a-z-]+\.([A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*)\.(Native|JSONEachRow)$/

/** The table (`database.table`, both plain identifiers) and format a spool file is for. */
export function parseSpoolName(name: string): { table: string; format: InsertFormat } | undefined {
  const m = SPOOL_NAME.exec(name)
  return m ? { table: m[1]!, format: m[2] as InsertFormat } : undefined
}

/**
 * Where a spool file is written before it takes its name, complete: not a spool name, so a
 * crash part-way leaves a file recovery deletes (its request was never acknowledged), and
 * every file under a spool name holds rows that were.
 */
export const writingName = (file: string): string => `${file}.writing`

/** Rows could not be spooled (a full or failing disk): the sender should retry later. */
export class SpoolError extends Error {
  override name = 'SpoolError'
}

const spoolError = (err: unknown): SpoolError =>
  new SpoolError(
    `writing rows to the spool failed: ${err instanceof Error ? err.message : String(err)}`,
  )

/**
 * Writes `data` to a new file (synchronously: this runs on a decode thread). With `reuse`, a
 * kept file (spool-recycler.ts) is overwritten instead. Either takes the name once complete:
 * a crash part-way leaves it under a name recovery deletes.
 */
export function spool(
  file: string,
  data: readonly Uint8Array[],
  rows: number,
  reuse?: string,
): SpooledRows {
  const writing = reuse ?? writingName(file)
  let fd: number
  try {
    fd = openSync(writing, reuse ? 'r+' : 'wx', FILE_MODE)
  } catch (err) {
    throw spoolError(err)
  }
  let bytes = 0
  try {
    for (const d of data) bytes += d.byteLength
    let written = 0
    // writev may write less than asked; go on from where it stopped.
    while (written < bytes) {
      let skip = written
      const rest: Uint8Array[] = []
      for (const d of data) {
        if (skip >= d.byteLength) skip -= d.byteLength
        else {
          rest.push(skip > 0 ? d.subarray(skip) : d)
          skip = 0
        }
      }
      written += writevSync(fd, rest, written)
    }
    // The rest of a kept file's earlier, longer rows.
    if (reuse) ftruncateSync(fd, bytes)
  } catch (err) {
    // A fresh file cut short (a full disk) goes with its request; a kept one is the caller's.
    if (!reuse) rmSync(writing, { force: true })
    throw spoolError(err)
  } finally {
    closeSync(fd)
  }
  try {
    renameSync(writing, file)
  } catch (err) {
    if (!reuse) rmSync(writing, { force: true })
    throw spoolError(err)
  }
  return { file, bytes, rows }
}

/** `spool` for the event loop: the same file, written without blocking it. */
export async function spoolAsync(file: string, data: Buffer, rows: number): Promise<SpooledRows> {
  await writeWhole(file, data)
  return { file, bytes: data.length, rows }
}

/**
 * What is left of spooled rows once some are stored (writer.ts): the file holds only those
 * from now on, so nothing stored is stored again, by this process or the next.
 */
export async function respool(rows: SpooledRows, data: Buffer, count: number): Promise<void> {
  await writeWhole(rows.file, data, true)
  rows.bytes = data.length
  rows.rows = count
}

/** Writes `file` under its writing name, then gives it its own: whole, or not at all. */
async function writeWhole(file: string, data: Buffer, replace = false): Promise<void> {
  const writing = writingName(file)
  try {
    await writeFile(writing, data, { flag: replace ? 'w' : 'wx', mode: FILE_MODE })
    await rename(writing, file)
  } catch (err) {
    await unlink(writing).catch(() => {})
    throw spoolError(err)
  }
}

/** Removes spooled files whose rows are stored, dropped, or were never acknowledged. */
export async function unspool(files: readonly SpooledRows[]): Promise<void> {
  // unlink, not rm: rm stats every file first, and this runs for every request.
  await Promise.all(
    files.map((f) =>
      unlink(f.file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err
      }),
    ),
  )
}
