import { describe, expect, it } from 'vitest'
import { typedAnyValue, typedKeyValues, typedMap, TooDeep } from './typed-value.js'
import type { AnyValue, KeyValue } from './types.js'
import { flattenAttributes } from './values.js'

const kv = (key: string, value: AnyValue): KeyValue => ({ key, value })
const long = (n: bigint) => ({ low: Number(n & 0xffffffffn) | 0, high: Number(n >> 32n) | 0 })

/** Every type, with the values JSON alone cannot tell apart. */
const ALL: KeyValue[] = [
  kv('s', { stringValue: '3' }),
  kv('t', { boolValue: true }),
  kv('i', { intValue: long(3n) }),
  kv('neg', { intValue: long(-7n) }),
  kv('big', { intValue: long(9007199254740993n) }),
  kv('min', { intValue: '-9223372036854775808' }),
  kv('d', { doubleValue: 2.5 }),
  kv('d2', { doubleValue: 2 }),
  kv('nan', { doubleValue: NaN }),
  kv('inf', { doubleValue: 'Infinity' }),
  kv('ninf', { doubleValue: -Infinity }),
  kv('nz', { doubleValue: -0 }),
  kv('bytes', { bytesValue: Uint8Array.from([0, 255, 7]) }),
  kv('arr', { arrayValue: { values: [{ stringValue: 'p' }, { doubleValue: 1 }, {}] } }),
  kv('kv', {
    kvlistValue: {
      values: [kv('__proto__', { intValue: 1 }), kv('constructor', { boolValue: false })],
    },
  }),
  kv('tagLike', { kvlistValue: { values: [kv('int', { stringValue: 'x' })] } }),
  kv('empty', {}),
]

const EXPECTED = {
  s: '3',
  t: true,
  i: 3,
  neg: -7,
  big: { int: '9007199254740993' },
  min: { int: '-9223372036854775808' },
  d: 2.5,
  d2: { double: 2 },
  nan: { double: 'NaN' },
  inf: { double: 'Infinity' },
  ninf: { double: '-Infinity' },
  nz: { double: '-0' },
  bytes: { bytes: 'AP8H' },
  arr: ['p', { double: 1 }, null],
  kv: JSON.parse('{"__proto__": 1, "constructor": false}'),
  tagLike: { kvlist: { int: 'x' } },
  empty: null,
}

describe('the typed JSON form', () => {
  it('gives every OTLP type back, tagging only what plain JSON would make ambiguous', () => {
    const typed = typedKeyValues(ALL)
    expect(JSON.parse(JSON.stringify(typed))).toEqual(EXPECTED)
  })

  it('reads the same from the stored text and type maps', () => {
    const flat = flattenAttributes(ALL)
    expect(JSON.parse(JSON.stringify(typedMap(flat.values, flat.types)))).toEqual(EXPECTED)
  })

  it('keeps keys of any spelling as keys', () => {
    const typed = typedKeyValues([
      kv('__proto__', { stringValue: 'a' }),
      kv('constructor', { stringValue: 'b' }),
      kv('prototype', { intValue: long(1n) }),
      kv('toString', { boolValue: true }),
    ])
    expect(Object.keys(typed)).toEqual(['__proto__', 'constructor', 'prototype', 'toString'])
    expect(JSON.stringify(typed)).toBe(
      '{"__proto__":"a","constructor":"b","prototype":1,"toString":true}',
    )
    const flat = flattenAttributes([kv('__proto__', { intValue: long(2n) })])
    expect(JSON.stringify(typedMap(flat.values, flat.types))).toBe('{"__proto__":2}')
  })

  it('refuses to recurse without bound', () => {
    let v: AnyValue = { stringValue: 'leaf' }
    for (let i = 0; i < 5000; i++) v = { kvlistValue: { values: [kv('k', v)] } }
    expect(() => typedAnyValue(v)).toThrow(TooDeep)
  })

  it('refuses a value too deep in an entry readers leave out, as it stays in the stored span', () => {
    let deep: AnyValue = { stringValue: 'leaf' }
    for (let i = 0; i < 5000; i++) deep = { kvlistValue: { values: [kv('d', deep)] } }
    // No key: left out of the columns and the view, but kept in trace_spans as sent.
    expect(() => flattenAttributes([kv('', deep)])).toThrow(TooDeep)
    // A repeated key: the first is read, the second still stored.
    expect(() => typedKeyValues([kv('k', { stringValue: 'first' }), kv('k', deep)])).toThrow(
      TooDeep,
    )
    expect(typedKeyValues([kv('', { stringValue: 'x' }), kv('k', { boolValue: true })])).toEqual({
      k: true,
    })
  })
})
