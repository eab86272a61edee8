// The pieces the fuzz bodies (fuzz-bodies.ts) are made of: text, attribute values and keys,
// IDs and times, each with what the collector must read back for it, in OTLP/JSON (bare
// 64-bit literals and values nested past any stack included) and protobufjs' object form.
import fc from 'fast-check'
import { deepKeyValue } from './fuzz-protobuf.js'
import {
  typedDouble,
  typedInt,
  typedKvlist,
  type TypedValue,
} from '../otlp-to-native/typed-value.js'
import '../otlp-to-native/well-formed.js'

export type Encoding = 'json' | 'protobuf'

/** Something built for one encoding, chosen at random. */
export const encodingAnd = <T>(build: (enc: Encoding) => fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.constantFrom<Encoding>('json', 'protobuf').chain(build)

/** What `JSON.stringify` writes for a string cut between the two halves of a pair. */
export const LONE_SURROGATES = ['\ud800', '\udbff', '\udc00', '\udfff', '\ud83d']
const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

/**
 * Text as the collector must read it back. OTLP/JSON: each lone surrogate as U+FFFD.
 * Protobuf: protobufjs writes a lone surrogate as three bytes that are not UTF-8, which a
 * decoder reads as three U+FFFD.
 */
export const readBack = (s: string, enc: Encoding): string =>
  enc === 'json' ? s.toWellFormed() : s.replace(LONE, '\uFFFD\uFFFD\uFFFD')

/** Keys the fuzz sets itself on every item, so the generated ones never take them. */
const RESERVED = /^(fuzz\.|reckon\.|service\.name$|event\.name$)/

/** Any text an exporter might send: empty, long, any code point, cut mid-pair. */
export const text: fc.Arbitrary<string> = fc.oneof(
  { weight: 30, arbitrary: fc.string({ maxLength: 16 }) },
  { weight: 10, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
  { weight: 5, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 1000 }).map((n) => 'long'.repeat(n)) },
  {
    weight: 10,
    arbitrary: fc
      .tuple(fc.string({ maxLength: 6 }), fc.constantFrom(...LONE_SURROGATES), fc.string())
      .map(([a, s, b]) => a + s + b),
  },
)

/** Keys that name parts of every JS object: each must be stored and read as a plain key. */
const OBJECT_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty']
export const attributeKey: fc.Arbitrary<string> = fc
  .oneof(
    { weight: 10, arbitrary: fc.constantFrom(...OBJECT_KEYS) },
    { weight: 30, arbitrary: text.filter((k) => k !== '') },
    // No key: left out by OTLP readers, refused by /v1/events.
    { weight: 1, arbitrary: fc.constant('') },
  )
  .filter((k) => !RESERVED.test(k))

/** An attribute value; `wrong` is a JSON value of a type OTLP does not allow there. */
export type Value =
  | { t: 'string'; s: string }
  | { t: 'bool'; b: boolean }
  | { t: 'int'; text: string; literal: boolean }
  | { t: 'double'; d: number }
  | { t: 'bytes'; b64: string }
  | { t: 'array'; values: Value[] }
  | { t: 'kvlist'; entries: [string, Value][] }
  | { t: 'deep'; depth: number }
  | { t: 'empty' }
  | { t: 'wrong'; json: unknown }

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
const inInt64 = (text: string): boolean => {
  const n = BigInt(text)
  return n >= INT64_MIN && n <= INT64_MAX
}

const int = (text: string, literal = false): Value => ({ t: 'int', text, literal })
export const intOf = (n: number): Value => int(String(n))
export const stringOf = (s: string): Value => ({ t: 'string', s })
const intValue: fc.Arbitrary<Value> = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }).map((n) => int(String(n))),
  fc.bigInt(INT64_MIN, INT64_MAX).map((n) => int(String(n))),
  // Beyond 2^53 as a bare JSON number: to be kept exact, not rounded.
  fc.bigInt(2n ** 53n + 1n, INT64_MAX).map((n) => int(String(n), true)),
  fc
    .constantFrom('9223372036854775807', '-9223372036854775808', '9223372036854775808', '-0')
    .map((t) => int(t)),
)

