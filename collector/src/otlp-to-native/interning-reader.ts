// Most strings in an OTLP request repeat: attribute keys on every span, service and span
// names, status values. Decoding each copy costs a native call and a new string, and the
// LowCardinality dictionaries then hash that new string again. This reader returns the same
// string object for the same short byte sequence, so a repeat costs one pass over its bytes
// and its hash is already computed.
import { isUtf8 } from 'node:buffer'
import { createRequire } from 'node:module'
import type protobuf from 'protobufjs'
import { PROTO_ROOT_MODULE } from './proto.js'

/**
 * The BufferReader of the protobufjs copy the generated code uses (it may not be ours): its
 * decoders take a reader only if it is an instance of that copy's Reader.
 */
const BufferReader = (
  createRequire(PROTO_ROOT_MODULE)('protobufjs/minimal') as {
    BufferReader: typeof protobuf.BufferReader
  }
).BufferReader

/** Node's Buffer has a fast UTF-8 decoder that its types do not declare (protobufjs uses it). */
type NodeBuffer = Buffer & { utf8Slice(start: number, end: number): string }

/** Direct-mapped cache slots, and the longest string kept (longer ones are rarely repeats). */
const SLOTS = 4096
const MAX_BYTES = 48

/**
 * A protobufjs reader over a Buffer whose `string()` interns short strings. One per thread
 * shares the cache; a slot holds the bytes it was filled from, so a hash collision only
 * costs a miss. Bytes are hashed and compared four at a time: byte by byte, hashing is a
 * large part of converting a span.
 */
export class InterningReader extends BufferReader {
  private static readonly strings: (string | undefined)[] = new Array<string | undefined>(
    SLOTS,
  ).fill(undefined)
  private static readonly lengths = new Int32Array(SLOTS)
  private static readonly bytes = new Uint8Array(SLOTS * MAX_BYTES)
  private static readonly words = new DataView(InterningReader.bytes.buffer)
  /** 1 where the slot's bytes were not well-formed UTF-8. */
  private static readonly illFormedSlots = new Uint8Array(SLOTS)
  /**
   * Strings read so far whose bytes were not well-formed UTF-8 (each read with U+FFFD in
   * place of the bad bytes), so a caller can tell that an item's text differs from its bytes.
   */
  illFormed = 0
  /** The body, for reading four bytes at a time. */
  private readonly words32: DataView

  constructor(buffer: Buffer) {
    super(buffer)
    this.words32 = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength)
  }

  override string(): string {
    const len = this.uint32()
    const start = this.pos
    const end = start + len
    // Stricter than the reader it replaces, which cut such a string short silently.
    if (end > this.len) throw new RangeError(`index out of range: ${start} + ${len} > ${this.len}`)
    this.pos = end
    const buf = this.buf as NodeBuffer
    if (len === 0) return ''
    if (len > MAX_BYTES) return this.decoded(buf, start, end)
    const view = this.words32
    const wordsEnd = end - 3
    let h = len
    let i = start
    for (; i < wordsEnd; i += 4) h = Math.imul(h ^ view.getInt32(i, true), 0x01000193)
    for (; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193)
    const slot = (h >>> 20) & (SLOTS - 1)
    const { strings, lengths, bytes, words } = InterningReader
    const base = slot * MAX_BYTES
    const cached = strings[slot]
    if (cached !== undefined && lengths[slot] === len) {
      let k = base
      i = start
      while (i < wordsEnd && words.getInt32(k, true) === view.getInt32(i, true)) {
        i += 4
        k += 4
      }
      if (i >= wordsEnd) {
        while (i < end && bytes[k] === buf[i]) {
          i++
          k++
        }
        if (i === end) {
          this.illFormed += InterningReader.illFormedSlots[slot]!
          return cached
        }
      }
    }
    const before = this.illFormed
    const fresh = this.decoded(buf, start, end)
    strings[slot] = fresh
    lengths[slot] = len
    InterningReader.illFormedSlots[slot] = this.illFormed === before ? 0 : 1
    // A loop, not set(subarray()): a new view per miss cost more than the copy.
    for (let j = start, k = base; j < end; j++, k++) bytes[k] = buf[j]!
    return fresh
  }

  /** The bytes as text; ill-formed UTF-8 reads as U+FFFD, and is counted. */
  private decoded(buf: NodeBuffer, start: number, end: number): string {
    const text = buf.utf8Slice(start, end)
    // Only a string with U+FFFD can have been repaired; one sent as such is well-formed.
    if (text.includes('\uFFFD') && !isUtf8(buf.subarray(start, end))) this.illFormed++
    return text
  }
}
