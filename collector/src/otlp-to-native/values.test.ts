import { describe, expect, it } from 'vitest'
import { SpanCodec } from './proto.js'
import { typedKeyValues, typedMap } from './typed-value.js'
import type { KeyValue } from './types.js'
import { flattenAttributes, hexId, int64, InvalidField, uint64 } from './values.js'

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

  it('refuses text beyond 64 bits, which the halves would wrap (99999999999999999999 as 2216)', () => {
    expect(uint64('18446744073709551615', 't')).toBe('18446744073709551615')
    expect(() => uint64('18446744073709551616', 't')).toThrow(/below 2\^64/)
    expect(() => uint64('99999999999999999999', 't')).toThrow(InvalidField)
  })

  it('reads an object as a 64-bit value only when it has the halves protobufjs gives', () => {
    expect(() => uint64({} as never, 'events[0].timeUnixNano')).toThrow(
      'events[0].timeUnixNano must be an integer',
    )
    expect(() => int64({ low: 'x' } as never, 'i')).toThrow(InvalidField)
  })
})

describe('int64', () => {
  it('refuses text beyond 64 bits and writes the rest in its one spelling', () => {
    expect(() => int64('9223372036854775808', 'i')).toThrow(/must be an integer/)
    expect(() => int64('-9223372036854775809', 'i')).toThrow(InvalidField)
    expect(int64('-9223372036854775808', 'i')).toBe('-9223372036854775808')
    expect([int64('-0', 'i'), int64('007', 'i'), int64('-012', 'i')]).toEqual(['0', '7', '-12'])
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

  it('refuses a value of the wrong JSON type instead of storing it as something else', () => {
    const refused: [unknown, RegExp][] = [
      [{ boolValue: 'yes' }, /k must be true or false/],
      [{ bytesValue: '!!not base64' }, /k must be base64/],
      [{ bytesValue: 'A' }, /k must be base64/],
      ['plain text', /k must be an AnyValue object/],
      [42, /k must be an AnyValue object/],
      [[{ stringValue: 'x' }], /k must be an AnyValue object/],
      [{ arrayValue: { values: 'x' } }, /k must hold a list of values/],
      [{ kvlistValue: { values: 5 } }, /k must hold a list of values/],
      [{ arrayValue: { values: [{ boolValue: 1 }] } }, /k must be true or false/],
    ]
    for (const [value, error] of refused) {
      expect(
        () => flattenAttributes([{ key: 'k', value } as KeyValue]),
        JSON.stringify(value),
      ).toThrow(error)
    }
    expect(() => flattenAttributes('x' as never)).toThrow(/attributes must be a list/)
  })

  it('stores OTLP/JSON values as the span protobuf kept beside them reads back', () => {
    // The trace view decodes the span encoded from the JSON; the spans table keeps the text.
    const attributes = [
      { key: 'zero', value: { intValue: '-0' } },
      { key: 'padded', value: { intValue: '007' } },
      { key: 'unpadded', value: { bytesValue: 'AAE' } },
      { key: 'urlSafe', value: { bytesValue: '-_8' } },
      {
        key: 'list',
        value: { arrayValue: { values: [{ bytesValue: 'AB==' }, { intValue: '-0' }] } },
      },
    ] as KeyValue[]
    const flat = flattenAttributes(attributes)
    const span = SpanCodec.decode(SpanCodec.encode({ attributes }).finish())
    expect(typedMap(flat.values, flat.types)).toEqual(typedKeyValues(span.attributes))
    expect(flat.values).toMatchObject({ zero: '0', padded: '7', unpadded: 'AAE=', urlSafe: '+/8=' })
  })
})