/** Any double, the ones JSON cannot write (NaN, the infinities, -0) often. */
export const double: fc.Arbitrary<number> = fc.oneof(
  { weight: 3, arbitrary: fc.double() },
  {
    weight: 1,
    arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, -0, 5e-324, 1.7976931348623157e308),
  },
)

const scalar: fc.Arbitrary<Value> = fc.oneof(
  { weight: 4, arbitrary: text.map((s): Value => ({ t: 'string', s })) },
  { weight: 1, arbitrary: fc.boolean().map((b): Value => ({ t: 'bool', b })) },
  { weight: 2, arbitrary: intValue },
  { weight: 2, arbitrary: double.map((d): Value => ({ t: 'double', d })) },
  {
    weight: 1,
    arbitrary: fc
      .uint8Array({ maxLength: 12 })
      .map((b): Value => ({ t: 'bytes', b64: Buffer.from(b).toString('base64') })),
  },
  { weight: 1, arbitrary: fc.constant<Value>({ t: 'empty' }) },
)

/** JSON values OTLP does not allow where a value is (each a poison). */
const WRONG: unknown[] = [
  { stringValue: 5 },
  { intValue: 'abc' },
  { intValue: 1.5 },
  { intValue: true },
  { boolValue: 'yes' },
  { doubleValue: 'x' },
  { bytesValue: 5 },
  { bytesValue: '!!not base64' },
  { arrayValue: 5 },
  { kvlistValue: { values: 'x' } },
  'text',
  42,
  [],
]

/** Nested values, now and then of a wrong type. */
const nested: fc.Arbitrary<Value> = fc.letrec<{ v: Value }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 8, arbitrary: scalar },
    {
      weight: 1,
      arbitrary: fc
        .array(tie('v'), { maxLength: 3 })
        .map((values): Value => ({ t: 'array', values })),
    },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.tuple(attributeKey, tie('v')), { maxLength: 3 })
        .map((entries): Value => ({ t: 'kvlist', entries })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...WRONG).map((json): Value => ({ t: 'wrong', json })),
    },
  ),
})).v

/** Any value; now and then kvlists nested to the limit, past it, or past any stack. */
export const value: fc.Arbitrary<Value> = fc.oneof(
  { weight: 150, arbitrary: nested },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(8, 8, 100, 512, 513, 2000, 5000)
      .map((depth): Value => ({ t: 'deep', depth })),
  },
)

/** Deepest value the collector promises to take (README: nested deeper than 512 levels). */
const MAX_DEPTH = 512

/**
 * Whether a value may be refused: an integer beyond 64 bits, nesting past the limit, a wrong
 * type. A value with none of these must be stored; text cut mid-pair too, read as U+FFFD.
 */
export function poisoned(v: Value): boolean {
  switch (v.t) {
    case 'int':
      return !inInt64(v.text)
    case 'array':
      return v.values.some(poisoned)
    case 'kvlist':
      return v.entries.some(([, x]) => poisoned(x))
    case 'deep':
      return v.depth > MAX_DEPTH
    case 'wrong':
      return true
    default:
      return false
  }
}

/** Marks what the fuzz does not predict (a value of the wrong type, read as the collector sees fit). */
export const UNCHECKED = Symbol('unchecked')
export type Expected = TypedValue | typeof UNCHECKED

const dict = <T>(): Record<string, T> => Object.create(null) as Record<string, T>

/** The value as the query API must give it back (README: Attribute values). */
export function expected(v: Value, enc: Encoding): Expected {
  switch (v.t) {
    case 'string':
      return readBack(v.s, enc)
    case 'bool':
      return v.b
    case 'int':
      return inInt64(v.text) ? typedInt(BigInt(v.text).toString()) : UNCHECKED
    case 'double':
      return typedDouble(v.d)
    case 'bytes':
      return { bytes: v.b64 }
    case 'empty':
      return null
    case 'wrong':
      return UNCHECKED
    case 'array': {
      const values = v.values.map((x) => expected(x, enc))
      return values.includes(UNCHECKED) ? UNCHECKED : (values as TypedValue[])
    }
    case 'kvlist': {
      const o = dict<TypedValue>()
      for (const [key, x] of v.entries) {
        const k = readBack(key, enc)
        // As OTLP readers do: an entry without a key is left out, a repeated key keeps its first.
        if (k === '' || Object.hasOwn(o, k)) continue
        const e = expected(x, enc)
        if (e === UNCHECKED) return UNCHECKED
        o[k] = e
      }
      return typedKvlist(o)
    }
    case 'deep': {
      if (v.depth > MAX_DEPTH) return UNCHECKED
      let e: TypedValue = 'bottom'
      for (let i = 0; i < v.depth; i++) {
        const o = dict<TypedValue>()
        o.d = e
        e = o
      }
      return e
    }
  }
}

