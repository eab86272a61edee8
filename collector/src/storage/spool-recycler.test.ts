import { readdirSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SpoolRecycler } from './spool-recycler.js'
import { parseSpoolName, spool } from './spool.js'

const lines = (ids: string[]): Buffer =>
  Buffer.from(ids.map((id) => JSON.stringify({ id }) + '\n').join(''))

describe('the recycler', () => {
  it('keeps at most 256 files and no large ones, deleting the rest and all at close', async () => {
    const own = await mkdtemp(join(tmpdir(), 'reckon-recycler-'))
    const recycler = new SpoolRecycler(own)
    const files = Array.from({ length: 260 }, (_, i) =>
      spool(join(own, `f${i}.db.t.JSONEachRow`), [lines([`r${i}`])], 1),
    )
    const large = { ...spool(join(own, 'large.db.t.Native'), [lines(['x'])], 1), bytes: 5 << 20 }
    await recycler.recycle([large, ...files])
    const left = readdirSync(own)
    expect(left.length).toBe(256)
    expect(left.every((name) => !parseSpoolName(name))).toBe(true)

    const taken = recycler.take(3)
    expect(taken.length).toBe(3)
    await recycler.close()
    expect(readdirSync(own).sort()).toEqual(taken.map((f) => basename(f)).sort())
    // Taken before the close and given back after it: deleted, not kept.
    recycler.giveBack(taken)
    await expect.poll(() => readdirSync(own)).toEqual([])
  })
})
