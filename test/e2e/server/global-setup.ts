// The `CLICKHOUSE_URL` run: a ClickHouse HTTP interface over the embedded engine, in the
// test runner's own process (see clickhouse-http.ts), named to every test by CLICKHOUSE_URL.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serveClickHouseHttp } from './clickhouse-http.js'

export default async function setup(): Promise<() => Promise<void>> {
  const server = await serveClickHouseHttp(mkdtempSync(join(tmpdir(), 'clickhouse-http-')))
  process.env.CLICKHOUSE_URL = server.url
  return () => server.close()
}
