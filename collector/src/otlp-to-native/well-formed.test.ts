import { describe, expect, it } from 'vitest'
import { wellFormed } from './well-formed.js'

const read = (text: string): unknown => wellFormed(text, JSON.parse(text) as unknown)

describe('wellFormed', () => {
  it('replaces lone surrogates in strings and keys with U+FFFD, and keeps pairs', () => {
    const text = '{"a\\ud800": ["x\\udfff", {"__proto__": "\\ud83d"}], "ok": "\\ud83d\\ude00"}'
    const v = read(text) as Record<string, unknown>
    expect(Object.keys(v)).toEqual(['ok', 'a\uFFFD'])
    expect(v['a\uFFFD']).toEqual(['x\uFFFD', JSON.parse('{"__proto__": "\\ufffd"}')])
    expect(Object.getPrototypeOf((v['a\uFFFD'] as object[])[1])).toBe(Object.prototype)
    expect(v.ok).toBe('😀')
  })

  it('walks a body nested far deeper than the stack could recurse', () => {
    const depth = 200_000
    const text = '['.repeat(depth) + '"\\ud800"' + ']'.repeat(depth)
    let v = read(text)
    for (let i = 0; i < depth; i++) v = (v as unknown[])[0]
    expect(v).toBe('\uFFFD')
  })
})