/** Builds one JSON body, with `Raw` text spliced in after `JSON.stringify`. */
export class JsonText {
  private readonly fragments: string[] = []
  raw(text: string): string {
    this.fragments.push(text)
    return `@@raw${this.fragments.length - 1}@@`
  }
  stringify(o: unknown): string {
    return JSON.stringify(o).replace(/"@@raw(\d+)@@"/g, (_, i: string) => this.fragments[+i]!)
  }
}

const deepJson = (depth: number): string =>
  '{"kvlistValue":{"values":[{"key":"d","value":'.repeat(depth) +
  '{"stringValue":"bottom"}' +
  '}]}}'.repeat(depth)

/** The value as OTLP/JSON's AnyValue (with `Raw` text where JSON.stringify cannot write it). */
export function jsonValue(v: Value, out: JsonText): unknown {
  switch (v.t) {
    case 'string':
      return { stringValue: v.s }
    case 'bool':
      return { boolValue: v.b }
    case 'int':
      return { intValue: v.literal ? out.raw(v.text) : v.text }
    case 'double':
      if (Object.is(v.d, -0)) return { doubleValue: out.raw('-0') }
      return { doubleValue: Number.isFinite(v.d) ? v.d : String(v.d) }
    case 'bytes':
      return { bytesValue: v.b64 }
    case 'array':
      return { arrayValue: { values: v.values.map((x) => jsonValue(x, out)) } }
    case 'kvlist':
      return {
        kvlistValue: { values: v.entries.map(([key, x]) => ({ key, value: jsonValue(x, out) })) },
      }
    case 'deep':
      return out.raw(deepJson(v.depth))
    case 'empty':
      return {}
    case 'wrong':
      return v.json
  }
}

/** The value in protobufjs' object form; `deep` and `wrong` have none (see `protoAttributes`). */
export function protoValue(v: Value): object {
  switch (v.t) {
    case 'string':
      return { stringValue: v.s }
    case 'bool':
      return { boolValue: v.b }
    case 'int':
      return { intValue: v.text }
    case 'double':
      return { doubleValue: v.d }
    case 'bytes':
      return { bytesValue: Buffer.from(v.b64, 'base64') }
    case 'array':
      return { arrayValue: { values: v.values.map(protoValue) } }
    case 'kvlist':
      return {
        kvlistValue: { values: v.entries.map(([key, x]) => ({ key, value: protoValue(x) })) },
      }
    case 'deep': {
      let o: object = { stringValue: 'bottom' }
      for (let i = 0; i < v.depth; i++) o = { kvlistValue: { values: [{ key: 'd', value: o }] } }
      return o
    }
    case 'wrong':
    case 'empty':
      return {}
  }
}

/**
 * The value as protobuf can carry it: no wrong JSON types, no 65-bit integers, and nesting
 * within protobufjs' recursion (some 600 levels inside a list; `top` for the value itself).
 */
function protoSafe(v: Value, top: number): Value {
  switch (v.t) {
    case 'int':
      return inInt64(v.text) ? v : { t: 'int', text: '-1', literal: false }
    case 'wrong':
      return { t: 'empty' }
    case 'array':
      return { t: 'array', values: v.values.map((x) => protoSafe(x, 600)) }
    case 'kvlist':
      return { t: 'kvlist', entries: v.entries.map(([k, x]) => [k, protoSafe(x, 600)]) }
    case 'deep':
      return v.depth > top ? { t: 'deep', depth: top } : v
    default:
      return v
  }
}

/** Deepest value protobufjs encodes at the top of an attribute (`protoAttributes` appends deeper). */
const ENCODABLE_DEPTH = 2000

