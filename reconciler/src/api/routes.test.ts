// /api/reconcile through the query API as a process serves it: the collector's app with the
// reconciler's routes inside, on a fresh database, driven with app.inject().
import type { Storage } from '@reckon/collector/storage'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ReconcilerConfig } from '../config.js'
import { Reconciler } from '../reconciler.js'
import { testApi, type TestApi } from '../testing/api.js'
import {
  dropStorage,
  HOUR_NS,
  insertEvents,
  MINUTE_NS,
  nanosAgo,
  testStorage,
} from '../testing/harness.js'

const CONFIG: ReconcilerConfig = {
  reconcile: {
    sources: {
      orders: { events: { system: 'order', type: 'order.paid' } },
      payments: { events: { system: 'payment', type: 'payment.captured' } },
    },
    rules: [
      {
        name: 'order-payment',
        left: 'orders',
        right: 'payments',
        window: '2h',
        grace: '15m',
        schedule: '0 3 * * *',
        status: { PAID: ['CAPTURED'] },
      },
    ],
  },
}

let storage: Storage
let apps: TestApi
let reconciler: Reconciler

beforeAll(async () => {
  storage = await testStorage()
  reconciler = new Reconciler({ storage, config: CONFIG })
  apps = await testApi(storage, reconciler)
  const old = nanosAgo(HOUR_NS)
  await insertEvents(storage, [
    {
      system: 'order',
      type: 'order.paid',
      key: 'o-1',
      amount: '10.00',
      status: 'PAID',
      at: old,
      flowId: 'flow-o-1',
    },
    {
      system: 'payment',
      type: 'payment.captured',
      key: 'o-1',
      amount: '10.00',
      status: 'CAPTURED',
      at: old,
    },
    // Dropped: paid, never captured.
    {
      system: 'order',
      type: 'order.paid',
      key: 'o-2',
      amount: '25.50',
      status: 'PAID',
      at: old,
      flowId: 'flow-o-2',
      traceId: 'ab'.repeat(16),
    },
    // Captured for a different amount.
    { system: 'order', type: 'order.paid', key: 'o-3', amount: '7.00', status: 'PAID', at: old },
    {
      system: 'payment',
      type: 'payment.captured',
      key: 'o-3',
      amount: '7.01',
      status: 'CAPTURED',
      at: old,
    },
    // Too young to be a finding yet.
    {
      system: 'order',
      type: 'order.paid',
      key: 'o-4',
      amount: '1.00',
      status: 'PAID',
      at: nanosAgo(MINUTE_NS),
    },
  ])
})

afterAll(async () => {
  await reconciler.stop()
  await apps.close()
  await dropStorage(storage)
})

const get = async (url: string) => apps.api.inject({ method: 'GET', url })
const post = async (url: string, body: unknown) =>
  apps.api.inject({ method: 'POST', url, payload: body as object })

async function finished(id: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 200; i++) {
    const run = (await get(`/api/reconcile/runs/${id}`)).json<Record<string, unknown>>()
    if (run.state !== 'running') return run
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`run ${id} did not finish`)
}

