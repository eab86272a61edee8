// ClickHouse's Native format is columnar: the engine copies columns instead of parsing text,
// which makes an insert several times cheaper than JSONEachRow (see bench:ingest). Columns
// are written as rows arrive, straight into their byte buffers, so encoding a span allocates
// no intermediate objects. Blocks can be concatenated: each request encodes its own and a
// batch is their concatenation.

const HEX_CODES = Array.from('0123456789abcdef', (c) => c.charCodeAt(0))

/** A growable byte buffer with the primitive encodings Native uses. */
export class Bytes {
  buf: Buffer
  length = 0

  constructor(capacity = 1024) {
    this.buf = Buffer.allocUnsafe(capacity)
  }

  reserve(n: number): void {
    if (this.length + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n))
    this.buf.copy(next, 0, 0, this.length)
    this.buf = next
  }

  varUInt(n: number): void {
    this.reserve(10)
    while (n >= 0x80) {
      this.buf[this.length++] = (n & 0x7f) | 0x80
      n = Math.floor(n / 128)
    }
    this.buf[this.length++] = n
  }

  /** Length-prefixed UTF-8, written in one pass: the prefix is fixed up after the bytes. */
  string(s: string): void {
    const len = s.length
    this.reserve(5 + len * 3)
    const buf = this.buf
    const start = this.length
    // Most values are short ASCII; copying them here beats a call into the native encoder.
    if (len < 0x80) {
      let i = 0
      for (; i < len; i++) {
        const c = s.charCodeAt(i)
        if (c > 0x7f) break
        buf[start + 1 + i] = c
      }
      if (i === len) {
        buf[start] = len
        this.length = start + 1 + len
        return
      }
    }
    const n = buf.write(s, start + 1, 'utf8')
    if (n < 0x80) {
      buf[start] = n
      this.length = start + 1 + n
      return
    }
    const prefix = n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5
    buf.copy(buf, start + prefix, start + 1, start + 1 + n)
    this.length = start
    this.varUInt(n)
    this.length = start + prefix + n
  }

  /** Raw bytes as a String value: length prefix, then the bytes unchanged. */
  bytes(bytes: Uint8Array): void {
    this.varUInt(bytes.length)
    this.reserve(bytes.length)
    this.buf.set(bytes, this.length)
    this.length += bytes.length
  }

  /** Raw bytes as a length-prefixed lowercase hex string (trace and span IDs). */
  hex(bytes: Uint8Array): void {
    const n = bytes.length * 2
    this.reserve(1 + n)
    const buf = this.buf
    let at = this.length
    buf[at++] = n // IDs are at most 16 bytes: a one-byte prefix
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!
      buf[at++] = HEX_CODES[b >> 4]!
      buf[at++] = HEX_CODES[b & 15]!
    }
    this.length = at
  }

  /** A checked trace or span ID: raw bytes as hex, hex text (OTLP/JSON) as it is. */
  id(id: Uint8Array | string): void {
    if (typeof id === 'string') this.string(id)
    else this.hex(id)
  }

  uint32(n: number): void {
    this.reserve(4)
    this.buf.writeUInt32LE(n, this.length)
    this.length += 4
  }

  /** A UInt64 that fits in 53 bits (counts, array offsets). */
  uint64n(n: number): void {
    this.reserve(8)
    this.buf.writeUInt32LE(n % 0x100000000, this.length)
    this.buf.writeUInt32LE(Math.floor(n / 0x100000000), this.length + 4)
    this.length += 8
  }

  /** A 64-bit integer given as its 32-bit halves (as protobuf decodes it). */
  halves(low: number, high: number): void {
    this.reserve(8)
    this.buf.writeUInt32LE(low >>> 0, this.length)
    this.buf.writeUInt32LE(high >>> 0, this.length + 4)
    this.length += 8
  }

  uint64(n: bigint): void {
    this.reserve(8)
    this.buf.writeBigUInt64LE(n, this.length)
    this.length += 8
  }

  int64(n: bigint): void {
    this.reserve(8)
    this.buf.writeBigInt64LE(n, this.length)
    this.length += 8
  }

  append(other: Bytes): void {
    this.reserve(other.length)
    other.buf.copy(this.buf, this.length, 0, other.length)
    this.length += other.length
  }

  /** The bytes written; copied out when most of the buffer is slack, as it sits in a queue. */
  result(): Buffer {
    const used = this.buf.subarray(0, this.length)
    return this.length < this.buf.length * 0.75 ? Buffer.from(used) : used
  }
}

