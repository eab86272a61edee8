// Importing a settlement file through the query API, as `curl --data-binary @file` does,
// and reconciling it against the orders' events.
import { DEFAULTS, type Config } from '@reckon/collector/config'
import { buildApps, createContext, type Apps } from '@reckon/collector/server'
import { COLLECTOR, type Storage } from '@reckon/collector/storage'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ReconcilerConfig } from '../config.js'
import { Reconciler } from '../reconciler.js'
import { RECONCILER } from '../schema.js'
import { dropStorage, HOUR_NS, insertEvents, nanosAgo, testStorage } from '../testing/harness.js'
import { reconcileRoutes } from './routes.js'

const CONFIG: ReconcilerConfig = {
  reconcile: {
    sources: {
      orders: { events: { system: 'order', type: 'order.paid' } },
      settlement: {
        file: {
          format: 'csv',
          columns: { key: 'ref', amount: 'gross', currency: 'ccy', status: 'state', time: 'at' },
        },
      },
    },
    rules: [
      {
        name: 'order-settlement',
        left: 'orders',
        right: 'settlement',
        window: '2h',
        status: { PAID: ['SETTLED'] },
      },
    ],
  },
}

let storage: Storage
let apps: Apps
let reconciler: Reconciler
const at = nanosAgo(HOUR_NS)
const iso = new Date(Number(at / 1_000_000n)).toISOString()

beforeAll(async () => {
  storage = await testStorage()
  const config: Config = {
    ...DEFAULTS,
    clickhouse: { ...DEFAULTS.clickhouse, database: storage.database },
  }
  const context = await createContext(config, {
    storage,
    leftovers: [],
    migrations: [COLLECTOR, RECONCILER],
  })
  reconciler = new Reconciler({ storage, config: CONFIG })
  apps = await buildApps(context, false, [reconcileRoutes(reconciler, { maxImportBytes: 4096 })])
  const order = (key: string, amount: string) => ({
    system: 'order',
    type: 'order.paid',
    key,
    amount,
    status: 'PAID',
    at,
  })
  await insertEvents(storage, [order('o-1', '10.00'), order('o-2', '25.50'), order('o-3', '7.00')])
})

afterAll(async () => {
  await reconciler.stop()
  await Promise.all([apps.api.close(), apps.ingest.close()])
  await apps.context.pipeline.shutdown()
  await dropStorage(storage)
})

const upload = (source: string, body: string, contentType = 'text/csv', query = '') =>
  apps.api.inject({
    method: 'POST',
    url: `/api/reconcile/sources/${source}/import${query}`,
    headers: { 'content-type': contentType },
    payload: body,
  })

const FILE = [
  'ref,gross,ccy,state,at',
  `o-1,10.00,EUR,SETTLED,${iso}`,
  `o-3,7.01,EUR,SETTLED,${iso}`,
  `o-9,1.00,EUR,SETTLED,${iso}`,
  `o-x,1.0.0,EUR,SETTLED,${iso}`,
].join('\n')

describe('POST /api/reconcile/sources/:name/import', () => {
  it('imports the file and names the refused lines', async () => {
    const res = await upload(
      'settlement',
      FILE,
      'text/csv; charset=utf-8',
      '?fileName=psp-0501.csv',
    )
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({
      source: 'settlement',
      batch: expect.stringMatching(/^[0-9a-f]{64}$/),
      fileName: 'psp-0501.csv',
      rows: 3,
      badRows: 1,
      problems: [{ line: 5, message: expect.stringContaining('amount "1.0.0"') }],
      alreadyImported: false,
    })
  })

  it('says so when the same file comes again, and stores nothing', async () => {
    const res = await upload('settlement', FILE)
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ rows: 3, badRows: 1, alreadyImported: true })
    const rs = await storage.client.query({
      query: `SELECT count() AS n FROM ${storage.database}.reconcile_records`,
      format: 'JSONEachRow',
    })
    expect(await rs.json()).toEqual([{ n: '3' }])
  })

  it('reconciles the imported rows against the events', async () => {
    const started = await apps.api.inject({
      method: 'POST',
      url: '/api/reconcile/runs',
      payload: { rule: 'order-settlement' },
    })
    expect(started.statusCode).toBe(202)
    const { id } = started.json<{ id: string }>()
    for (let i = 0; i < 200; i++) {
      const run = (
        await apps.api.inject({ method: 'GET', url: `/api/reconcile/runs/${id}` })
      ).json()
      if (run.state !== 'running') break
      await new Promise((r) => setTimeout(r, 50))
    }
    const { findings } = (
      await apps.api.inject({ method: 'GET', url: `/api/reconcile/runs/${id}/findings` })
    ).json<{ findings: { category: string; key: string }[] }>()
    expect(findings.map((f) => `${f.category} ${f.key}`).sort()).toEqual([
      'amount_mismatch o-3',
      'dropped o-2',
      'orphan o-9',
    ])
  })

  it('takes a body streamed over HTTP in chunks, and stops one past the limit', async () => {
    const address = await apps.api.listen({ host: '127.0.0.1', port: 0 })
    const send = (lines: string[]) =>
      fetch(`${address}/api/reconcile/sources/settlement/import?fileName=chunked.csv`, {
        method: 'POST',
        headers: { 'content-type': 'text/csv' },
        body: new ReadableStream({
          start(controller) {
            for (const line of lines) controller.enqueue(new TextEncoder().encode(`${line}\n`))
            controller.close()
          },
        }),
        duplex: 'half',
      })
    const ok = await send(['ref,gross,ccy,state,at', `o-7,1.00,EUR,SETTLED,${iso}`])
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({ fileName: 'chunked.csv', rows: 1 })
    const row = `o-8,1.00,EUR,SETTLED,${iso}`
    const large = await send(['ref,gross,ccy,state,at', ...Array<string>(200).fill(row)])
    expect(large.status).toBe(413)
  })

  it('is in the OpenAPI document, taking text/csv', async () => {
    const doc = (await apps.api.inject({ method: 'GET', url: '/api/docs/json' })).json()
    const op = doc.paths['/api/reconcile/sources/{name}/import'].post
    expect(Object.keys(op.requestBody.content)).toEqual(['text/csv', 'application/csv'])
    expect(Object.keys(op.responses)).toContain('200')
  })

  it('answers 4xx naming what is wrong, storing nothing', async () => {
    const unknown = await upload('nope', FILE)
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json().message).toBe('no source "nope" (sources: orders, settlement)')
    const events = await upload('orders', FILE)
    expect(events.statusCode).toBe(400)
    expect(events.json().message).toContain('not a file source')
    const missing = await upload('settlement', 'ref,amount,ccy,state,at\no-1,1,EUR,S,1\n')
    expect(missing.statusCode).toBe(400)
    expect(missing.json().message).toBe(
      'upload.csv has no column gross (its columns: ref, amount, ccy, state, at); nothing was imported',
    )
    const json = await upload('settlement', '{"ref":"o-1"}', 'application/json')
    expect(json.statusCode).toBe(415)
    const large = await upload('settlement', `${FILE}\n${'o-1,1,EUR,S,1\n'.repeat(400)}`)
    expect(large.statusCode).toBe(413)
    expect(large.json().message).toContain('larger than the import limit of 4096 bytes')
    const rs = await storage.client.query({
      query: `SELECT count() AS n FROM ${storage.database}.reconcile_imports FINAL`,
      format: 'JSONEachRow',
    })
    expect(await rs.json()).toEqual([{ n: '2' }])
  })
})
