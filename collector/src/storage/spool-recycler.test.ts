import { readdirSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SpoolRecycler } from './spool-recycler.js'
import { parseSpoolName, spool, type SpooledRows } from './spool.js'

const lines = (ids: string[]): Buffer =>
  Buffer.from(ids.map((id) => JSON.stringify({ id }) + '\n').join(''))

describe('the recycler', () => {
  it('keeps at most 256 files and 128 MiB, deleting the rest, and all of them at close', async () => {
    const own = await mkdtemp(join(tmpdir(), 'reckon-recycler-'))
    const recycler = new SpoolRecycler(own)
    const file = (name: string, mib?: number): SpooledRows => {
      const rows = spool(join(own, `${name}.db.t.JSONEachRow`), [lines([name])], 1)
      // As large as a file of that size counts: the caps go by what the spool said it wrote.
      return mib ? { ...rows, bytes: mib << 20 } : rows
    }
    await recycler.recycle([file('a', 100), file('b', 20), file('c', 20)])
    // c would take the kept bytes past 128 MiB.
    expect(readdirSync(own).length).toBe(2)
    await recycler.close()
    expect(readdirSync(own)).toEqual([])

    const again = new SpoolRecycler(own)
    await again.recycle(Array.from({ length: 260 }, (_, i) => file(`f${i}`)))
    const left = readdirSync(own)
    expect(left.length).toBe(256)
    expect(left.every((name) => !parseSpoolName(name))).toBe(true)
    const taken = again.take(3)
    expect(taken.length).toBe(3)
    // Taken files leave room: three more are kept.
    await again.recycle(Array.from({ length: 4 }, (_, i) => file(`g${i}`)))
    expect(readdirSync(own).length).toBe(259)
    await again.close()
    expect(readdirSync(own).sort()).toEqual(taken.map((f) => basename(f.file)).sort())
    // Taken before the close and given back after it: deleted, not kept.
    again.giveBack(taken)
    await expect.poll(() => readdirSync(own)).toEqual([])
  })
})
