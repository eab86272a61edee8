import { describe, expect, it } from 'vitest'
import { quoteLargeIntegers } from './json-integers.js'

describe('quoteLargeIntegers', () => {
  it('quotes integer literals beyond 2^53 and nothing else', () => {
    const text =
      '{"a": 12345678901234567890, "b": [1, -9007199254740993, 9007199254740991], ' +
      '"s": "x: 12345678901234567890", "f": 1.12345678901234567, "e": 1e12345678901234567}'
    expect(JSON.parse(quoteLargeIntegers(text))).toEqual({
      a: '12345678901234567890',
      b: [1, '-9007199254740993', 9007199254740991],
      s: 'x: 12345678901234567890',
      f: Number('1.12345678901234567'),
      e: Infinity,
    })
  })

  it('quotes only where told, by key and depth', () => {
    const text =
      '[{"timestamp" : 1733000000000000000123, "attributes": {"timestamp": 12345678901234567890}}]'
    const quoted = quoteLargeIntegers(text, (key, depth) => key === 'timestamp' && depth === 2)
    expect(quoted).toBe(
      '[{"timestamp" : "1733000000000000000123", "attributes": {"timestamp": 12345678901234567890}}]',
    )
  })

  it('steps over escaped quotes in strings', () => {
    expect(
      quoteLargeIntegers('{"x": "a\\": 12345678901234567890", "y": 12345678901234567890}'),
    ).toBe('{"x": "a\\": 12345678901234567890", "y": "12345678901234567890"}')
  })
})
