// A process that dies without flushing (killed, out of memory) leaves in its spool
// directory the rows it had acknowledged and not yet stored. The next process stores them
// before it takes traffic. Delivery is at least once: a file whose insert finished just
// before the crash, and was not yet removed, is stored twice.
import { mkdirSync, readdirSync, renameSync } from 'node:fs'
import { stat, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import { sqlString } from './insert.js'
import { parseSpoolName } from './spool.js'

export interface Recovery {
  /** Files stored, and how many bytes of rows they held. */
  stored: number
  bytes: number
  /** Files the engine refused (cut short by the crash, or for a table gone since). */
  rejected: { name: string; error: string }[]
  /** Where refused files were moved, for a person to look at. */
  rejectedDir: string
}

/** The files a spool directory holds as this process opens it (and the directory, made). */
export function leftoverSpool(dir: string): string[] {
  mkdirSync(dir, { recursive: true })
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort()
}

/**
 * Stores each leftover file on its own: a file cut short fails alone, and a failed insert
 * leaves nothing half-stored to be stored again. Files that are not spool files are removed.
 */
export async function recoverSpool(
  client: ClickHouseClient,
  dir: string,
  names: readonly string[],
  log: (line: string) => void = () => {},
): Promise<Recovery> {
  const rejectedDir = join(dirname(dir), 'inserts-rejected')
  const recovery: Recovery = { stored: 0, bytes: 0, rejected: [], rejectedDir }
  // A full queue takes a while (600 files, 277 MiB: ~10 s here): say why start is slow.
  const count = names.filter((n) => parseSpoolName(n)).length
  if (count > 0) log(`storing ${count} spooled inserts the previous run left…`)
  for (const name of names) {
    const file = join(dir, name)
    const target = parseSpoolName(name)
    if (!target) {
      await unlink(file).catch(() => {})
      continue
    }
    const { size } = await stat(file)
    try {
      // Table and format come from a name that matched plain identifiers and a known format.
      await client.command({
        query: `INSERT INTO ${target.table} FROM INFILE ${sqlString(file)} FORMAT ${target.format}`,
      })
    } catch (err) {
      mkdirSync(rejectedDir, { recursive: true })
      renameSync(file, join(rejectedDir, name))
      recovery.rejected.push({ name, error: err instanceof Error ? err.message : String(err) })
      continue
    }
    await unlink(file)
    recovery.stored++
    recovery.bytes += size
  }
  return recovery
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
  if (r.rejected.length > 0) {
    const first = r.rejected[0]!
    lines.push(
      `${r.rejected.length} spooled insert${r.rejected.length === 1 ? '' : 's'} left by the previous run could not be stored, kept in ${r.rejectedDir} (${first.name}: ${first.error})`,
    )
  }
  return lines
}
