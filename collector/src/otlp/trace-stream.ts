// Decoding a whole ExportTraceServiceRequest first keeps every span of it alive (~60 objects
// a span) until the last is converted, and the young-generation GC copies them all, often
// twice. Here the envelopes (request → resource spans → scope spans) are walked with
// protobufjs' Reader, and each span is decoded by the generated decoder and converted at
// once: only one span's objects are alive at a time. The messages themselves are still
// decoded by protobufjs; only the three repeated envelope fields are stepped through.
import type protobuf from 'protobufjs'
import { ProtoReader, ResourceCodec, ScopeCodec, SpanCodec } from './proto.js'
import type { SpanConverter } from './traces.js'
import type { Resource, Scope } from './types.js'

type Reader = protobuf.Reader
const LENGTH_DELIMITED = 2

/** Where one embedded message lies in the request. */
interface Range {
  start: number
  length: number
}

/** What to do with each embedded-message field of an envelope, by field number. */
type Handlers = Partial<Record<number, () => void>>

/**
 * Steps through the fields of the message that ends at `end`: a field with a handler must be
 * an embedded message and is read by it; any other field is skipped.
 */
function fields(reader: Reader, end: number, handlers: Handlers): void {
  while (reader.pos < end) {
    const at = reader.pos
    const tag = reader.uint32()
    const field = tag >>> 3
    const wireType = tag & 7
    if (field === 0) throw new Error(`invalid field number 0 at offset ${at}`)
    const handler = handlers[field]
    if (!handler) {
      reader.skipType(wireType)
    } else if (wireType !== LENGTH_DELIMITED) {
      throw new Error(`field ${field} at offset ${at} has wire type ${wireType}, not a message`)
    } else {
      handler()
    }
  }
  if (reader.pos !== end) throw new Error(`a message overruns its length at offset ${end}`)
}

/** Reads a length-delimited field as a range to visit later, and steps past it. */
function range(reader: Reader, end: number): Range {
  const length = reader.uint32()
  const start = reader.pos
  if (start + length > end) throw new Error(`a field overruns its message at offset ${start}`)
  reader.skip(length)
  return { start, length }
}

/**
 * Decodes an OTLP/protobuf ExportTraceServiceRequest into `converter`, span by span. Throws
 * on a body that is not one (nothing is kept from it: the converter is discarded).
 */
export function streamTraces(body: Uint8Array, converter: SpanConverter): void {
  const reader = ProtoReader.create(body)
  const resourceSpans: Range[] = []
  fields(reader, reader.len, { 1: () => resourceSpans.push(range(reader, reader.len)) })
  for (const rs of resourceSpans) {
    // The resource may follow its scope spans on the wire: find it first.
    reader.pos = rs.start
    const end = rs.start + rs.length
    let resource: Resource | undefined
    const scopeSpans: Range[] = []
    fields(reader, end, {
      1: () => (resource = ResourceCodec.decode(reader, reader.uint32())),
      2: () => scopeSpans.push(range(reader, end)),
    })
    converter.beginResource(resource)
    for (const ss of scopeSpans) streamScopeSpans(reader, ss, converter)
  }
}

function streamScopeSpans(reader: Reader, ss: Range, converter: SpanConverter): void {
  reader.pos = ss.start
  const end = ss.start + ss.length
  let scope: Scope | undefined
  const spans: Range[] = []
  fields(reader, end, {
    1: () => (scope = ScopeCodec.decode(reader, reader.uint32())),
    2: () => spans.push(range(reader, end)),
  })
  converter.beginScope(scope)
  for (const span of spans) {
    reader.pos = span.start
    converter.add(SpanCodec.decode(reader, span.length))
  }
}
