import { InvalidField } from './invalid-field.js'
import { typedAnyValue } from './typed-value.js'
import type { Id, Int64, KeyValue } from './types.js'

export { InvalidField } from './invalid-field.js'

/**
 * A trace or span ID, checked: raw bytes as they came (protobuf), lowercase hex text
 * (OTLP/JSON), or '' when absent. Bytes of the wrong length, non-hex text or an all-zero ID
 * (invalid per W3C trace context) are refused.
 */
export function checkId(
  id: Id | null | undefined,
  bytes: 16 | 8,
  field: string,
): Uint8Array | string {
  if (id === null || id === undefined || id.length === 0) return ''
  if (typeof id === 'string') {
    if (id.length !== bytes * 2 || !/^[0-9a-fA-F]+$/.test(id)) {
      throw new InvalidField(
        `${field} must be ${bytes * 2} hex characters, got ${JSON.stringify(id)}`,
      )
    }
    if (/^0+$/.test(id)) throw new InvalidField(`${field} must not be all zeroes`)
    return id.toLowerCase()
  }
  if (id.length !== bytes) {
    throw new InvalidField(`${field} must be ${bytes} bytes, got ${id.length}`)
  }
  let zero = true
  for (let i = 0; i < id.length && zero; i++) zero = id[i] === 0
  if (zero) throw new InvalidField(`${field} must not be all zeroes`)
  return id
}

/** A trace or span ID as lowercase hex, '' when absent (see `checkId`). */
export function hexId(id: Id | null | undefined, bytes: 16 | 8, field: string): string {
  const checked = checkId(id, bytes, field)
  if (typeof checked === 'string') return checked
  return Buffer.from(checked.buffer, checked.byteOffset, checked.byteLength).toString('hex')
}

const TWO_32 = 4294967296n
const UINT64_MAX = 2n ** 64n - 1n
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/**
 * Only protobufjs hands over an object for a 64-bit field (a Long's two halves); in
 * OTLP/JSON an object there is a wrong type, not the number zero.
 */
function checkHalves(v: { low: unknown; high: unknown }, field: string): void {
  if (typeof v.low !== 'number' || typeof v.high !== 'number') {
    throw new InvalidField(`${field} must be an integer`)
  }
}

/** A 64-bit unsigned integer (time in ns, counts) as a decimal string, exactly. */
export function uint64(v: Int64 | null | undefined, field: string): string {
  if (v === null || v === undefined) return '0'
  if (typeof v === 'object') {
    checkHalves(v, field)
    if (v.high === 0) return String(v.low >>> 0)
    const n = (BigInt(v.high >>> 0) * TWO_32 + BigInt(v.low >>> 0)).toString()
    return n
  }
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new InvalidField(`${field} must be a non-negative integer (send it as a string)`)
    }
    return String(v)
  }
  // Twenty digits can exceed 64 bits, and the halves would wrap (99999999999999999999: 2216).
  if (
    typeof v !== 'string' ||
    !/^\d{1,20}$/.test(v) ||
    (v.length === 20 && BigInt(v) > UINT64_MAX)
  ) {
    throw new InvalidField(
      `${field} must be an unsigned integer below 2^64, got ${JSON.stringify(v)}`,
    )
  }
  return v.replace(/^0+(?=\d)/, '')
}

/** A 64-bit unsigned integer (time in ns) as a bigint, for binary columns. */
export function uint64Big(v: Int64 | null | undefined, field: string): bigint {
  if (v === null || v === undefined) return 0n
  if (typeof v === 'object') return (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0)
  return BigInt(uint64(v, field))
}

/** A 64-bit integer as protobufjs decodes it: two 32-bit halves. */
export interface Halves {
  low: number
  high: number
}

const LATEST_TIME = 'is later than 2262-04-11, the latest time Reckon stores'

/**
 * Unix nanoseconds as halves, for binary columns without BigInt arithmetic: protobuf's Long
 * passes through, OTLP/JSON text is converted. Times past DateTime64's range are refused.
 */
export function timeHalves(v: Int64 | null | undefined, field: string): Halves {
  let h: Halves
  if (typeof v === 'object' && v !== null) h = v
  else {
    const n = uint64Big(v, field)
    h = { low: Number(n & 0xffffffffn), high: Number(n >> 32n) }
  }
  if (h.high >>> 0 > 0x7fffffff) throw new InvalidField(`${field} ${LATEST_TIME}`)
  return h
}

export const halvesToBigInt = (h: Halves): bigint =>
  (BigInt(h.high >>> 0) << 32n) | BigInt(h.low >>> 0)

