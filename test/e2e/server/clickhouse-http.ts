// The HTTP interface of a ClickHouse server, answered by the embedded engine in this process.
//
// No ClickHouse server can run here (Debian ships 18.16, far older than the schema needs,
// and the npm registry has none), yet `CLICKHOUSE_URL` is a path of its own through Reckon:
// the official client over HTTP, rows streamed as Native request bodies, an in-memory write
// queue instead of the spool, decode threads that hand rows back, query parameters in the
// URL. This serves that wire protocol as clickhouse-js speaks it, with the real engine
// behind it, so those paths run end to end. What it cannot show is a real server's own
// behaviour: users and grants, server settings, clusters, concurrent query execution.
import { randomBytes } from 'node:crypto'
import { rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { Session } from 'chdb'

export interface ClickHouseHttp {
  /** `http://127.0.0.1:PORT`, for CLICKHOUSE_URL. */
  url: string
  /** Stops listening, as a server that went down: connections are refused. */
  stop(): Promise<void>
  /** Listens again on the same port, with the same data. */
  restart(): Promise<void>
  close(): Promise<void>
}

/** URL parameters of ClickHouse's HTTP interface that are not settings. */
const NOT_SETTINGS = new Set([
  'query',
  'query_id',
  'database',
  'default_format',
  'user',
  'password',
  'quota_key',
  'session_id',
  'session_timeout',
  'session_check',
  'compress',
  'decompress',
  // Settings of the HTTP handler itself, which has no counterpart here.
  'enable_http_compression',
  'wait_end_of_query',
  'send_progress_in_http_headers',
  'http_headers_progress_interval_ms',
])

/** A ClickHouse string literal holding `s` exactly. */
const literal = (s: string): string => `'${s.replace(/[\\']/g, (c) => `\\${c}`)}'`

/** `INSERT INTO t [(cols)] FORMAT F`, whose rows are the request body. */
const INSERT = /^\s*(INSERT\s+INTO\s+[\w.`"]+(?:\s*\([^)]*\))?)\s+FORMAT\s+(\w+)\s*$/is

/** Where the statement's text and its data come from, as the server reads a request. */
function statement(
  params: URLSearchParams,
  body: Buffer,
  spoolDir: string,
): {
  sql: string
  /** The file holding an INSERT's rows, removed once it ran. */
  inserted?: string
} {
  const query = params.get('query')
  // The real server appends the body to the `query` parameter: rows for an INSERT.
  if (query === null) return { sql: body.toString('utf8') }
  if (body.length === 0) return { sql: query }
  const insert = INSERT.exec(query)
  if (!insert) return { sql: `${query}\n${body.toString('utf8')}` }
  // chDB takes inline rows only as text; Native and other binary formats go by file.
  const file = join(spoolDir, `body-${randomBytes(8).toString('hex')}`)
  writeFileSync(file, body)
  return {
    sql: `${insert[1]} FROM INFILE ${literal(file)} FORMAT ${insert[2]}`,
    inserted: file,
  }
}

/** `SET` statements for the database, query parameters and settings the URL carries. */
function preamble(params: URLSearchParams): string[] {
  const out: string[] = []
  for (const [key, value] of params) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`bad parameter name ${key}`)
    // A parameter's value is in the escaped text form the server parses it from; a SET
    // of the same text hands it to the engine unchanged.
    if (key.startsWith('param_')) out.push(`SET ${key} = ${literal(value)}`)
    else if (key === 'database') {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) throw new Error(`bad database name ${value}`)
      out.push(`USE ${value}`)
    } else if (!NOT_SETTINGS.has(key)) out.push(`SET ${key} = ${literal(value)}`)
  }
  return out
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const body = Buffer.concat(chunks)
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body
}

/** Serves ClickHouse's HTTP interface on 127.0.0.1 over an engine with data in `dataDir`. */
export async function serveClickHouseHttp(dataDir: string): Promise<ClickHouseHttp> {
  const session = new Session(dataDir)
  // One statement at a time: SET changes the session, so statements must not interleave.
  let queue: Promise<unknown> = Promise.resolve()
  const run = <T>(task: () => Promise<T>): Promise<T> => {
    const result = queue.then(task)
    queue = result.catch(() => undefined)
    return result
  }

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname === '/ping') {
      res.end('Ok.\n')
      return
    }
    if (url.pathname !== '/') {
      res.writeHead(404).end(`no handler for ${url.pathname}\n`)
      return
    }
    const queryId = url.searchParams.get('query_id') ?? randomBytes(16).toString('hex')
    const body = await readBody(req)
    const { sql, inserted } = statement(url.searchParams, body, dataDir)
    try {
      const format = url.searchParams.get('default_format') ?? 'TabSeparated'
      const script = [...preamble(url.searchParams), sql].join(';\n')
      const result = await run(() => session.queryAsync(script, { format }))
      const summary = {
        read_rows: String(result.rowsRead),
        read_bytes: String(result.bytesRead),
        elapsed_ns: String(Math.round(result.elapsed * 1e9)),
      }
      let out = Buffer.from(result.bytes())
      const headers: Record<string, string> = {
        'content-type': 'text/plain; charset=UTF-8',
        'x-clickhouse-query-id': queryId,
        'x-clickhouse-summary': JSON.stringify(summary),
      }
      const gzip =
        url.searchParams.get('enable_http_compression') === '1' &&
        /\bgzip\b/.test(req.headers['accept-encoding'] ?? '')
      if (gzip) {
        out = gzipSync(out)
        headers['content-encoding'] = 'gzip'
      }
      res.writeHead(200, headers).end(out)
    } catch (err) {
      // The server's error body: "Code: N. DB::Exception: … (NAME)", which the client parses.
      const message = err instanceof Error ? err.message : String(err)
      const code = /Code: (\d+)/.exec(message)?.[1] ?? '1002'
      res
        .writeHead(500, {
          'content-type': 'text/plain; charset=UTF-8',
          'x-clickhouse-query-id': queryId,
          'x-clickhouse-exception-code': code,
        })
        .end(`${message}\n`)
    } finally {
      if (inserted) rmSync(inserted, { force: true })
    }
  }

  const server = createServer((req, res) => {
    answer(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500)
      res.end(`Code: 1002. DB::Exception: ${String(err)}. (UNKNOWN_EXCEPTION)\n`)
    })
  })
  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
  const stop = async (): Promise<void> => {
    if (!server.listening) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  await listen(0)
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    stop,
    restart: () => listen(port),
    close: async () => {
      await stop()
      await queue
      session.close()
    },
  }
}
