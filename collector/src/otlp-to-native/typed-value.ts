// The one JSON form every attribute value (and log body) is read back in, on every signal:
// plain JSON where JSON alone says what the OTLP type was, a one-key tag where it cannot.
//
//   string, bool           "text", true
//   int                    3 (a JSON number without a fraction), {"int": "9007199254740993"}
//                          beyond ±(2^53 - 1), where a JSON number would round
//   double                 2.5 (a JSON number with a fraction), {"double": 2} when integral,
//                          {"double": "NaN" | "Infinity" | "-Infinity" | "-0"}
//   bytes                  {"bytes": "<base64>"}
//   array                  [ …typed values ]
//   kvlist                 { "key": typed value, … }, or {"kvlist": { … }} when its only key
//                          is one of the tags (int, double, bytes, kvlist)
//   empty (no value)       null
//
// Objects are built without a prototype, so a key spelled `__proto__` or `constructor` is a
// key like any other. Stored text forms (the string maps beside their type maps) hold arrays
// and kvlists in this form too, so they read back typed.
import type { AnyValue, KeyValue } from './types.js'
import { InvalidField } from './invalid-field.js'
import {
  bool,
  bytesToBase64,
  double,
  int64,
  type AttributeType,
  type FlatAttributes,
} from './values.js'

export type TypedValue = string | number | boolean | null | TypedValue[] | TypedObject
export interface TypedObject {
  [key: string]: TypedValue
}

/**
 * Deepest nesting read back. Deeper values (only ever stored before ingest refused them)
 * are left out with a decode warning rather than let a read run out of stack.
 */
export const MAX_READ_DEPTH = 512

/** A value nested deeper than `MAX_READ_DEPTH`; at ingest, the item is refused for it. */
export class TooDeep extends InvalidField {
  override name = 'TooDeep'
  constructor() {
    super(`nested deeper than ${MAX_READ_DEPTH} levels`)
  }
}

const TAGS = new Set(['int', 'double', 'bytes', 'kvlist'])

/** An object without a prototype: every key, whatever its spelling, is data. */
export const dict = <T>(): Record<string, T> => Object.create(null) as Record<string, T>

/** An int64, given as exact decimal text. */
export function typedInt(text: string): TypedValue {
  const n = Number(text)
  return Number.isSafeInteger(n) ? n : { int: text }
}

export function typedDouble(d: number): TypedValue {
  if (Number.isNaN(d) || !Number.isFinite(d)) return { double: String(d) }
  if (Object.is(d, -0)) return { double: '-0' }
  return Number.isInteger(d) ? { double: d } : d
}

export function typedBytes(base64: string): TypedValue {
  return { bytes: base64 }
}

/** A kvlist's object, wrapped when it would read as a tag. */
export function typedKvlist(o: TypedObject): TypedValue {
  const keys = Object.keys(o)
  if (keys.length === 1 && TAGS.has(keys[0]!)) {
    const wrapped = dict<TypedValue>()
    wrapped.kvlist = o
    return wrapped
  }
  return o
}

/** An OTLP AnyValue in the typed form; `field` names it in errors. */
export function typedAnyValue(
  v: AnyValue | null | undefined,
  field = 'value',
  depth = 0,
): TypedValue {
  if (depth > MAX_READ_DEPTH) throw new TooDeep()
  if (!v) return null
  // OTLP/JSON can send anything where a value is: only an object is one.
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new InvalidField(`${field} must be an AnyValue object`)
  }
  if (v.stringValue !== undefined && v.stringValue !== null) {
    if (typeof v.stringValue !== 'string') throw new InvalidField(`${field} must be a string`)
    return v.stringValue
  }
  if (v.boolValue !== undefined && v.boolValue !== null) return bool(v.boolValue, field)
  if (v.intValue !== undefined && v.intValue !== null) return typedInt(int64(v.intValue, field))
  if (v.doubleValue !== undefined && v.doubleValue !== null) {
    return typedDouble(double(v.doubleValue, field))
  }
  if (v.arrayValue) {
    return list(v.arrayValue.values, field).map((x) => typedAnyValue(x, field, depth + 1))
  }
  if (v.kvlistValue) return typedKvlist(typedKeyValues(v.kvlistValue.values, field, depth + 1))
  if (v.bytesValue !== undefined && v.bytesValue !== null) {
    return typedBytes(bytesToBase64(v.bytesValue, field))
  }
  return null
}

/** A repeated field, which OTLP/JSON could send as anything. */
function list<T>(values: T[] | null | undefined, field: string): T[] {
  if (values === null || values === undefined) return []
  if (!Array.isArray(values)) throw new InvalidField(`${field} must hold a list of values`)
  return values
}

/** Key/values as an object of typed values. Of a repeated key the first is kept, as stored. */
export function typedKeyValues(
  kvs: KeyValue[] | null | undefined,
  field = 'attributes',
  depth = 0,
): TypedObject {
  const out = dict<TypedValue>()
  for (const kv of list(kvs, field)) {
    const key = kv?.key
    if (!key || Object.hasOwn(out, key)) {
      // Left out of the view; but checked, as it is kept in the stored span.
      if (kv?.value) typedAnyValue(kv.value, field, depth)
      continue
    }
    out[key] = typedAnyValue(kv.value, `${field}.${key}`, depth)
  }
  return out
}

