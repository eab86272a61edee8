// Creating a file is costly on some filesystems: ext4 without a journal (as on these
// machines) scans past every inode freed in the last minutes before it allocates one, and a
// spool file is made and deleted for every request. Under load that scan was 14% of a
// decode thread's time (perf, bench:ingest). So a stored file is not deleted but kept, under
// a name recovery never stores, for a decode thread to overwrite: no inode is allocated.
import { randomBytes } from 'node:crypto'
import { rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { unspool, type SpooledRows } from './spool.js'

/** How many stored files are kept, and the largest kept (bigger ones hold too much disk). */
const MAX_KEPT = 256
const MAX_KEPT_BYTES = 4 * 1024 * 1024

/** Stored spool files, kept for reuse. Lives on the event loop. */
export class SpoolRecycler {
  private readonly kept: string[] = []
  /** Names of kept files: not spool names (spool.ts), so recovery deletes them. */
  private readonly prefix = `kept-${randomBytes(4).toString('hex')}-`
  private next = 0
  /** Files being renamed to be kept: they count against MAX_KEPT already. */
  private renaming = 0
  private closed = false

  constructor(private readonly dir: string) {}

  /**
   * Takes files whose rows are stored (or dropped) out of the spool: renamed for reuse, or
   * deleted when enough are kept. Once this resolves, no crash can store them again.
   */
  async recycle(files: readonly SpooledRows[]): Promise<void> {
    const keep: SpooledRows[] = []
    const remove: SpooledRows[] = []
    for (const f of files) {
      const room = this.kept.length + this.renaming + keep.length < MAX_KEPT
      ;(room && !this.closed && f.bytes <= MAX_KEPT_BYTES ? keep : remove).push(f)
    }
    this.renaming += keep.length
    await Promise.all([
      unspool(remove),
      ...keep.map(async (f) => {
        const name = join(this.dir, `${this.prefix}${this.next++}`)
        try {
          await rename(f.file, name)
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
          throw err
        } finally {
          this.renaming--
        }
        if (this.closed) await unlink(name)
        else this.kept.push(name)
      }),
    ])
  }

  /** Up to `count` kept files, now the caller's: to overwrite, to give back, or to delete. */
  take(count: number): string[] {
    return this.kept.splice(Math.max(0, this.kept.length - count), count)
  }

  /** Files taken and not used. */
  giveBack(files: readonly string[]): void {
    if (this.closed) void Promise.all(files.map((f) => unlink(f).catch(() => {})))
    else this.kept.push(...files)
  }

  /** Deletes the kept files. */
  async close(): Promise<void> {
    this.closed = true
    const files = this.kept.splice(0)
    await Promise.all(files.map((f) => unlink(f).catch(() => {})))
  }
}