describe('/api/reconcile', () => {
  let runId = ''

  it('lists the rules with sources, window and schedule', async () => {
    const res = await get('/api/reconcile/rules')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual([
      expect.objectContaining({
        name: 'order-payment',
        left: { source: 'orders', kind: 'events' },
        right: { source: 'payments', kind: 'events' },
        window: '2h',
        grace: '15m',
        schedule: '0 3 * * *',
        lastRun: null,
      }),
    ])
  })

  it('starts a run on demand and reports what it found, exactly', async () => {
    const res = await post('/api/reconcile/runs', { rule: 'order-payment', from: 'now-2h' })
    expect(res.statusCode).toBe(202)
    runId = res.json<{ id: string }>().id
    expect(runId).toMatch(/^run_\d{8}-\d{6}-\d{3}_[0-9a-f]+$/)
    const run = await finished(runId)
    expect(run).toMatchObject({
      state: 'done',
      rule: 'order-payment',
      startedBy: 'local',
      dryRun: false,
    })
    const report = run.report as Record<string, Record<string, unknown>>
    expect(report.left).toMatchObject({
      records: 4,
      amounts: [{ currency: 'EUR', amount: '43.50' }],
    })
    expect(report.matched).toMatchObject({
      keys: 1,
      amounts: [{ currency: 'EUR', amount: '10.00' }],
    })
    expect(report.pending).toMatchObject({ keys: 1 })
    expect(report.breaks).toMatchObject({
      dropped: { findings: 1, amounts: [{ currency: 'EUR', amount: '25.50' }] },
      amount_mismatch: { findings: 1 },
    })
  })

  it('lists runs newest first, and the rule shows its last run and open findings', async () => {
    const runs = (await get('/api/reconcile/runs?rule=order-payment')).json<{ id: string }[]>()
    expect(runs[0]?.id).toBe(runId)
    const [rule] = (await get('/api/reconcile/rules')).json<Record<string, unknown>[]>()
    expect(rule).toMatchObject({
      lastRun: { id: runId, state: 'done' },
      openFindings: { dropped: 1, amount_mismatch: 1 },
    })
  })

  it('pages and filters a run’s findings, with both sides’ values', async () => {
    const all = (await get(`/api/reconcile/runs/${runId}/findings`)).json<{
      total: number
      findings: Record<string, unknown>[]
    }>()
    expect(all.total).toBe(3)
    const mismatch = (
      await get(`/api/reconcile/runs/${runId}/findings?category=amount_mismatch`)
    ).json<{ findings: Record<string, unknown>[] }>().findings
    expect(mismatch).toEqual([
      expect.objectContaining({
        key: 'o-3',
        state: 'open',
        left: expect.objectContaining({ amount: '7.00' }),
        right: expect.objectContaining({ amount: '7.01' }),
        difference: '0.01',
      }),
    ])
    const settled = (await get(`/api/reconcile/runs/${runId}/findings?pending=false`)).json<{
      total: number
    }>()
    expect(settled.total).toBe(2)
  })

  it('shows a finding with its history and links to its flow and trace', async () => {
    const { findings } = (
      await get(`/api/reconcile/runs/${runId}/findings?category=dropped`)
    ).json<{ findings: { id: string }[] }>()
    const res = await get(`/api/reconcile/findings/${findings[0]!.id}`)
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({
      key: 'o-2',
      history: [{ state: 'open', by: 'reconciler', runId }],
      links: { flows: ['/api/flows/flow-o-2'], traces: [`/api/traces/${'ab'.repeat(16)}`] },
    })
  })

  it('lists a flow’s findings for its page, and none for a flow that matched', async () => {
    const res = await get('/api/flows/flow-o-2/findings')
    expect(res.statusCode).toBe(200)
    const { findings } = res.json<{ findings: { key: string; category: string }[] }>()
    expect(findings).toEqual([expect.objectContaining({ key: 'o-2', category: 'dropped' })])
    expect((await get('/api/flows/flow-o-1/findings')).json()).toEqual({ findings: [] })
  })

  it('serves the itemized report as CSV a spreadsheet opens', async () => {
    const res = await get(`/api/reconcile/runs/${runId}/report.csv`)
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8')
    expect(res.headers['content-disposition']).toContain(`order-payment-${runId}.csv`)
    const lines = res.body
      .replace(/^\uFEFF/, '')
      .trimEnd()
      .split('\r\n')
    expect(lines).toHaveLength(4)
    expect(lines[0]).toMatch(/^run_id,rule,finding_id,category,/)
    expect(lines.some((l) => l.includes('o-2') && l.includes('25.50'))).toBe(true)
  })

  it('refuses a sign-off by whoever started the run, naming why', async () => {
    const res = await post(`/api/reconcile/runs/${runId}/signoff`, { comment: 'ok' })
    expect(res.statusCode).toBe(403)
    expect(res.json<{ message: string }>().message).toContain('someone else must review it')
  })

  it('answers 4xx naming what is wrong', async () => {
    const unknown = await post('/api/reconcile/runs', { rule: 'nope' })
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json<{ message: string }>().message).toContain('rules: order-payment')
    const backwards = await post('/api/reconcile/runs', {
      rule: 'order-payment',
      from: 'now',
      to: 'now-1h',
    })
    expect(backwards.statusCode).toBe(400)
    expect((await get('/api/reconcile/runs/run_nope')).statusCode).toBe(404)
    const badState = await get(`/api/reconcile/runs/${runId}/findings?state=closed`)
    expect(badState.statusCode).toBe(400)
    expect(badState.json<{ message: string }>().message).toContain('state')
  })
})
