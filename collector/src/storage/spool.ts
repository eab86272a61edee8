// Encoded rows handed from a decode thread to the event loop as ArrayBuffers (~1 MB per
// 1000 spans) grow the event loop's external memory until its GC runs a full mark-compact,
// several times a second under load: as much CPU as the decode thread itself. So a decode
// thread writes the rows of each request to a spool file beside the embedded engine's data,
// and the write queue holds the file's name; the insert reads the files directly.
import { closeSync, openSync, writevSync } from 'node:fs'
import { unlink } from 'node:fs/promises'
import { join } from 'node:path'

/** Rows waiting in a spool file, written whole before the request was acknowledged. */
export interface SpooledRows {
  /** Absolute path of the file; it holds these rows and nothing else. */
  file: string
  bytes: number
  rows: number
}

/** Writes `data` to a new file `name` in `dir` (synchronously: this runs on a decode thread). */
export function spool(
  dir: string,
  name: string,
  data: readonly Uint8Array[],
  rows: number,
): SpooledRows {
  const file = join(dir, name)
  const fd = openSync(file, 'wx')
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
      written += writevSync(fd, rest)
    }
  } finally {
    closeSync(fd)
  }
  return { file, bytes, rows }
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
