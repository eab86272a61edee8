// A process that dies without flushing (killed, out of memory) leaves in its spool
// directory the rows it had acknowledged and not yet stored. The next process hands those
// files to its write queues, which store them in batches as they store live rows, bisecting
// a refused batch and quarantining the rows refused on their own, while it already listens:
// ingest answers 503 until the backlog is under the queue cap, and /readyz is false until it
// is stored. Delivery is at least once: a file whose insert finished just before the crash,
// and was not yet removed, is stored twice.
//
// Every file under a spool name is whole (spool.ts writes it under another name first), so
// its request was acknowledged: its rows are the sender's, to store. A file that cannot be
// read is moved aside, for a person, and the others are stored.
import { chmodSync, readdirSync, renameSync } from 'node:fs'
import { open, readFile, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { StorageTarget } from './client.js'
import { spoolDir, type InsertFormat } from './insert.js'
import { FILE_MODE, parseSpoolName, privateDir, type SpooledRows } from './spool.js'
import type { Settled } from './writer.js'

export interface Recovery {
  /** Files stored (rows the engine refused quarantined), and how many bytes of rows they held. */
  stored: number
  bytes: number
  /** Of those, files holding rows the engine refused, kept in quarantined_rows. */
  quarantined: number
  /** Files that could not be read. */
  rejected: { name: string; error: string }[]
  /** Where unreadable files were moved, for a person to look at. */
  rejectedDir: string
  /** Files not yet stored when this process stopped: still in the spool, for the next. */
  left: number
}

/** Data directories whose leftovers this process has taken. */
const taken = new Set<string>()

/**
 * The spool files an earlier process acknowledged and left in the engine's directory, for
 * WritePipeline.recover to store. Given once per process and directory, and to be taken
 * before this process spools anything there (it would be listed too); a server has none,
 * as inserts to it are not spooled.
 */
export function takeLeftovers(target: StorageTarget): string[] {
  if (target.kind !== 'embedded' || taken.has(target.dataDir)) return []
  taken.add(target.dataDir)
  return leftoverSpool(spoolDir(target.dataDir))
}

/** The files a spool directory holds as this process opens it (and the directory, made). */
export function leftoverSpool(dir: string): string[] {
  privateDir(dir)
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort()
}

/** A leftover spool file, for the write queue of `table` (`database.table`). */
export interface Leftover {
  table: string
  format: InsertFormat
  rows: SpooledRows
}

/**
 * What each leftover file holds and where it goes. Files that are not spool files (kept
 * files of the recycler, files a crash cut short, a stray) are removed. A file that cannot
 * be read is moved aside (or left where it is when even that fails) and reported, alone.
 */
export async function readLeftovers(
  dir: string,
  names: readonly string[],
): Promise<{ leftovers: Leftover[]; unreadable: Unreadable[] }> {
  const leftovers: Leftover[] = []
  const unreadable: Unreadable[] = []
  for (const name of names) {
    const file = join(dir, name)
    const target = parseSpoolName(name)
    if (!target) {
      await unlink(file).catch(() => {})
      continue
    }
    try {
      const { size } = await stat(file)
      const rows = await countRows(file, target.format, size)
      leftovers.push({ ...target, rows: { file, bytes: size, rows, recovered: true } })
    } catch (err) {
      // Removed since it was listed (by a person): nothing is left of it to store.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
      const error = err instanceof Error ? err.message : String(err)
      try {
        setAside(file, rejectedDir(dir))
        unreadable.push({ name, error, movedTo: rejectedDir(dir) })
      } catch (moveErr) {
        const why = moveErr instanceof Error ? moveErr.message : String(moveErr)
        unreadable.push({ name, error: `${error}; moving it aside failed: ${why}` })
      }
    }
  }
  return { leftovers, unreadable }
}

/** A leftover file that could not be read, and where it is now (left in place if not moved). */
export interface Unreadable {
  name: string
  error: string
  movedTo?: string
}

/**
 * Rows in a spool file, for the queue's batching: a Native block says so in its header
 * (column count, then row count, as varints); JSON lines are counted. At least 1, so the
 * queue takes a file whose header the crash cut.
 */
async function countRows(file: string, format: InsertFormat, size: number): Promise<number> {
  if (size === 0) return 1
  if (format === 'JSONEachRow') {
    const data = await readFile(file)
    let lines = data[data.length - 1] === 10 ? 0 : 1
    for (let at = data.indexOf(10); at >= 0; at = data.indexOf(10, at + 1)) lines++
    return Math.max(1, lines)
  }
  const head = Buffer.alloc(20)
  const handle = await open(file, 'r')
  let read: number
  try {
    ;({ bytesRead: read } = await handle.read(head, 0, head.length, 0))
  } finally {
    await handle.close()
  }
  let at = 0
  const varUInt = (): number | undefined => {
    let n = 0
    for (let shift = 1; at < read; shift *= 128) {
      const b = head[at++]!
      n += (b & 0x7f) * shift
      if (b < 0x80) return n
    }
    return undefined
  }
  varUInt() // columns
  return Math.max(1, varUInt() ?? 1)
}

/** Where unreadable leftover files are moved, beside the spool directory. */
export const rejectedDir = (spoolDir: string): string => join(dirname(spoolDir), 'inserts-rejected')

/** Moves a leftover file that cannot be read out of the spool, for a person to look at. */
export function setAside(file: string, dir: string): void {
  privateDir(dir)
  const to = join(dir, basename(file))
  try {
    renameSync(file, to)
  } catch (err) {
    // Gone already (the engine's reason says so): nothing is left to set aside.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  // Written by an earlier version, it may be readable by anyone.
  chmodSync(to, FILE_MODE)
}

/** Follows the leftover files through the write queues until each is stored or left. */
export class RecoveryProgress {
  readonly recovery: Recovery
  readonly done: Promise<Recovery>
  private readonly pending = new Set<SpooledRows>()
  private finish: (r: Recovery) => void = () => {}
  private finished = false

  constructor(
    dir: string,
    private readonly onFile: (outcome: 'stored' | 'rejected') => void,
  ) {
    this.recovery = {
      stored: 0,
      bytes: 0,
      quarantined: 0,
      rejected: [],
      rejectedDir: rejectedDir(dir),
      left: 0,
    }
    this.done = new Promise((resolve) => (this.finish = resolve))
    void this.done.then(() => (this.finished = true))
  }

  /** From the start, while the files are still being listed, until the last is settled. */
  get inProgress(): boolean {
    return !this.finished
  }

  /** The files being recovered; resolves `done` at once when there are none. */
  expect(files: readonly SpooledRows[]): void {
    for (const f of files) this.pending.add(f)
    if (this.pending.size === 0) this.finish(this.recovery)
  }

  /** A file that could not be read, moved aside (readLeftovers). */
  unreadable(name: string, error: string): void {
    this.recovery.rejected.push({ name, error })
    this.onFile('rejected')
  }

  /** A queued chunk left its queue; those not recovered are ignored. */
  settled(chunk: SpooledRows, outcome: Settled): void {
    if (!this.pending.delete(chunk)) return
    const r = this.recovery
    if (outcome === 'left' || outcome === 'dropped') {
      r.left++
    } else {
      r.stored++
      r.bytes += chunk.bytes
      if (outcome === 'quarantined') r.quarantined++
      this.onFile('stored')
    }
    if (this.pending.size === 0) this.finish(r)
  }
}

/** What a person starting Reckon should know about a recovery, or nothing when there was none. */
export function describeRecovery(r: Recovery | undefined): string[] {
  if (!r) return []
  const lines: string[] = []
  if (r.stored > 0) {
    const mb = (r.bytes / 1048576).toFixed(1)
    lines.push(
      `stored ${r.stored} spooled insert${r.stored === 1 ? '' : 's'} (${mb} MiB) that the previous run acknowledged but had not written`,
    )
  }
  if (r.quarantined > 0) {
    lines.push(
      `${r.quarantined} of them held rows the engine refused, kept in quarantined_rows (reckon_rows_quarantined_total)`,
    )
  }
  if (r.rejected.length > 0) {
    const first = r.rejected[0]!
    lines.push(
      `${r.rejected.length} spooled insert${r.rejected.length === 1 ? '' : 's'} left by the previous run could not be read, kept in ${r.rejectedDir} (${first.name}: ${first.error})`,
    )
  }
  if (r.left > 0) {
    lines.push(
      `${r.left} spooled insert${r.left === 1 ? '' : 's'} left by the previous run not stored before this stop: kept for the next start`,
    )
  }
  return lines
}