/** A value kept as text beside its type (see `flattenAttributes`), typed again. */
export function typedFromText(text: string, type: string | undefined): TypedValue {
  switch (type as AttributeType | undefined) {
    case 'int':
      return typedInt(text)
    case 'double':
      return typedDouble(text === '-0' ? -0 : Number(text))
    case 'bool':
      return text === 'true'
    case 'bytes':
      return typedBytes(text)
    case 'array':
    case 'kvlist':
      return JSON.parse(text) as TypedValue
    case 'empty':
      return null
    default:
      return text
  }
}

/** A stored string map and its type map as an object of typed values. */
export function typedMap(
  values: Record<string, string>,
  types: Record<string, string> | undefined,
): TypedObject {
  const out = dict<TypedValue>()
  for (const key of Object.keys(values)) {
    const type = types !== undefined && Object.hasOwn(types, key) ? types[key] : undefined
    out[key] = typedFromText(values[key]!, type)
  }
  return out
}

const INT64 = /^-?\d{1,19}$/
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
const SPECIAL_DOUBLES: Record<string, number> = {
  NaN: NaN,
  Infinity: Infinity,
  '-Infinity': -Infinity,
  '-0': -0,
}

/** Which tag a one-key object is, if it is one. */
function tagOf(o: object): string | undefined {
  const keys = Object.keys(o)
  return keys.length === 1 && TAGS.has(keys[0]!) ? keys[0] : undefined
}

/**
 * A value sent in the typed form (POST /v1/events attributes), checked and put back in the
 * canonical form: what `typedAnyValue` would give for the AnyValue it stands for.
 */
export function canonicalTyped(v: unknown, field: string, depth = 0): TypedValue {
  if (depth > MAX_READ_DEPTH) throw new InvalidField(`${field} is ${new TooDeep().message}`)
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new InvalidField(`${field} must be a finite number`)
    if (!Number.isInteger(v)) return v
    if (!Number.isSafeInteger(v)) {
      throw new InvalidField(`${field}: integers beyond 2^53 are sent as {"int": "<digits>"}`)
    }
    return v
  }
  if (Array.isArray(v)) return v.map((x, i) => canonicalTyped(x, `${field}[${i}]`, depth + 1))
  if (typeof v !== 'object') throw new InvalidField(`${field} is not an attribute value`)
  const o = v as Record<string, unknown>
  switch (tagOf(o)) {
    case 'int': {
      const text = o.int
      if (
        typeof text !== 'string' ||
        !INT64.test(text) ||
        BigInt(text) !== BigInt.asIntN(64, BigInt(text))
      ) {
        throw new InvalidField(`${field}.int must be a 64-bit integer as text`)
      }
      return typedInt(BigInt(text).toString())
    }
    case 'double': {
      const d = o.double
      if (typeof d === 'number' && Number.isFinite(d)) return typedDouble(d)
      if (typeof d === 'string' && Object.hasOwn(SPECIAL_DOUBLES, d)) {
        return typedDouble(SPECIAL_DOUBLES[d]!)
      }
      throw new InvalidField(
        `${field}.double must be a number, "NaN", "Infinity", "-Infinity" or "-0"`,
      )
    }
    case 'bytes':
      if (typeof o.bytes !== 'string' || o.bytes.length % 4 !== 0 || !BASE64.test(o.bytes)) {
        throw new InvalidField(`${field}.bytes must be base64`)
      }
      return typedBytes(o.bytes)
    case 'kvlist':
      if (typeof o.kvlist !== 'object' || o.kvlist === null || Array.isArray(o.kvlist)) {
        throw new InvalidField(`${field}.kvlist must be an object`)
      }
      return typedKvlist(canonicalObject(o.kvlist as Record<string, unknown>, field, depth + 1))
    default:
      return typedKvlist(canonicalObject(o, field, depth + 1))
  }
}

function canonicalObject(o: Record<string, unknown>, field: string, depth: number): TypedObject {
  const out = dict<TypedValue>()
  for (const key of Object.keys(o)) out[key] = canonicalTyped(o[key], `${field}.${key}`, depth)
  return out
}

/** A typed value as `flattenAttributes` stores it: text, and its type unless a string. */
export function storedText(v: TypedValue): { text: string; type?: AttributeType } {
  if (typeof v === 'string') return { text: v }
  if (typeof v === 'boolean') return { text: String(v), type: 'bool' }
  if (v === null) return { text: '', type: 'empty' }
  if (typeof v === 'number') {
    return Number.isInteger(v)
      ? { text: String(v), type: 'int' }
      : { text: String(v), type: 'double' }
  }
  if (Array.isArray(v)) return { text: JSON.stringify(v), type: 'array' }
  switch (tagOf(v)) {
    case 'int':
      return { text: v.int as string, type: 'int' }
    case 'double': {
      const d = v.double as number | string // canonical: a number or a special's name
      return { text: typeof d === 'number' ? String(d) : d, type: 'double' }
    }
    case 'bytes':
      return { text: v.bytes as string, type: 'bytes' }
    default:
      return { text: JSON.stringify(v), type: 'kvlist' }
  }
}

/** Attributes sent in the typed form, checked, as the string and type maps keep them. */
export function flattenTyped(o: Record<string, unknown>, field = 'attributes'): FlatAttributes {
  const values = dict<string>()
  const types = dict<AttributeType>()
  for (const key of Object.keys(o)) {
    if (key === '') throw new InvalidField(`${field} keys must not be empty`)
    const { text, type } = storedText(canonicalTyped(o[key], `${field}.${key}`))
    values[key] = text
    if (type) types[key] = type
  }
  return { values, types }
}
