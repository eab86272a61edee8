// What a collector acknowledged survives the ClickHouse server going away or pushing back:
// it is queued, retried, and written once the server takes it again; nothing is dropped.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { getJson, running, sendTrace, startReckonCli, type Running } from '../cli.js'
import { serveClickHouseHttp, type ClickHouseHttp } from './clickhouse-http.js'
import { metric, onServer, until, workDir } from './helpers.js'

// A server of this file's own, so it can be stopped without touching the other tests'.
let server: ClickHouseHttp
beforeAll(async () => {
  server = await serveClickHouseHttp(mkdtempSync(join(tmpdir(), 'clickhouse-outage-')))
})
afterAll(() => server.close())
afterEach(() => {
  for (const child of running.splice(0)) child.kill('SIGKILL')
})

const spansOn = async (database: string): Promise<number> =>
  Number(await onServer(server.url, `SELECT count() FROM ${database}.spans`))

/** A collector writing every 50 ms, with one trace already stored. */
async function collectorWithOneTrace(): Promise<{ reckon: Running; database: string }> {
  const { dir, database } = workDir('ingest:\n  flushIntervalMs: 50\n')
  const reckon = await startReckonCli('collector', dir, { CLICKHOUSE_URL: server.url })
  await sendTrace(reckon.otlpUrl)
  await until('the first trace is stored', async () => (await spansOn(database)) === 3)
  return { reckon, database }
}

const dropped = (r: Running): Promise<number> =>
  metric(r.apiUrl, 'reckon_storage_rows_total{table="spans",outcome="dropped"}')
const failures = (r: Running): Promise<number> =>
  metric(r.apiUrl, 'reckon_storage_flush_failures_total{table="spans"}')

async function spanNames(r: Running, traceId: string): Promise<string[]> {
  const trace = await getJson<{ spans: { name: string }[] }>(`${r.apiUrl}/api/traces/${traceId}`)
  return trace.spans.map((s) => s.name).sort()
}

describe('a ClickHouse server that goes down', () => {
  it('is reported not ready, and gets what was acknowledged meanwhile once it is back', async () => {
    const { reckon, database } = await collectorWithOneTrace()
    await server.stop()
    try {
      const during = await sendTrace(reckon.otlpUrl)
      const ready = await fetch(`${reckon.apiUrl}/readyz`)
      expect(ready.status).toBe(503)
      expect(await ready.json()).toMatchObject({ status: 'not ready', storage: false })
      await until('flushes have failed a few times', async () => (await failures(reckon)) >= 4)
      await server.restart()
      await until('the queued trace is stored', async () => (await spansOn(database)) === 6)
      expect((await fetch(`${reckon.apiUrl}/readyz`)).status).toBe(200)
      expect(await spanNames(reckon, during)).toEqual([
        'POST /checkout',
        'charge card',
        'reserve stock',
      ])
      expect(await dropped(reckon)).toBe(0)
      expect(reckon.child.exitCode).toBeNull()
    } finally {
      await server.restart().catch(() => {})
    }
  })
})

describe('a ClickHouse server that refuses inserts for a while', () => {
  it('keeps retrying through TOO_MANY_PARTS, and stores the rows once merges catch up', async () => {
    const { reckon, database } = await collectorWithOneTrace()
    // What a server says when inserts outrun its merges: here, at the second part.
    await onServer(server.url, `SYSTEM STOP MERGES ${database}.spans`)
    await onServer(
      server.url,
      `ALTER TABLE ${database}.spans MODIFY SETTING parts_to_throw_insert = 1`,
    )
    const during = await sendTrace(reckon.otlpUrl)
    await until(
      'the insert has been refused a few times',
      async () => (await failures(reckon)) >= 5,
    )
    expect(reckon.stderr()).toMatch(/TOO_MANY_PARTS/)
    // Each refusal is a warning that says what was refused and why, with where it was raised.
    expect(reckon.stderr()).toMatch(
      /^reckon: warning: writing \d+ rows to spans failed; retrying: .*Too many parts.*\n +at /m,
    )
    expect(await spansOn(database)).toBe(3)

    await onServer(server.url, `ALTER TABLE ${database}.spans RESET SETTING parts_to_throw_insert`)
    await until('the refused trace is stored', async () => (await spansOn(database)) === 6)
    expect(await spanNames(reckon, during)).toEqual([
      'POST /checkout',
      'charge card',
      'reserve stock',
    ])
    expect(await dropped(reckon)).toBe(0)
  })
})
