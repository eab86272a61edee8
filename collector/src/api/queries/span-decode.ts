// A stored span is decoded on its own, so one that cannot be (bytes stored before ingest
// checked every item's bounds, values nested past any stack) costs the trace view that span's
// bad fields, never the trace.
import protobuf from 'protobufjs'
import { SpanCodec } from '../../otlp-to-native/proto.js'
import type { Span } from '../../otlp-to-native/types.js'

/** Span's fields by number (opentelemetry/proto/trace/v1/trace.proto), for warnings. */
const FIELD_NAMES: Record<number, string> = {
  1: 'traceId',
  2: 'spanId',
  3: 'traceState',
  4: 'parentSpanId',
  5: 'name',
  6: 'kind',
  7: 'startTimeUnixNano',
  8: 'endTimeUnixNano',
  9: 'attributes',
  10: 'droppedAttributesCount',
  11: 'events',
  12: 'droppedEventsCount',
  13: 'links',
  14: 'droppedLinksCount',
  15: 'status',
  16: 'flags',
}
const REPEATED = new Set(['attributes', 'events', 'links'])

export interface DecodedSpan {
  span: Span
  /** What could not be decoded, for the view's decode warning; empty when all was. */
  problems: string[]
}

const describe = (err: unknown): string => (err instanceof Error ? err.message : String(err))

/** Decodes a stored span; when the whole fails, every top-level field on its own. */
export function decodeStoredSpan(bytes: Uint8Array): DecodedSpan {
  try {
    return { span: SpanCodec.decode(bytes), problems: [] }
  } catch (err) {
    return salvage(bytes, describe(err))
  }
}

/**
 * A message is the concatenation of its fields, so each field is a message of its own: each
 * is decoded alone and the parts merged (repeated fields appended, as protobuf merges).
 * Framing that breaks (a length past the end) ends the span there.
 */
function salvage(bytes: Uint8Array, whole: string): DecodedSpan {
  const span: Span & Record<string, unknown> = {}
  const problems: string[] = []
  const reader = protobuf.Reader.create(bytes)
  while (reader.pos < reader.len) {
    const at = reader.pos
    let number = 0
    try {
      const tag = reader.uint32()
      number = tag >>> 3
      if (number === 0) throw new Error('field number 0')
      reader.skipType(tag & 7)
    } catch (err) {
      problems.push(
        `the bytes from offset ${at} are not a field within the span (${describe(err)})`,
      )
      break
    }
    const name = FIELD_NAMES[number]
    if (name === undefined) continue // a field this version does not know
    try {
      const part = SpanCodec.decode(bytes.subarray(at, reader.pos)) as unknown as Record<
        string,
        unknown
      >
      const value = part[name]
      if (REPEATED.has(name)) {
        const list = (span[name] as unknown[] | undefined) ?? []
        list.push(...((value as unknown[] | undefined) ?? []))
        span[name] = list
      } else span[name] = value
    } catch (err) {
      const what = name === 'attributes' ? `attribute ${attributeKey(bytes, at, reader.pos)}` : name
      problems.push(`${what} at offset ${at} could not be decoded (${describe(err)})`)
    }
  }
  if (problems.length === 0) problems.push(`the span could not be decoded whole (${whole})`)
  return { span, problems }
}

/** The key of the attribute (a KeyValue, key first) in bytes[start, end), or "?". */
function attributeKey(bytes: Uint8Array, start: number, end: number): string {
  try {
    const reader = protobuf.Reader.create(bytes.subarray(start, end))
    reader.uint32() // the attribute's tag
    const kvEnd = reader.uint32() + reader.pos
    while (reader.pos < kvEnd) {
      const tag = reader.uint32()
      if (tag === ((1 << 3) | 2)) return JSON.stringify(reader.string())
      reader.skipType(tag & 7)
    }
  } catch {
    // Then the key is not readable either.
  }
  return '?'
}
