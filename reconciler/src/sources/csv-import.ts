// Importing a CSV file of a file source (a PSP's settlement, a bank statement) into the
// engine, where runs compare it. The upload is spooled to disk while its SHA-256 is taken:
// that hash is the batch, so importing the same file again finds its batch done and stores
// nothing. Then the file is parsed as a stream: rows that fail a check are reported by line
// with the reason and the others kept, a bounded number at a time. Runs read a batch only
// once its import is marked done, so a crash mid-way leaves rows nobody reads; the next
// import of that file deletes them first. A file whose header lacks a column, or whose CSV
// is broken (an unclosed quote), is refused whole and leaves nothing behind.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Storage } from '@reckon/collector/storage'
import { CsvError, parse, type Info } from 'csv-parse'
import type { SourceConfig } from '../config.js'
import { Leases, type Lease } from '../lease.js'
import { nanosText, nowNanos } from '../nanos.js'
import {
  deleteBatch,
  missingColumns,
  recordColumns,
  requiredColumns,
  RecordsWriter,
  type RecordColumns,
  toRecord,
  BATCH_ROWS,
} from './records.js'

export const DEFAULT_MAX_IMPORT_BYTES = 1024 ** 3
/** Problems kept for the summary; every bad row is counted. */
export const MAX_PROBLEMS = 100

export interface ImportProgress {
  stage: 'receiving' | 'importing'
  /** Bytes received, or (importing) parsed so far. */
  bytes: number
  /** The file's size, once it has been received. */
  totalBytes: number | null
  rows: number
  badRows: number
}

export interface ImportOptions {
  /** The source's name in reckon.yaml, and its entry there. */
  source: string
  config: SourceConfig
  stream: Readable
  fileName: string
  /** Who imports it (kept with the import). */
  by: string
  onProgress?: (progress: ImportProgress) => void
  /** A larger upload is refused (ImportTooLarge). Default 1 GiB. */
  maxBytes?: number
  batchRows?: number
}

export interface ImportSummary {
  source: string
  /** The file's SHA-256, hex: the same file is the same batch. */
  batch: string
  fileName: string
  rows: number
  badRows: number
  /** The first MAX_PROBLEMS bad rows. Line 1 is the header. */
  problems: { line: number; message: string }[]
  /** The same file was imported before: nothing was stored this time. */
  alreadyImported: boolean
}

/** The file cannot be imported as it is; nothing of it was stored. */
export class CsvRefused extends Error {
  override name = 'CsvRefused'
  readonly statusCode = 400
}

export class NotAFileSource extends Error {
  override name = 'NotAFileSource'
  readonly statusCode = 400
}

export class ImportTooLarge extends Error {
  override name = 'ImportTooLarge'
  readonly statusCode = 413
}

/** The same file is being imported into the source right now (a retried upload). */
export class ImportInProgress extends Error {
  override name = 'ImportInProgress'
  readonly statusCode = 409
}

type FileConfig = Extract<SourceConfig, { file: unknown }>['file']

const BREAK = /\r\n|\r|\n/g
const LEASE_MS = 10 * 60_000
const RENEW_MS = 60_000
const PROGRESS_BYTES = 8 * 1024 * 1024

export async function importCsv(storage: Storage, opts: ImportOptions): Promise<ImportSummary> {
  const { source, config } = opts
  if (!('file' in config))
    throw new NotAFileSource(`source ${source} is not a file source: only files are imported`)
  const dir = await mkdtemp(join(tmpdir(), 'reckon-import-'))
  try {
    const file = join(dir, 'upload.csv')
    const batch = await spool(opts, file)
    const leases = new Leases(
      storage,
      `${hostname()}:${process.pid}:import:${randomBytes(4).toString('hex')}`,
    )
    const leaseName = `import:${source}:${batch}`
    const lease = await leases.acquire(leaseName, LEASE_MS)
    if (!lease)
      throw new ImportInProgress(
        `${opts.fileName} is being imported into ${source} already; try again when that ends`,
      )
    try {
      return await importSpooled(storage, opts, config.file, file, batch, leases, lease)
    } finally {
      await leases.release(lease).catch(() => {})
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Writes the upload to `file`, refusing it past maxBytes; resolves with its SHA-256. */
async function spool(opts: ImportOptions, file: string): Promise<string> {
  const max = opts.maxBytes ?? DEFAULT_MAX_IMPORT_BYTES
  const hash = createHash('sha256')
  let bytes = 0
  let reported = 0
  const progress = (): void =>
    opts.onProgress?.({ stage: 'receiving', bytes, totalBytes: null, rows: 0, badRows: 0 })
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length
      if (bytes > max) {
        done(new ImportTooLarge(`${opts.fileName} is larger than the import limit of ${max} bytes`))
        return
      }
      hash.update(chunk)
      if (bytes - reported >= PROGRESS_BYTES) {
        reported = bytes
        progress()
      }
      done(null, chunk)
    },
  })
  await pipeline(opts.stream, count, createWriteStream(file, { mode: 0o600 }))
  progress()
  return hash.digest('hex')
}

interface ImportState {
  state: string
  rows: string
  bad_rows: string
}

async function importState(
  storage: Storage,
  source: string,
  batch: string,
): Promise<ImportState | undefined> {
  const rs = await storage.client.query({
    query: `SELECT state, rows, bad_rows FROM ${storage.database}.reconcile_imports FINAL
      WHERE source = {source:String} AND batch = {batch:String}`,
    query_params: { source, batch },
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
  })
  return (await rs.json<ImportState>())[0]
}

