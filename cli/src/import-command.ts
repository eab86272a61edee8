// `reckon import --source NAME FILE`: a settlement file into a file source. Streamed to a
// running Reckon's API when one answers (on the embedded engine it owns the data), else
// imported in this process. Exit 0 when every row was stored (or the file had been imported
// before), 1 when some lines were refused, 2 when the file was refused whole.
import { createReadStream, statSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'
import { COLLECTOR, migrate, openStorage } from '@reckon/collector/storage'
import { importCsv, RECONCILER, Reconciler, type ImportSummary } from '@reckon/reconciler'
import type { ReckonConfig } from './config.js'
import { ReconcileFailed, UsageError } from './reconcile-command.js'
import { apiHeaders, keyAdvice, runningApi } from './running-api.js'

export const IMPORT_HELP = `reckon import --source NAME FILE.csv

  --source NAME   a file source of reckon.yaml (reconcile.sources)
  FILE.csv        the file, its header row first

Exit status: 0 every row stored (or the file was imported before), 1 some lines refused,
2 the file was refused.`

function parse(args: string[]): { source: string; file: string } {
  let parsed
  try {
    parsed = parseArgs({
      args,
      options: { source: { type: 'string' } },
      strict: true,
      allowPositionals: true,
    })
  } catch (err) {
    throw new UsageError((err as Error).message, IMPORT_HELP)
  }
  const { values, positionals } = parsed
  if (!values.source) throw new UsageError('--source is required', IMPORT_HELP)
  if (positionals.length !== 1) throw new UsageError('name exactly one file to import', IMPORT_HELP)
  return { source: values.source, file: positionals[0]! }
}

function upload(base: string, source: string, file: string): Promise<ImportSummary> {
  const url = new URL(`${base}/api/reconcile/sources/${encodeURIComponent(source)}/import`)
  url.searchParams.set('fileName', basename(file))
  return new Promise((resolve, reject) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'text/csv',
          'content-length': statSync(file).size,
          ...apiHeaders(),
        },
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () => {
          let parsed: ImportSummary & { message?: string }
          try {
            parsed = JSON.parse(body) as ImportSummary & { message?: string }
          } catch {
            return reject(new ReconcileFailed(`${url.origin} answered ${res.statusCode}: ${body}`))
          }
          if (res.statusCode === 200) resolve(parsed)
          else {
            const advice = keyAdvice(base, res.statusCode ?? 0, 'operator')
            const why = `${basename(file)} was refused: ${parsed.message}`
            reject(new ReconcileFailed(advice ? `${why}\n${advice}` : why))
          }
        })
      },
    )
    req.on('error', (err) => reject(new ReconcileFailed(`could not send ${file}: ${err.message}`)))
    createReadStream(file)
      .on('error', (err) => req.destroy(err))
      .pipe(req)
  })
}

async function inProcess(
  config: ReckonConfig,
  source: string,
  file: string,
): Promise<ImportSummary> {
  const storage = openStorage(config)
  try {
    await migrate(storage, [COLLECTOR, RECONCILER])
    const reconciler = new Reconciler({ storage, config })
    const show = process.stderr.isTTY
      ? (p: { bytes: number; rows: number }) =>
          process.stderr.write(`\r\x1b[2K  ${p.rows} rows (${(p.bytes / 2 ** 20).toFixed(1)} MiB)`)
      : undefined
    try {
      return await importCsv(storage, {
        source,
        config: reconciler.source(source),
        stream: createReadStream(file),
        fileName: basename(file),
        by: `cli:${process.env.USER ?? 'local'}`,
        ...(show ? { onProgress: show } : {}),
      })
    } finally {
      if (show) process.stderr.write('\r\x1b[2K')
    }
  } finally {
    await storage.close()
  }
}

export async function importCommand(config: ReckonConfig, args: string[]): Promise<number> {
  const { source, file } = parse(args)
  const kind = config.reconcile.sources[source]
  if (!kind) {
    const names = Object.keys(config.reconcile.sources).join(', ') || 'none'
    throw new UsageError(
      `no source ${JSON.stringify(source)} in reckon.yaml (sources: ${names})`,
      IMPORT_HELP,
    )
  }
  if (!('file' in kind)) throw new UsageError(`source ${source} is not a file source`, IMPORT_HELP)
  try {
    statSync(file)
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`, IMPORT_HELP)
  }
  const base = await runningApi(config)
  const summary = base ? await upload(base, source, file) : await inProcess(config, source, file)
  if (summary.alreadyImported) {
    console.log(
      `${basename(file)} was imported into ${source} before (batch ${summary.batch.slice(0, 12)}…): nothing stored`,
    )
    return 0
  }
  console.log(
    `${basename(file)} → ${source}: ${summary.rows} rows stored, ${summary.badRows} lines refused (batch ${summary.batch.slice(0, 12)}…)`,
  )
  for (const p of summary.problems) console.log(`  line ${p.line}: ${p.message}`)
  if (summary.badRows > summary.problems.length)
    console.log(`  … and ${summary.badRows - summary.problems.length} more`)
  return summary.badRows > 0 ? 1 : 0
}