/** Unix nanoseconds as a bigint within DateTime64's range. */
export function timeNanos(v: Int64 | null | undefined, field: string): bigint {
  const n = uint64Big(v, field)
  if (n > MAX_DATETIME64_NS) throw new InvalidField(`${field} ${LATEST_TIME}`)
  return n
}

/** A signed 64-bit integer as a decimal string. */
export function int64(v: Int64 | null | undefined, field: string): string {
  if (v === null || v === undefined) return '0'
  if (typeof v === 'object') {
    checkHalves(v, field)
    // Most integers fit in 32 bits: no BigInt needed.
    if (v.high === 0 && v.low >= 0) return String(v.low)
    if (v.high === -1 && v.low < 0 && !v.unsigned) return String(v.low)
    const unsigned = BigInt(v.high >>> 0) * TWO_32 + BigInt(v.low >>> 0)
    const signed = !v.unsigned && v.high < 0 ? unsigned - 2n ** 64n : unsigned
    return signed.toString()
  }
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new InvalidField(`${field} must be an integer`)
    return String(v)
  }
  if (typeof v === 'string' && /^(0|-?[1-9]\d{0,14})$/.test(v)) return v
  // In its one spelling: protobuf stores "-0" as 0, "007" as 7 and 2^63 as -2^63.
  const n = typeof v === 'string' && /^-?\d{1,19}$/.test(v) ? BigInt(v) : undefined
  if (n === undefined || n < INT64_MIN || n > INT64_MAX) {
    throw new InvalidField(`${field} must be an integer, got ${JSON.stringify(v)}`)
  }
  return n.toString()
}

/**
 * A count for a UInt64 column, as exact decimal text: as a JS number, a count past 2^53
 * rounds, and the engine read 2^64 - 1 so rounded as 384.
 */
export function count(v: Int64 | null | undefined, field: string): string {
  return uint64(v, field)
}

/** A double; OTLP/JSON may spell the special values as strings. */
export function double(v: number | string | null | undefined, field: string): number {
  if (v === null || v === undefined) return 0
  if (typeof v === 'number') return v
  if (v === 'NaN') return NaN
  if (v === 'Infinity') return Infinity
  if (v === '-Infinity') return -Infinity
  const n = Number(v)
  if (v.trim() === '' || Number.isNaN(n))
    throw new InvalidField(`${field} must be a number, got ${JSON.stringify(v)}`)
  return n
}

/** Names for the non-string attribute types; string is the default and not recorded. */
export type AttributeType = 'int' | 'double' | 'bool' | 'bytes' | 'array' | 'kvlist' | 'empty'

export interface FlatAttributes {
  /** Every value as text, for filtering (`attr.KEY=VALUE`). */
  values: Record<string, string>
  /** The original type of values that were not strings, so reads give them back typed. */
  types: Record<string, AttributeType>
}

/** Base64 as the protobuf JSON mapping takes it: standard or URL-safe, padded or not. */
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/

/**
 * Bytes as base64 text: decoded from protobuf, or sent as base64 in OTLP/JSON, checked and
 * written the one way the bytes read back (the stored span is encoded from the text).
 */
export function bytesToBase64(b: unknown, field: string): string {
  if (b instanceof Uint8Array)
    return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')
  if (typeof b !== 'string' || !BASE64.test(b) || b.replace(/=+$/, '').length % 4 === 1) {
    throw new InvalidField(`${field} must be base64`)
  }
  return Buffer.from(b, 'base64').toString('base64')
}

/**
 * A double for a Float64 column in a JSON row: JSON has no NaN, infinities or -0
 * (`JSON.stringify` writes null and 0), so those go as the text the engine reads as them.
 */
export function jsonDouble(d: number): number | string {
  if (Number.isNaN(d)) return 'nan'
  if (!Number.isFinite(d)) return d > 0 ? 'inf' : '-inf'
  return Object.is(d, -0) ? '-0' : d
}

/** A double as text that reads back as the same double (`String` writes -0 as "0"). */
export const doubleText = (d: number): string => (Object.is(d, -0) ? '-0' : String(d))

/**
 * Calls `emit` with each attribute as text plus its original type (undefined for strings,
 * the common case). Entries without a key are skipped.
 */
