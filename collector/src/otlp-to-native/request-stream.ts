// Decoding a whole Export*ServiceRequest first keeps every item of it alive (~60 objects a
// span) until the last is converted: several times the request's size in JS heap.
// Here the envelopes (request → resource spans → scope spans, and the same for logs and
// metrics) are walked with protobufjs' Reader, and each item is decoded by the generated
// decoder and converted at once, so only one item's objects are alive at a time. The
// messages themselves are still decoded by protobufjs; only the envelopes' repeated
// fields are stepped through.
import type protobuf from 'protobufjs'
import { ITEM_LIMITS, TooManyItems } from './arrival.js'
import { InterningReader } from './interning-reader.js'
import { ResourceCodec, ScopeCodec } from './proto.js'
import type { Resource, Scope } from './types.js'

/**
 * Takes a request's items in order, each after the resource and scope it belongs to. All
 * three OTLP requests nest the same way, under the same field numbers: request (1: resource
 * items) → resource items (1: resource, 2: scope items) → scope items (1: scope, 2: item).
 */
export interface RequestSink<Item> {
  /** `schemaUrl`: the resource item's (field 3 of ResourceSpans, ResourceLogs…). */
  beginResource(resource: Resource | null | undefined, schemaUrl: string): void
  /** `schemaUrl`: the scope item's (field 3 of ScopeSpans, ScopeLogs…). */
  beginScope(scope: Scope | null | undefined, schemaUrl: string): void
  add(item: Item): void
  /** An item that could not be read: it is refused with `reason`, the rest go on. */
  reject(reason: string): void
}

/** A generated message decoder, given the reader and the message's length. */
export interface ItemDecoder<Item> {
  decode(reader: protobuf.Reader, length: number): Item
}

/** How one kind of item is read: its decoder, and its lists that are capped. */
export interface ItemKind<Item> {
  /** What an item is called in a refusal ("spans"). */
  plural: string
  decoder: ItemDecoder<Item>
  /** Field numbers of the item's repeated fields that `maxPerItem` caps, and their names. */
  lists: Partial<Record<number, string>>
}

export interface StreamLimits {
  maxItems: number
  maxPerItem: number
}

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
 * Decodes an OTLP/protobuf Export*ServiceRequest into `sink`, item by item. Throws on a body
 * that is not one; the sink then holds part of it and is to be discarded.
 */
export function streamRequest<Item>(
  body: Uint8Array,
  items: ItemKind<Item>,
  sink: RequestSink<Item>,
  limits: StreamLimits = ITEM_LIMITS,
): void {
  const buffer = Buffer.isBuffer(body)
    ? body
    : Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  const reader = new InterningReader(buffer)
  const resourceItems: Range[] = []
  fields(reader, reader.len, { 1: () => resourceItems.push(range(reader, reader.len)) })
  const state = { items: 0 }
  for (const ri of resourceItems) {
    // The resource may follow its scope items on the wire: find it first.
    reader.pos = ri.start
    const end = ri.start + ri.length
    let resource: Resource | undefined
    let schemaUrl = ''
    const scopeItems: Range[] = []
    fields(reader, end, {
      1: () => (resource = ResourceCodec.decode(reader, reader.uint32())),
      2: () => scopeItems.push(range(reader, end)),
      3: () => (schemaUrl = reader.string()),
    })
    sink.beginResource(resource, schemaUrl)
    for (const si of scopeItems) streamScopeItems(reader, si, items, sink, limits, state)
  }
}

function streamScopeItems<Item>(
  reader: Reader,
  si: Range,
  items: ItemKind<Item>,
  sink: RequestSink<Item>,
  limits: StreamLimits,
  state: { items: number },
): void {
  reader.pos = si.start
  const end = si.start + si.length
  let scope: Scope | undefined
  let schemaUrl = ''
  const ranges: Range[] = []
  fields(reader, end, {
    1: () => (scope = ScopeCodec.decode(reader, reader.uint32())),
    2: () => ranges.push(range(reader, end)),
    3: () => (schemaUrl = reader.string()),
  })
  state.items += ranges.length
  if (state.items > limits.maxItems) throw new TooManyItems(items.plural, limits.maxItems)
  sink.beginScope(scope, schemaUrl)
  for (const item of ranges) {
    const problem = overLimit(reader, item, items, limits.maxPerItem)
    if (problem) {
      sink.reject(problem)
      continue
    }
    reader.pos = item.start
    let decoded: Item
    try {
      decoded = items.decoder.decode(reader, item.length)
    } catch (err) {
      sink.reject(`its bytes are not valid protobuf: ${(err as Error).message}`)
      continue
    }
    // A field whose length runs past the item's end was read from the next item's bytes.
    if (reader.pos !== item.start + item.length) {
      sink.reject(`a field overruns the item's length (${item.length} bytes)`)
      continue
    }
    sink.add(decoded)
  }
}

/**
 * Counts the item's capped lists without decoding it, so an item with a million attributes
 * is refused before it becomes a million objects. Each entry takes at least two bytes (tag
 * and length), so an item shorter than twice the cap cannot pass it and is not scanned.
 */
function overLimit<Item>(
  reader: Reader,
  item: Range,
  kind: ItemKind<Item>,
  max: number,
): string | undefined {
  if (item.length <= 2 * max) return undefined
  const counts = new Map<number, number>()
  reader.pos = item.start
  const end = item.start + item.length
  try {
    while (reader.pos < end) {
      const tag = reader.uint32()
      const field = tag >>> 3
      if (kind.lists[field] !== undefined) counts.set(field, (counts.get(field) ?? 0) + 1)
      reader.skipType(tag & 7)
    }
  } catch {
    return undefined // not valid protobuf: the decoder says why
  }
  for (const [field, n] of counts) {
    if (n > max) return `${kind.lists[field]} has ${n} entries; at most ${max} are accepted`
  }
  return undefined
}
