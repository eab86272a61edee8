import { randomBytes, randomInt } from 'node:crypto'
import protobuf from 'protobufjs'
import { describe, expect, it } from 'vitest'
import { InterningReader } from './interning-reader.js'

/** Length-delimited strings one after another, as protobuf writes string fields. */
function encode(values: (string | Buffer)[]): Buffer {
  const w = protobuf.Writer.create()
  for (const v of values) {
    if (typeof v === 'string') w.string(v)
    else w.bytes(v)
  }
  return Buffer.from(w.finish())
}

function readAll(body: Buffer, count: number): string[] {
  const r = new InterningReader(body)
  return Array.from({ length: count }, () => r.string())
}

describe('InterningReader', () => {
  it('reads every string as the protobuf decoder would, repeats and cache collisions alike', () => {
    const keys = ['service.name', 'http.route', 'db.system', 'reckon.flow.id', '']
    const values: string[] = []
    // Far more distinct short strings than cache slots, so slots are taken over and over.
    for (let i = 0; i < 30_000; i++) {
      values.push(keys[i % keys.length]!)
      values.push(i % 3 === 0 ? `order-${randomInt(1e6)}` : `GET /orders/${i % 7}`)
      if (i % 100 === 0) values.push('ünïcödé ✓ 🚀'.repeat(1 + (i % 5))) // multi-byte, both sides of the cap
      if (i % 250 === 0) values.push('x'.repeat(40 + (i % 20)))
    }
    const body = encode(values)
    const plain = protobuf.Reader.create(body)
    const expected = values.map(() => plain.string())
    expect(readAll(body, values.length)).toEqual(expected)
    expect(expected).toEqual(values)
  })

  it('tells apart strings of every cached length that differ in one byte, anywhere', () => {
    const values: string[] = []
    for (let len = 1; len <= 49; len++) {
      const base = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNO'.slice(0, len)
      for (const at of new Set([0, len >> 1, len - 1])) {
        const changed = base.slice(0, at) + '#' + base.slice(at + 1)
        values.push(base, changed, base, changed)
      }
    }
    expect(readAll(encode(values), values.length)).toEqual(values)
  })

  it('decodes invalid UTF-8 the same way every time it repeats', () => {
    const bad = Buffer.from([0x61, 0xff, 0xfe, 0x62])
    const body = encode([bad, 'ok', bad])
    const [first, , again] = readAll(body, 3)
    expect(first).toBe('a\ufffd\ufffdb')
    expect(again).toBe(first)
  })

  it('refuses a string whose length runs past the end, rather than cutting it short', () => {
    const body = encode(['complete', randomBytes(8).toString('hex')])
    const cut = body.subarray(0, body.length - 3)
    const r = new InterningReader(cut)
    expect(r.string()).toBe('complete')
    expect(() => r.string()).toThrow(RangeError)
  })
})