export function visitAttributes(
  kvs: KeyValue[] | null | undefined,
  field: string,
  emit: (key: string, text: string, type: AttributeType | undefined) => void,
): void {
  if (!kvs) return
  if (!Array.isArray(kvs)) throw new InvalidField(`${field} must be a list`)
  for (const kv of kvs) {
    const key = kv?.key
    if (key === undefined || key === null || key === '') {
      // Left out, as readers leave it out; but it is stored in the span as sent, where a
      // value nested past the limit would make the span unreadable.
      if (kv?.value) typedAnyValue(kv.value, `${field} without a key`)
      continue
    }
    if (typeof key !== 'string') throw new InvalidField(`${field} key must be a string`)
    const v = kv.value
    // Strings and protobuf integers first, without building a field name for an error message.
    const s = v?.stringValue
    if (typeof s === 'string') {
      emit(key, s, undefined)
      continue
    }
    const i = v?.intValue
    if (typeof i === 'object' && i !== null) {
      emit(key, int64(i, field), 'int') // a decoded Long is always valid
      continue
    }
    if (!v) emit(key, '', 'empty')
    else if (typeof v !== 'object' || Array.isArray(v)) {
      throw new InvalidField(`${field}.${key} must be an AnyValue object`)
    } else if (v.stringValue !== undefined && v.stringValue !== null) {
      emit(key, str(v.stringValue, `${field}.${key}`), undefined)
    } else if (v.intValue !== undefined && v.intValue !== null) {
      emit(key, int64(v.intValue, `${field}.${key}`), 'int')
    } else if (v.boolValue !== undefined && v.boolValue !== null) {
      emit(key, String(bool(v.boolValue, `${field}.${key}`)), 'bool')
    } else if (v.doubleValue !== undefined && v.doubleValue !== null) {
      emit(key, doubleText(double(v.doubleValue, `${field}.${key}`)), 'double')
    } else if (v.bytesValue !== undefined && v.bytesValue !== null) {
      emit(key, bytesToBase64(v.bytesValue, `${field}.${key}`), 'bytes')
    } else if (v.arrayValue) {
      emit(key, JSON.stringify(typedAnyValue(v, `${field}.${key}`)), 'array')
    } else if (v.kvlistValue) {
      emit(key, JSON.stringify(typedAnyValue(v, `${field}.${key}`)), 'kvlist')
    } else emit(key, '', 'empty')
  }
}

/** Key/values flattened to a string map plus a map of the non-string types. */
export function flattenAttributes(
  kvs: KeyValue[] | null | undefined,
  field = 'attributes',
): FlatAttributes {
  // No prototype: a key such as `__proto__` or `constructor` is just a key.
  const values = Object.create(null) as Record<string, string>
  const types = Object.create(null) as Record<string, AttributeType>
  // OTLP keys are unique; of a repeated one the first is kept, as in stored spans.
  visitAttributes(kvs, field, (key, text, type) => {
    if (Object.hasOwn(values, key)) return
    values[key] = text
    if (type) types[key] = type
  })
  return { values, types }
}

/** The enum value as a number, whether sent as 2 or as "SPAN_KIND_SERVER". */
export function enumValue(
  v: number | string | null | undefined,
  names: readonly string[],
  field: string,
): number {
  if (v === null || v === undefined || v === '') return 0
  // Only the values the OTLP version Reckon reads defines: a value it does not know could
  // mean anything, and would be stored as "Unspecified".
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 0 && v < names.length) return v
  } else {
    const i = names.indexOf(v)
    if (i >= 0) return i
    if (/^\d{1,3}$/.test(v) && Number(v) < names.length) return Number(v)
  }
  throw new InvalidField(`${field} has an unknown value ${JSON.stringify(v)}`)
}

/** A bool field; in OTLP/JSON, "yes" is no bool (protobuf would store it as true). */
export function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw new InvalidField(`${field} must be true or false`)
  return v
}

/** A string field; OTLP/JSON could send anything, so check rather than trust. */
export function str(v: unknown, field: string): string {
  if (v === null || v === undefined) return ''
  if (typeof v !== 'string') throw new InvalidField(`${field} must be a string`)
  return v
}

/** A small unsigned integer field (flags, dropped counts). */
export function uint32(v: unknown, field: string): number {
  if (v === null || v === undefined) return 0
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff) return v
  if (typeof v === 'string' && /^\d{1,10}$/.test(v) && Number(v) <= 0xffffffff) return Number(v)
  throw new InvalidField(`${field} must be an unsigned 32-bit integer`)
}

/** A signed 32-bit integer field (exponential histogram scale and offsets). */
export function int32(v: unknown, field: string): number {
  if (v === null || v === undefined) return 0
  if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= 0x7fffffff) return v
  throw new InvalidField(`${field} must be a 32-bit integer`)
}

const MAX_DATETIME64_NS = 9223372036854775807n

/**
 * Unix nanoseconds as DateTime64(9) text for JSON rows: always 19 digits, because the
 * engine reads a short digit string as seconds or a year ("1" is 2026-01-01, "0" fails).
 */
export function dateTime64Text(nanos: string, field: string): string {
  if (nanos.length > 19 || (nanos.length === 19 && BigInt(nanos) > MAX_DATETIME64_NS)) {
    throw new InvalidField(`${field} ${LATEST_TIME}`)
  }
  return nanos.padStart(19, '0')
}
