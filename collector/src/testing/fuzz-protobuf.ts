// Protobuf written by hand where an encoder would not write it: values nested past any
// stack, fields that overrun their message, unknown fields, envelopes around items encoded
// one by one, and random byte changes of whole bodies.
import fc from 'fast-check'
import { createRequire } from 'node:module'
import type { Encoding } from './fuzz-values.js'

export function varint(n: number): Buffer {
  const out: number[] = []
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return Buffer.from(out)
}

/** A length-delimited field. */
export const field = (n: number, bytes: Uint8Array): Buffer =>
  Buffer.concat([varint((n << 3) | 2), varint(bytes.length), bytes])

/** An AnyValue of kvlists `depth` deep, outside in from the lengths (concatenating is quadratic). */
export function deepBytes(depth: number): Buffer {
  const bottom = field(1, Buffer.from('bottom')) // AnyValue.string_value
  const prefixes: Buffer[] = []
  let length = bottom.length
  for (let i = 0; i < depth; i++) {
    // KeyValue{key: "d" (3 bytes), value (2)} in KeyValueList.values (1) in AnyValue.kvlist_value (6)
    const kvHead = Buffer.concat([Buffer.from([0x0a, 0x01, 0x64, 0x12]), varint(length)])
    length += kvHead.length
    const listHead = Buffer.concat([Buffer.from([0x0a]), varint(length)])
    length += listHead.length
    const anyHead = Buffer.concat([Buffer.from([0x32]), varint(length)])
    length += anyHead.length
    prefixes.push(kvHead, listHead, anyHead)
  }
  return Buffer.concat([...prefixes.reverse(), bottom])
}

/** A KeyValue whose value is `deepBytes(depth)`. */
export const deepKeyValue = (key: string, depth: number): Buffer =>
  Buffer.concat([field(1, Buffer.from(key)), field(2, deepBytes(depth))])

/** An unknown length-delimited field whose length runs `past` bytes beyond what follows it. */
export const overrun = (past: number): Buffer =>
  Buffer.concat([varint((99 << 3) | 2), varint(past)])

/** Unknown fields within their bounds (a varint and a length-delimited one): to be skipped. */
export const unknownFields = (): Buffer =>
  Buffer.concat([varint(98 << 3), varint(123456), field(97, Buffer.from('unknown'))])

export interface Codec {
  fromObject(o: object): unknown
  encode(m: unknown): { finish(): Uint8Array }
}
interface OtlpRoot {
  opentelemetry: {
    proto: {
      common: { v1: { InstrumentationScope: Codec } }
      resource: { v1: { Resource: Codec } }
      trace: { v1: { Span: Codec } }
      logs: { v1: { LogRecord: Codec } }
      metrics: { v1: { Metric: Codec } }
    }
  }
}
const proto = (
  createRequire(import.meta.url)('otlp-proto-definitions/build/src/generated/root.js') as OtlpRoot
).opentelemetry.proto

export const Codecs = {
  resource: proto.resource.v1.Resource,
  scope: proto.common.v1.InstrumentationScope,
  span: proto.trace.v1.Span,
  logRecord: proto.logs.v1.LogRecord,
  metric: proto.metrics.v1.Metric,
}

export const encodeWith = (codec: Codec, o: object): Buffer =>
  Buffer.from(codec.encode(codec.fromObject(o)).finish())

/**
 * An Export*ServiceRequest around encoded items: all three nest the same way, request (1)
 * → resource item (1: resource, 2: scope items) → scope item (1: scope, 2: items).
 */
export function envelope(resource: object, scope: object, items: Buffer[]): Buffer {
  const scopeItem = Buffer.concat([
    field(1, encodeWith(Codecs.scope, scope)),
    ...items.map((i) => field(2, i)),
  ])
  return field(
    1,
    Buffer.concat([field(1, encodeWith(Codecs.resource, resource)), field(2, scopeItem)]),
  )
}

// --- mutations of valid protobuf bodies

export type Mutation =
  | { op: 'set'; at: number; byte: number }
  | { op: 'flip'; at: number; bit: number }
  | { op: 'delete'; at: number; length: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'truncate'; at: number }

export const mutations: fc.Arbitrary<Mutation[]> = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.nat(255) }),
    fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
    fc.record({
      op: fc.constant('delete' as const),
      at: fc.nat(),
      length: fc.integer({ min: 1, max: 8 }),
    }),
    fc.record({
      op: fc.constant('insert' as const),
      at: fc.nat(),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
    }),
    fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  ),
  { minLength: 1, maxLength: 4 },
)

/** `body` with each mutation applied at its offset (modulo the length at that point). */
export function mutate(body: Buffer, ops: Mutation[]): Buffer {
  let b = Buffer.from(body)
  for (const m of ops) {
    if (b.length === 0) break
    const at = m.at % b.length
    switch (m.op) {
      case 'set':
        b[at] = m.byte
        break
      case 'flip':
        b[at] = b[at]! ^ (1 << m.bit)
        break
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.length)])
        break
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)])
        break
      case 'truncate':
        b = b.subarray(0, at)
        break
    }
  }
  return b
}

/** For protobuf, now and then mutations of the body (checked as a whole, not item by item). */
export const maybeMutated = (enc: Encoding): fc.Arbitrary<Mutation[] | undefined> =>
  enc === 'protobuf'
    ? fc.oneof(
        { weight: 4, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: mutations },
      )
    : fc.constant(undefined)