async function importSpooled(
  storage: Storage,
  opts: ImportOptions,
  fileConfig: FileConfig,
  file: string,
  batch: string,
  leases: Leases,
  lease: Lease,
): Promise<ImportSummary> {
  const { source, fileName, by } = opts
  const summary: ImportSummary = {
    source,
    batch,
    fileName,
    rows: 0,
    badRows: 0,
    problems: [],
    alreadyImported: false,
  }
  const before = await importState(storage, source, batch)
  if (before?.state === 'done')
    return {
      ...summary,
      rows: Number(before.rows),
      badRows: Number(before.bad_rows),
      alreadyImported: true,
    }

  const mark = async (state: 'importing' | 'done'): Promise<void> => {
    await storage.client.insert({
      table: `${storage.database}.reconcile_imports`,
      format: 'JSONEachRow',
      values: [
        {
          source,
          batch,
          file_name: fileName,
          state,
          rows: summary.rows,
          bad_rows: summary.badRows,
          by,
          at: nanosText(nowNanos()),
        },
      ],
      clickhouse_settings: { date_time_input_format: 'best_effort' },
    })
  }
  const forget = async (): Promise<void> => {
    await deleteBatch(storage, source, batch)
    await storage.client.command({
      query: `DELETE FROM ${storage.database}.reconcile_imports
        WHERE source = {source:String} AND batch = {batch:String}`,
      query_params: { source, batch },
    })
  }

  const totalBytes = (await stat(file)).size
  let renewed = Date.now()
  let parsed = 0
  let reported = 0
  const progress = (): void =>
    opts.onProgress?.({
      stage: 'importing',
      bytes: parsed,
      totalBytes,
      rows: summary.rows,
      badRows: summary.badRows,
    })
  const writer = new RecordsWriter(
    storage,
    source,
    batch,
    opts.batchRows ?? BATCH_ROWS,
    async () => {
      if (Date.now() - renewed > RENEW_MS) {
        // Renewing is claiming again: this holder's claim stays the earliest.
        if (!(await leases.acquire(lease.name, LEASE_MS)))
          throw new Error(`lost the import lease of ${fileName}: another import took it over`)
        renewed = Date.now()
      }
      if (parsed - reported >= PROGRESS_BYTES) {
        reported = parsed
        progress()
      }
    },
  )

  const columns = recordColumns(fileConfig.columns)
  const parser = parse({
    bom: true,
    info: true,
    delimiter: fileConfig.delimiter ?? ',',
    relax_column_count: true,
    skip_empty_lines: true,
  })
  let started = false
  const input = createReadStream(file)
  input.on('error', (err) => parser.destroy(err))
  try {
    let header: string[] | undefined
    let index = new Map<string, number>()
    // csv-parse counts a CRLF inside quotes as two lines: lines are counted here instead,
    // from the blank lines it skipped and the line breaks inside a record's fields.
    let lastLine = 0
    let lastEmpty = 0
    for await (const { record, info } of input.pipe(parser) as AsyncIterable<{
      record: string[]
      info: Info
    }>) {
      const line = lastLine + 1 + (info.empty_lines - lastEmpty)
      lastLine = line + record.reduce((n, f) => n + (f.match(BREAK)?.length ?? 0), 0)
      lastEmpty = info.empty_lines
      parsed = info.bytes
      if (!header) {
        header = record.map((h) => h.trim())
        index = checkHeader(header, columns, fileName)
        // Nothing is stored before the header is known to be right.
        if (before) await deleteBatch(storage, source, batch)
        await mark('importing')
        started = true
        continue
      }
      if (record.length !== header.length) {
        bad(summary, line, `has ${record.length} fields, the header has ${header.length}`)
        continue
      }
      const row = toRecord(columns, (c) => {
        const i = index.get(c)
        return i === undefined ? undefined : record[i]?.trim()
      })
      if ('problem' in row) bad(summary, line, row.problem)
      else {
        summary.rows++
        await writer.add(line, row)
      }
    }
    if (!header)
      throw new CsvRefused(
        `${fileName} is empty: it needs a header row naming its columns (${requiredColumns(columns).join(', ')})`,
      )
    await writer.flush()
  } catch (err) {
    if (started) await forget().catch(() => {})
    if (err instanceof CsvError)
      throw new CsvRefused(
        `${fileName} is not well-formed CSV: ${err.message}; nothing was imported`,
      )
    throw err
  } finally {
    input.destroy()
  }
  await mark('done')
  parsed = totalBytes
  progress()
  return summary
}

function bad(summary: ImportSummary, line: number, message: string): void {
  summary.badRows++
  if (summary.problems.length < MAX_PROBLEMS) summary.problems.push({ line, message })
}

/** Column name → field index; refuses a header without a required column. */
function checkHeader(
  header: string[],
  columns: RecordColumns,
  fileName: string,
): Map<string, number> {
  const missing = missingColumns(columns, header)
  if (missing.length > 0) {
    const names = missing.length === 1 ? `column ${missing[0]}` : `columns ${missing.join(', ')}`
    throw new CsvRefused(
      `${fileName} has no ${names} (its columns: ${header.join(', ') || 'none'}); nothing was imported`,
    )
  }
  const required = new Set(requiredColumns(columns))
  const index = new Map<string, number>()
  header.forEach((h, i) => {
    if (index.has(h) && required.has(h))
      throw new CsvRefused(`${fileName} has column ${h} twice; nothing was imported`)
    if (!index.has(h)) index.set(h, i)
  })
  return index
}
