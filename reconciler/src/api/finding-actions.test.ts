// A person's retry, resolve and ignore through the query API: who and why in the history, the
// finding answered back, invalid changes refused with 409, and what the next run makes of it.
import { DEFAULTS } from '@reckon/collector/config'
import { buildApps, createContext, type Apps } from '@reckon/collector/server'
import { COLLECTOR, type Storage } from '@reckon/collector/storage'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { ReconcilerConfig } from '../config.js'
import { Reconciler } from '../reconciler.js'
import { RECONCILER } from '../schema.js'
import { startEndpoint, type Endpoint } from '../testing/endpoint.js'
import { dropStorage, HOUR_NS, insertEvents, nanosAgo, testStorage } from '../testing/harness.js'
import { reconcileRoutes } from './routes.js'

let storage: Storage
let apps: Apps
let reconciler: Reconciler
let endpoint: Endpoint
const ids = new Map<string, string>()

beforeAll(async () => {
  storage = await testStorage()
  endpoint = await startEndpoint()
  endpoint.behave('o-down', { always: 503 })
  const config: ReconcilerConfig = {
    reconcile: {
      sources: {
        orders: { events: { system: 'order', type: 'order.created' } },
        payments: { events: { system: 'payment', type: 'payment.captured' } },
      },
      rules: [
        {
          name: 'order-payment',
          left: 'orders',
          right: 'payments',
          window: '2h',
          compensate: {
            dropped: {
              maxAttempts: 1,
              backoff: { initial: '50ms', max: '100ms' },
              action: { method: 'POST', url: `${endpoint.url}/orders/{{key}}/mark-paid` },
            },
          },
        },
      ],
    },
  }
  const context = await createContext(
    { ...DEFAULTS, clickhouse: { ...DEFAULTS.clickhouse, database: storage.database } },
    { storage, leftovers: [], migrations: [COLLECTOR, RECONCILER] },
  )
  reconciler = new Reconciler({ storage, config, compensation: { timeoutMs: 1000 } })
  apps = await buildApps(context, false, [reconcileRoutes(reconciler)])
  const at = nanosAgo(HOUR_NS)
  await insertEvents(
    storage,
    ['o-down', 'o-skip', 'o-done'].map((key) => ({
      system: 'order',
      type: 'order.created',
      key,
      at,
    })),
  )
  const { done } = await reconciler.run({ rule: 'order-payment', by: 'tester' })
  const run = await done
  const rs = await storage.client.query({
    query: `SELECT key, finding_id FROM ${storage.database}.reconcile_breaks WHERE run_id = {run:String}`,
    query_params: { run: run.id },
    format: 'JSONEachRow',
  })
  for (const r of await rs.json<{ key: string; finding_id: string }>()) ids.set(r.key, r.finding_id)
})

afterAll(async () => {
  await reconciler.stop()
  await Promise.all([apps.api.close(), apps.ingest.close()])
  await apps.context.pipeline.shutdown()
  await endpoint.close()
  await dropStorage(storage)
})

const act = (key: string, action: string, why: unknown) =>
  apps.api.inject({
    method: 'POST',
    url: `/api/reconcile/findings/${ids.get(key) ?? key}/${action}`,
    payload: { why } as object,
  })

it('retries an escalated finding now, with a fresh budget, and says who asked and why', async () => {
  await reconciler.compensateOnce()
  const escalated = await apps.api.inject({ url: `/api/reconcile/findings/${ids.get('o-down')}` })
  expect(escalated.json().state).toBe('escalated')

  endpoint.behave('o-down', {})
  const res = await act('o-down', 'retry', 'the shop is back up')
  expect(res.statusCode).toBe(200)
  expect(res.json().state).toBe('open')
  expect(res.json().history.at(-1)).toMatchObject({
    state: 'open',
    by: 'local',
    why: 'retry now: the shop is back up',
  })
  await reconciler.compensateOnce()
  const after = (
    await apps.api.inject({ url: `/api/reconcile/findings/${ids.get('o-down')}` })
  ).json()
  expect(after.state).toBe('compensated')
  expect(
    after.attempts.map((a: { step: string; outcome: string }) => `${a.step} ${a.outcome}`),
  ).toEqual([
    'action started',
    'action failed',
    'retry reset',
    'action started',
    'action succeeded',
  ])
  expect(after.links.traces).toHaveLength(2)
  expect(endpoint.applied.get('o-down')).toBe(1)
})

it('resolves and ignores with why; ignored stays ignored across runs', async () => {
  const ignored = await act('o-skip', 'ignore', 'test order from the shop’s staff')
  expect(ignored.statusCode).toBe(200)
  expect(ignored.json().history.at(-1)).toMatchObject({
    state: 'ignored',
    by: 'local',
    why: 'test order from the shop’s staff',
  })
  const resolved = await act('o-done', 'resolve', 'paid by bank transfer, booked by hand')
  expect(resolved.json().state).toBe('resolved')

  const { done } = await reconciler.run({ rule: 'order-payment', by: 'tester' })
  const run = await done
  const skip = (
    await apps.api.inject({ url: `/api/reconcile/findings/${ids.get('o-skip')}` })
  ).json()
  expect(skip.state).toBe('ignored')
  // A break a person resolved that is still there comes back: the books must not hide it.
  const back = (
    await apps.api.inject({ url: `/api/reconcile/findings/${ids.get('o-done')}` })
  ).json()
  expect(back.history.at(-1)).toMatchObject({ state: 'open', why: `found again by ${run.id}` })
})

it('refuses changes that make no sense from where the finding stands', async () => {
  const twice = await act('o-skip', 'ignore', 'again')
  expect(twice.statusCode).toBe(409)
  expect(twice.json().message).toBe(
    `finding ${ids.get('o-skip')} is ignored: it can be ignored only when open, compensating, compensated, escalated, resolved`,
  )
  expect((await act('o-skip', 'retry', 'please')).statusCode).toBe(409)
  expect((await act('o-skip', 'resolve', 'done')).statusCode).toBe(409)
  expect((await act('f_nothing', 'resolve', 'x')).statusCode).toBe(404)
  expect((await act('o-down', 'resolve', '')).statusCode).toBe(400)
  expect((await act('o-down', 'explode', 'x')).statusCode).toBe(404)
})
