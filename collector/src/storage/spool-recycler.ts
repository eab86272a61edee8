// Creating a file is costly on some filesystems: ext4 without a journal (as on these
// machines) scans past every inode freed in the last minutes before it allocates one, and a
// spool file is made and deleted for every request. So a stored file is not deleted but
// kept, under a name recovery never stores, for a decode thread to overwrite: no inode is
// allocated.
import { randomBytes } from 'node:crypto'
import { rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { unspool, type SpooledRows } from './spool.js'

/** What is kept at most: the disk it holds is the price of not allocating inodes. */
const MAX_KEPT_FILES = 256
const MAX_KEPT_BYTES = 128 * 1024 * 1024

/** A kept file: its path, and its size when it was kept. */
export interface KeptFile {
  file: string
  bytes: number
}

/** Stored spool files, kept for reuse. Lives on the event loop. */
export class SpoolRecycler {
  private readonly kept: KeptFile[] = []
  /** Names of kept files: not spool names (spool.ts), so recovery deletes them. */
  private readonly prefix = `kept-${randomBytes(4).toString('hex')}-`
  private next = 0
  /** Files kept or being renamed to be kept, and their bytes: what counts against the caps. */
  private files = 0
  private bytes = 0
  private closed = false

  constructor(private readonly dir: string) {}

  /**
   * Takes files whose rows are stored (or dropped) out of the spool: renamed for reuse, or
   * deleted when enough are kept. Once this resolves, no crash can store them again.
   */
  async recycle(stored: readonly SpooledRows[]): Promise<void> {
    const keep: SpooledRows[] = []
    const remove: SpooledRows[] = []
    for (const f of stored) {
      const room = this.files < MAX_KEPT_FILES && this.bytes + f.bytes <= MAX_KEPT_BYTES
      if (!room || this.closed) {
        remove.push(f)
        continue
      }
      keep.push(f)
      this.files++
      this.bytes += f.bytes
    }
    await Promise.all([
      unspool(remove),
      ...keep.map(async (f) => {
        const kept = { file: join(this.dir, `${this.prefix}${this.next++}`), bytes: f.bytes }
        try {
          await rename(f.file, kept.file)
        } catch (err) {
          this.forget([kept])
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
          throw err
        }
        if (this.closed) {
          this.forget([kept])
          await this.remove([kept])
        } else this.kept.push(kept)
      }),
    ])
  }

  /** Up to `count` kept files, now the caller's: to overwrite, to give back, or to delete. */
  take(count: number): KeptFile[] {
    const taken = this.kept.splice(Math.max(0, this.kept.length - count), count)
    this.forget(taken)
    return taken
  }

  /** Files taken and not used, unchanged. */
  giveBack(files: readonly KeptFile[]): void {
    if (this.closed) {
      void this.remove(files)
      return
    }
    this.kept.push(...files)
    this.files += files.length
    for (const f of files) this.bytes += f.bytes
  }

  /** Deletes the kept files. */
  async close(): Promise<void> {
    this.closed = true
    const files = this.kept.splice(0)
    this.forget(files)
    await this.remove(files)
  }

  private forget(files: readonly KeptFile[]): void {
    this.files -= files.length
    for (const f of files) this.bytes -= f.bytes
  }

  private async remove(files: readonly KeptFile[]): Promise<void> {
    await Promise.all(files.map((f) => unlink(f.file).catch(() => {})))
  }
}
