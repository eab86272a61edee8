// LowCardinality columns and the maps keyed by them, in ClickHouse's Native layout: a
// dictionary of distinct values written with each block, then one index per value.
import { Bytes, Offsets, roomFor, type ColumnWriter } from './native.js'

// LowCardinality serialization flags: UInt8/16/32 indexes, keys that come with the block.
const HAS_ADDITIONAL_KEYS = 1 << 9
const NEED_UPDATE_DICTIONARY = 1 << 10
const KEYS_VERSION_SHARED_WITH_ADDITIONAL_KEYS = 1

/**
 * LowCardinality(String): a dictionary of the distinct values and one index per row. The
 * engine then stores the column without hashing every value again, and each repeated name
 * is written once per block instead of once per row.
 */
export class LowCardinalityColumn implements ColumnWriter {
  readonly type = 'LowCardinality(String)'
  private readonly dictionary = new Map<string, number>([['', 0]])
  // The engine's own dictionaries start with the default value; ours do too.
  private readonly keys = new Bytes(256)
  private indexes = new Uint32Array(1024)
  rows = 0

  constructor() {
    this.keys.string('')
  }

  /** The value's place in the dictionary, added if new; no row is written. */
  indexOf(value: string): number {
    return this.dictionary.get(value) ?? this.addKey(value, value)
  }

  /** The same for a binary value (an encoded message), keyed by its bytes. */
  indexOfBytes(value: Uint8Array): number {
    const key = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1')
    return this.dictionary.get(key) ?? this.addKey(key, value)
  }

  private addKey(key: string, value: string | Uint8Array): number {
    const index = this.dictionary.size
    this.dictionary.set(key, index)
    if (typeof value === 'string') this.keys.string(value)
    else this.keys.bytes(value)
    return index
  }

  add(value: string): void {
    this.addIndex(this.indexOf(value))
  }

  addIndex(index: number): void {
    this.indexes = roomFor(this.indexes, this.rows)
    this.indexes[this.rows++] = index
  }

  /** Drops the values added after row `rows` (a row that turned out invalid). */
  truncate(rows: number): void {
    this.rows = rows
  }

  writePrefix(out: Bytes): void {
    out.uint64n(KEYS_VERSION_SHARED_WITH_ADDITIONAL_KEYS)
  }

  byteLength(): number {
    return 32 + this.keys.length + this.rows * 4
  }

  writeData(out: Bytes): void {
    // Nothing at all for no values (maps and arrays whose rows are all empty).
    if (this.rows === 0) return
    const size = this.dictionary.size
    const width = size <= 0x100 ? 0 : size <= 0x10000 ? 1 : 2
    out.uint64n(width | HAS_ADDITIONAL_KEYS | NEED_UPDATE_DICTIONARY)
    out.uint64n(size)
    out.append(this.keys)
    out.uint64n(this.rows)
    const bytes = 1 << width
    out.reserve(this.rows * bytes)
    const { buf } = out
    let at = out.length
    for (let i = 0; i < this.rows; i++) {
      const v = this.indexes[i]!
      if (width === 0) buf[at] = v
      else if (width === 1) buf.writeUInt16LE(v, at)
      else buf.writeUInt32LE(v, at)
      at += bytes
    }
    out.length = at
  }
}

/**
 * Map(LowCardinality(String), String | LowCardinality(String)), i.e. an array of key/value
 * tuples: offsets, all keys, all values. A row is open between `beginRow` and `endRow`, and
 * `abortRow` takes back what it added.
 */
export class MapColumn implements ColumnWriter {
  readonly type: string
  private readonly keys = new LowCardinalityColumn()
  private readonly offsets = new Offsets()
  private readonly lowCardinalityValues: LowCardinalityColumn | undefined
  private readonly stringValues: Bytes | undefined
  private rowStart = 0
  private rowValueBytes = 0
  // The row that last used each key, so a repeated key is found without a scan.
  private row = 0
  private keyRow = new Uint32Array(64)

  constructor(values: 'String' | 'LowCardinality(String)') {
    this.type = `Map(LowCardinality(String), ${values})`
    if (values === 'String') this.stringValues = new Bytes()
    else this.lowCardinalityValues = new LowCardinalityColumn()
  }

  beginRow(): void {
    this.row++
    this.rowStart = this.keys.rows
    this.rowValueBytes = this.stringValues?.length ?? 0
  }

  /** Adds an entry unless the row already has the key (the first one wins); true if added. */
  set(key: string, value: string): boolean {
    const index = this.keys.indexOf(key)
    this.keyRow = roomFor(this.keyRow, index)
    if (this.keyRow[index] === this.row) return false
    this.keyRow[index] = this.row
    this.keys.addIndex(index)
    if (this.stringValues) this.stringValues.string(value)
    else this.lowCardinalityValues!.add(value)
    return true
  }

  /**
   * Entries shared by many rows (a resource's attributes), encoded once. They must have
   * distinct keys, and belong to this column.
   */
  prepare(entries: readonly (readonly [string, string])[]): PreparedEntries {
    const values = new Bytes(64)
    const valueIndexes: number[] = []
    for (const [, value] of entries) {
      if (this.lowCardinalityValues) valueIndexes.push(this.lowCardinalityValues.indexOf(value))
      else values.string(value)
    }
    return { keys: entries.map(([key]) => this.keys.indexOf(key)), values, valueIndexes }
  }

  /** A whole row of prepared entries. */
  addRow(prepared: PreparedEntries): void {
    for (const index of prepared.keys) this.keys.addIndex(index)
    if (this.stringValues) this.stringValues.append(prepared.values)
    else for (const index of prepared.valueIndexes) this.lowCardinalityValues!.addIndex(index)
    this.endRow()
  }

  endRow(): void {
    this.offsets.count = this.keys.rows
    this.offsets.endRow()
  }

  abortRow(): void {
    this.keys.truncate(this.rowStart)
    this.lowCardinalityValues?.truncate(this.rowStart)
    if (this.stringValues) this.stringValues.length = this.rowValueBytes
  }

  writePrefix(out: Bytes): void {
    this.keys.writePrefix(out)
    this.lowCardinalityValues?.writePrefix(out)
  }

  byteLength(): number {
    return (
      this.offsets.byteLength() +
      this.keys.byteLength() +
      (this.stringValues?.length ?? this.lowCardinalityValues!.byteLength())
    )
  }

  writeData(out: Bytes): void {
    this.offsets.write(out)
    this.keys.writeData(out)
    if (this.stringValues) out.append(this.stringValues)
    else this.lowCardinalityValues!.writeData(out)
  }
}

/** Map entries encoded for one `MapColumn`, to be added to many rows. */
export interface PreparedEntries {
  keys: number[]
  values: Bytes
  valueIndexes: number[]
}
