// ClickHouse's Native format is columnar: the engine copies columns instead of parsing text,
// which makes an insert several times cheaper than JSONEachRow (see bench:ingest). Blocks
// can be concatenated, so each request encodes its own and a batch is their concatenation.

/** The column types Reckon writes; the engine converts String to LowCardinality on insert. */
export type NativeType =
  | 'String'
  | 'UInt32'
  | 'UInt64'
  | 'DateTime64'
  | 'Array(String)'
  | 'Array(DateTime64)'
  | 'Map(String, String)'

/** A value for each column type, in the same order as `NativeType`. */
export interface NativeValue {
  String: string
  UInt32: number
  UInt64: bigint
  DateTime64: bigint
  'Array(String)': readonly string[]
  'Array(DateTime64)': readonly bigint[]
  'Map(String, String)': Readonly<Record<string, string>>
}

export interface NativeColumn {
  name: string
  type: NativeType
}

/** The type name as written in the block header. */
function headerType(type: NativeType): string {
  switch (type) {
    case 'DateTime64':
      return "DateTime64(9, 'UTC')"
    case 'Array(DateTime64)':
      return "Array(DateTime64(9, 'UTC'))"
    default:
      return type
  }
}

/** A growable byte buffer with the primitive encodings Native uses. */
class Bytes {
  buf: Buffer
  length = 0

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity)
  }

  private reserve(n: number): void {
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

  /** Array column offsets: each list's cumulative end, as UInt64 (always within 32 bits here). */
  offsets(lists: readonly { length: number }[]): void {
    this.reserve(8 * lists.length)
    let end = 0
    for (const list of lists) {
      end += list.length
      this.buf.writeUInt32LE(end, this.length)
      this.buf.writeUInt32LE(0, this.length + 4)
      this.length += 8
    }
  }

  uint32(n: number): void {
    this.reserve(4)
    this.buf.writeUInt32LE(n, this.length)
    this.length += 4
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

  /** The bytes written; copied out when most of the buffer is slack, as it sits in a queue. */
  result(): Buffer {
    const used = this.buf.subarray(0, this.length)
    return this.length < this.buf.length * 0.75 ? Buffer.from(used) : used
  }
}

/**
 * Rows collected column by column, encoded as one Native block. Values are checked by the
 * converters before `append`, so a row is either added whole or not at all.
 */
export class NativeBlock<const C extends readonly NativeColumn[]> {
  private readonly columns: C
  private readonly values: unknown[][]
  rows = 0

  constructor(columns: C) {
    this.columns = columns
    this.values = columns.map(() => [])
  }

  append(row: { [K in keyof C]: NativeValue[C[K]['type']] }): void {
    for (let i = 0; i < this.columns.length; i++) this.values[i]!.push(row[i])
    this.rows++
  }

  encode(): Buffer {
    const out = new Bytes(1024 + this.rows * 768)
    out.varUInt(this.columns.length)
    out.varUInt(this.rows)
    for (let i = 0; i < this.columns.length; i++) {
      const { name, type } = this.columns[i]!
      out.string(name)
      out.string(headerType(type))
      writeColumn(out, type, this.values[i]!)
    }
    return out.result()
  }
}

function writeColumn(out: Bytes, type: NativeType, values: unknown[]): void {
  switch (type) {
    case 'String':
      for (const v of values as string[]) out.string(v)
      return
    case 'UInt32':
      for (const v of values as number[]) out.uint32(v)
      return
    case 'UInt64':
      for (const v of values as bigint[]) out.uint64(v)
      return
    case 'DateTime64':
      for (const v of values as bigint[]) out.int64(v)
      return
    case 'Array(String)': {
      // Arrays are offsets, then every element of every row.
      const arrays = values as string[][]
      out.offsets(arrays)
      for (const a of arrays) for (const v of a) out.string(v)
      return
    }
    case 'Array(DateTime64)': {
      const arrays = values as bigint[][]
      out.offsets(arrays)
      for (const a of arrays) for (const v of a) out.int64(v)
      return
    }
    case 'Map(String, String)': {
      // A map is Array(Tuple(key, value)): offsets, then all keys, then all values.
      const maps = values as Record<string, string>[]
      const keys = maps.map((m) => Object.keys(m))
      out.offsets(keys)
      for (const k of keys) for (const key of k) out.string(key)
      for (let i = 0; i < maps.length; i++) {
        const m = maps[i]!
        for (const key of keys[i]!) out.string(m[key]!)
      }
      return
    }
  }
}
