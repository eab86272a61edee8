// POST /api/reconcile/sources/:name/import: a file source's CSV as the request body,
// streamed to the importer (never buffered whole), answered with what was stored and which
// lines were refused and why.
import type { Readable } from 'node:stream'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import Type, { type Static } from 'typebox'
import { DEFAULT_MAX_IMPORT_BYTES, ImportTooLarge, importCsv } from '../sources/csv-import.js'
import type { Reconciler } from '../reconciler.js'
import { identityOf } from './identity.js'
import { ErrorSchema, ImportQuerySchema, ImportSummarySchema } from './schemas.js'

export interface ImportRouteOptions {
  /** The largest file an import takes; default 1 GiB. */
  maxImportBytes?: number
}

/**
 * The request body, held where the API's body checks (which walk a parsed body's fields)
 * do not reach into the socket behind it.
 */
class CsvUpload {
  readonly #stream: Readable
  constructor(stream: Readable) {
    this.#stream = stream
  }
  get stream(): Readable {
    return this.#stream
  }
}

const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) })
const CSV_TYPES = ['text/csv', 'application/csv']

export function importRoutes(
  reconciler: Reconciler,
  opts: ImportRouteOptions = {},
): FastifyPluginAsync {
  const maxBytes = opts.maxImportBytes ?? DEFAULT_MAX_IMPORT_BYTES
  return async (app: FastifyInstance) => {
    app.addContentTypeParser(CSV_TYPES, (_request, payload, done) => {
      done(null, new CsvUpload(payload))
    })

    app.post<{ Params: Static<typeof NameParams>; Querystring: Static<typeof ImportQuerySchema> }>(
      '/api/reconcile/sources/:name/import',
      {
        config: { role: 'operator' },
        bodyLimit: maxBytes,
        schema: {
          tags: ['reconciliation'],
          summary: 'Import a CSV file into a file source (the same file again stores nothing)',
          consumes: CSV_TYPES,
          params: NameParams,
          querystring: ImportQuerySchema,
          // Documents the body; no type, so the stream passes validation untouched.
          body: Type.Unsafe<unknown>({
            description: 'the CSV file, its header row first, streamed',
          }),
          response: {
            200: ImportSummarySchema,
            400: ErrorSchema,
            404: ErrorSchema,
            409: ErrorSchema,
            413: ErrorSchema,
            415: ErrorSchema,
          },
        },
      },
      async (request, reply) => {
        const name = request.params.name
        const config = reconciler.source(name)
        const body = request.body
        if (!(body instanceof CsvUpload))
          return reply.code(415).send({
            statusCode: 415,
            error: 'Unsupported Media Type',
            message: 'send the file as the body, with content-type text/csv',
          })
        const length = Number(request.headers['content-length'] ?? 0)
        if (length > maxBytes)
          throw new ImportTooLarge(`the file is larger than the import limit of ${maxBytes} bytes`)
        const summary = await importCsv(reconciler.storage, {
          source: name,
          config,
          stream: body.stream,
          fileName: request.query.fileName ?? 'upload.csv',
          by: identityOf(request),
          maxBytes,
        })
        await request.audit({
          action: 'source.import',
          target: name,
          details: {
            fileName: summary.fileName,
            batch: summary.batch,
            rows: summary.rows,
            alreadyImported: summary.alreadyImported,
          },
        })
        return summary
      },
    )
  }
}