/** `array`, or a copy at least twice as long when it has no room at `index`. */
export function roomFor(array: Uint32Array<ArrayBuffer>, index: number): Uint32Array<ArrayBuffer> {
  if (index < array.length) return array
  const next = new Uint32Array(Math.max(index + 1, array.length * 2))
  next.set(array)
  return next
}

/** A column being filled row by row. */
export interface ColumnWriter {
  /** The type as the block header names it. */
  readonly type: string
  /** Serialization state written before any data (LowCardinality's keys version). */
  writePrefix(out: Bytes): void
  writeData(out: Bytes): void
  /** At most how many bytes prefix and data take, so a block is allocated once. */
  byteLength(): number
}

/** The column type of every nanosecond timestamp. */
export const TIME = "DateTime64(9, 'UTC')"

/** String, UInt32, UInt64 or DateTime64(9): values appended to one buffer as they come. */
export class PlainColumn implements ColumnWriter {
  readonly data = new Bytes()
  constructor(readonly type: 'String' | 'UInt32' | 'UInt64' | typeof TIME) {}
  writePrefix(): void {}
  writeData(out: Bytes): void {
    out.append(this.data)
  }
  byteLength(): number {
    return this.data.length
  }
}

/** Cumulative element counts per row, kept as the UInt64 words they are written as. */
export class Offsets {
  private words = new Uint32Array(2048)
  rows = 0
  count = 0

  endRow(): void {
    this.words = roomFor(this.words, this.rows * 2 + 1)
    // Low word only (no block holds 2^32 elements); the words are little-endian, as Native.
    this.words[this.rows * 2] = this.count
    this.rows++
  }
  write(out: Bytes): void {
    const n = this.rows * 8
    out.reserve(n)
    out.buf.set(new Uint8Array(this.words.buffer, 0, n), out.length)
    out.length += n
  }
  byteLength(): number {
    return this.rows * 8
  }
}

/** Array(String) or Array(DateTime64(9)): offsets, then every element of every row. */
export class ArrayColumn implements ColumnWriter {
  readonly type: string
  readonly elements: PlainColumn
  private readonly offsets = new Offsets()

  constructor(element: 'String' | typeof TIME) {
    this.type = `Array(${element})`
    this.elements = new PlainColumn(element)
  }

  /** Closes a row whose `n` elements were just written to `elements`. */
  endRow(n: number): void {
    this.offsets.count += n
    this.offsets.endRow()
  }

  writePrefix(): void {}
  writeData(out: Bytes): void {
    this.offsets.write(out)
    out.append(this.elements.data)
  }
  byteLength(): number {
    return this.offsets.byteLength() + this.elements.byteLength()
  }
}

/** One Native block: column count, row count, then each column's name, type and data. */
export function encodeBlock(
  columns: readonly (readonly [string, ColumnWriter])[],
  rows: number,
): Buffer {
  let size = 32
  for (const [name, column] of columns) size += 2 * (name.length + 10) + column.byteLength()
  const out = new Bytes(size)
  out.varUInt(columns.length)
  out.varUInt(rows)
  for (const [name, column] of columns) {
    out.string(name)
    out.string(column.type)
    // An empty column is no bytes at all, as the engine writes it.
    if (rows === 0) continue
    column.writePrefix(out)
    column.writeData(out)
  }
  return out.result()
}
