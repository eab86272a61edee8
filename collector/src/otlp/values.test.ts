import { describe, expect, it } from 'vitest'
import { typedMap } from './typed-value.js'
import { flattenAttributes, hexId, InvalidField, uint64 } from './values.js'

describe('hexId', () => {
  it('turns bytes into lowercase hex and accepts hex text', () => {
    expect(hexId(Uint8Array.from([0xab, 0, 1, 2, 3, 4, 5, 0xff]), 8, 'spanId')).toBe(
      'ab000102030405ff',
    )
    expect(hexId('AB000102030405FF', 8, 'spanId')).toBe('ab000102030405ff')
    expect(hexId(undefined, 8, 'spanId')).toBe('')
  })

  it('refuses wrong lengths, non-hex text and all-zero IDs, naming the field', () => {
    expect(() => hexId(new Uint8Array(7), 8, 'spanId')).toThrow(/spanId must be 8 bytes, got 7/)
    expect(() => hexId('xyz', 16, 'traceId')).toThrow(/traceId must be 32 hex characters/)
    expect(() => hexId('0'.repeat(32), 16, 'traceId')).toThrow(InvalidField)
  })
})

describe('uint64', () => {
  it('keeps nanosecond timestamps exact beyond 2^53', () => {
    const ns = 1_732_000_000_123_456_789n
    // protobufjs hands fixed64 over as two signed 32-bit halves.
    const long = { low: Number(ns & 0xffffffffn) | 0, high: Number(ns >> 32n) | 0, unsigned: true }
    expect(uint64(long, 't')).toBe(ns.toString())
    expect(uint64(ns.toString(), 't')).toBe(ns.toString())
  })

  it('refuses unsafe JSON numbers and non-digits', () => {
    expect(() => uint64(2 ** 60, 't')).toThrow(/send it as a string/)
    expect(() => uint64('12a', 't')).toThrow(/unsigned integer/)
  })
})

describe('attributes', () => {
  it('round-trips every OTLP value type through the stored string map', () => {
    const flat = flattenAttributes([
      { key: 's', value: { stringValue: 'text' } },
      { key: 'i', value: { intValue: '9007199254740993' } },
      { key: 'small', value: { intValue: 42 } },
      { key: 'd', value: { doubleValue: 1.5 } },
      { key: 'b', value: { boolValue: false } },
      { key: 'a', value: { arrayValue: { values: [{ stringValue: 'x' }, { intValue: 1 }] } } },
      { key: 'kv', value: { kvlistValue: { values: [{ key: 'k', value: { boolValue: true } }] } } },
    ])
    expect(flat.values.s).toBe('text')
    expect(flat.types.s).toBeUndefined()
    expect(typedMap(flat.values, flat.types)).toEqual({
      s: 'text',
      i: { int: '9007199254740993' },
      small: 42,
      d: 1.5,
      b: false,
      a: ['x', 1],
      kv: { k: true },
    })
  })

  it('refuses a string attribute that is not a string', () => {
    expect(() =>
      flattenAttributes([{ key: 'k', value: { stringValue: 5 as unknown as string } }]),
    ).toThrow(/attributes.k must be a string/)
  })
})