/**
 * A value as `enc` carries it, to render and expect: for protobuf, what `protoSafe` leaves;
 * `appendable` when the item takes a deeper value as bytes appended (`protoAttributes`).
 */
export const carried = (v: Value, enc: Encoding, appendable = true): Value =>
  enc === 'json' ? v : protoSafe(v, appendable ? Infinity : ENCODABLE_DEPTH)

// --- attributes

export type Attr = [key: string, value: Value]

/** What keys that differ only where a lone surrogate was would read back as: one key. */
const keyIdentity = ([k]: Attr): string => k.toWellFormed().replaceAll('\uFFFD', '')

export const attributes = (maxLength = 4): fc.Arbitrary<Attr[]> =>
  fc.uniqueArray(fc.tuple(attributeKey, value), { maxLength, selector: keyIdentity })

/** Attributes an item may be refused for (see `poisoned`); an empty key is dropped, not refused. */
export const attrsPoisoned = (attrs: Attr[]): boolean =>
  attrs.some(([k, v]) => k === '' || poisoned(v))

/** Attributes as `enc` carries them (see `carried`). */
export const carriedAttributes = (attrs: Attr[], enc: Encoding, appendable = true): Attr[] =>
  attrs.map(([k, v]) => [k, carried(v, enc, appendable)])

export const jsonAttributes = (attrs: Attr[], out: JsonText): object[] =>
  attrs.map(([key, v]) => ({ key, value: jsonValue(v, out) }))

/**
 * Carried attributes (`carriedAttributes`) in protobufjs' object form, but for values nested
 * past what protobufjs encodes: those come as KeyValue bytes, to be appended to the item.
 */
export function protoAttributes(attrs: Attr[]): { objects: object[]; raw: Buffer[] } {
  const objects: object[] = []
  const raw: Buffer[] = []
  for (const [key, v] of attrs) {
    if (v.t === 'deep' && v.depth > ENCODABLE_DEPTH) raw.push(deepKeyValue(key, v.depth))
    else objects.push({ key, value: protoValue(v) })
  }
  return { objects, raw }
}

/** Carried attributes as the query API must give them back, by key. */
export function expectedAttributes(attrs: Attr[], enc: Encoding): Record<string, Expected> {
  const out = dict<Expected>()
  for (const [key, v] of attrs) {
    const k = readBack(key, enc)
    if (k === '' || Object.hasOwn(out, k)) continue
    out[k] = expected(v, enc)
  }
  return out
}

// --- IDs and times

/** IDs as lowercase hex, never all zeroes. */
export const hexId = (bytes: number): fc.Arbitrary<string> =>
  fc
    .uint8Array({ minLength: bytes, maxLength: bytes })
    .map((b) => Buffer.from(b).toString('hex'))
    .filter((h) => !/^0+$/.test(h))

const isoNanos = (iso: string): string => (BigInt(Date.parse(iso)) * 1_000_000n).toString()

/**
 * Unix ns texts no item may carry: missing, before 1970 or past 2262-04-11 (issue 16's
 * instants), beyond 64 bits, not a number. `retention` stands for 8 days ago.
 */
export const BAD_TIMES = [
  '0',
  isoNanos('9999-12-31T23:59:59Z'),
  isoNanos('0000-01-01T00:00:00Z'),
  isoNanos('1900-01-01T00:00:00Z'),
  isoNanos('1969-12-31T23:59:59Z'),
  isoNanos('2262-04-12T00:00:00Z'),
  '18446744073709551615',
  '18446744073709551616',
  '99999999999999999999',
  '1e18',
  'retention',
]

/**
 * A time as sent: OTLP/JSON sends the text; protobuf a fixed64, which holds the text
 * modulo 2^64 (a negative time is what an exporter computing in int64 would send).
 */
export function sentTime(t: string, now: bigint, enc: Encoding): string | undefined {
  const text = t === 'retention' ? (now - 8n * 86_400_000_000_000n).toString() : t
  if (enc === 'json') return text
  if (!/^-?\d+$/.test(text)) return undefined
  return BigInt.asUintN(64, BigInt(text)).toString()
}
