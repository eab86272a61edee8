// Every route of the query API as `reckon up` composes it (the collector's and the
// reconciler's), walked from its OpenAPI document, against every role: no key is 401, a
// weaker role 403, and a role that includes the route's is let through. The ingest port's
// routes are walked from the table its guard keeps. Nothing here lists routes by hand.
import { allows, ROLES, type Role, type RouteRole } from '@reckon/collector/auth'
import type { Storage } from '@reckon/collector/storage'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Alerts } from '../alerts/alerts.js'
import { alertRoutes } from '../alerts/routes.js'
import type { ReconcilerConfig } from '../config.js'
import { Reconciler } from '../reconciler.js'
import { testApi, type TestApi } from '../testing/api.js'
import { dropStorage, insertEvents, nanosAgo, HOUR_NS, testStorage } from '../testing/harness.js'

let storage: Storage
let apps: TestApi
const tokens = new Map<Role, string>()

const config: ReconcilerConfig = {
  reconcile: {
    sources: {
      orders: { events: { system: 'order', type: 'order.created' } },
      payments: { events: { system: 'payment', type: 'payment.captured' } },
    },
    rules: [{ name: 'order-payment', left: 'orders', right: 'payments', window: '2h' }],
  },
}

beforeAll(async () => {
  storage = await testStorage()
  const reconciler = new Reconciler({ storage, config })
  apps = await testApi(
    storage,
    reconciler,
    {},
    {
      auth: { mode: 'keys', users: [], sessionHours: 1 },
    },
    [
      alertRoutes(
        new Alerts({ storage, config: { alerts: { receivers: [], routes: [], rules: [] } } }),
      ),
    ],
  )
  for (const role of ROLES) {
    const { token } = await apps.context.auth.keys.create({ name: role, role, by: 'test' })
    tokens.set(role, token)
  }
})
afterAll(async () => {
  await apps.close()
  await dropStorage(storage)
})

interface Operation {
  'x-role'?: RouteRole
}

/** A request to the route with its path parameters filled (the guard runs before validation). */
const call = (app: TestApi['api'], method: string, path: string, token?: string) =>
  app.inject({
    method: method.toUpperCase() as 'GET',
    url: path.replace(/\{[^}]+\}/g, 'x'),
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(method === 'get' || method === 'delete' ? {} : { 'content-type': 'application/json' }),
    },
    ...(method === 'get' || method === 'delete' ? {} : { payload: '{}' }),
  })

describe('the query API', () => {
  it('refuses every route to a caller without the role it declares', async () => {
    const doc = (await apps.api.inject({ url: '/api/docs/json' })).json<{
      paths: Record<string, Record<string, Operation>>
    }>()
    const wrong: string[] = []
    let checked = 0
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const needed = op['x-role'] ?? 'public'
        const what = `${method.toUpperCase()} ${path} (${needed})`
        const anonymous = await call(apps.api, method, path)
        if (needed !== 'public' && anonymous.statusCode !== 401)
          wrong.push(`${what} without a key: ${anonymous.statusCode}`)
        if (needed === 'public' && [401, 403].includes(anonymous.statusCode))
          wrong.push(`${what} is public but answered ${anonymous.statusCode}`)
        for (const role of ROLES) {
          const res = await call(apps.api, method, path, tokens.get(role))
          checked++
          const let_in = ![401, 403].includes(res.statusCode)
          if (allows(role, needed) !== let_in)
            wrong.push(`${what} with ${role}: ${res.statusCode} ${res.body.slice(0, 120)}`)
        }
      }
    }
    expect(wrong).toEqual([])
    // The reconciler's routes are in the walk, not only the collector's.
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/reconcile/runs',
        '/api/keys',
        '/api/switches/{name}',
        '/api/alerts',
        '/api/alerts/{id}/silence',
      ]),
    )
    expect(checked).toBeGreaterThan(150)
  })

  it('documents what each role may do: writes need operator, sign-off finance, keys admin', async () => {
    const doc = (await apps.api.inject({ url: '/api/docs/json' })).json<{
      paths: Record<string, Record<string, Operation>>
    }>()
    const roleOf = (method: string, path: string) => doc.paths[path]?.[method]?.['x-role']
    expect(roleOf('get', '/api/traces')).toBe('viewer')
    expect(roleOf('put', '/api/switches/{name}')).toBe('operator')
    expect(roleOf('post', '/api/reconcile/runs')).toBe('operator')
    expect(roleOf('post', '/api/reconcile/findings/{id}/resolve')).toBe('operator')
    expect(roleOf('post', '/api/reconcile/runs/{id}/signoff')).toBe('finance')
    expect(roleOf('get', '/api/alerts')).toBe('viewer')
    expect(roleOf('get', '/api/alerts/rules')).toBe('viewer')
    expect(roleOf('post', '/api/alerts/{id}/silence')).toBe('operator')
    expect(roleOf('post', '/api/keys')).toBe('admin')
    expect(roleOf('get', '/api/audit')).toBe('admin')
  })
})

describe('the ingest port', () => {
  it('takes telemetry with an ingest (or admin) key only', async () => {
    const routes = apps.ingest.routeRoles.filter((r) => r.method === 'POST')
    expect(routes.map((r) => r.url).sort()).toEqual([
      '/v1/events',
      '/v1/logs',
      '/v1/metrics',
      '/v1/traces',
    ])
    const wrong: string[] = []
    for (const { url, role: needed } of routes) {
      const anonymous = await call(apps.ingest, 'post', url)
      if (anonymous.statusCode !== 401) wrong.push(`${url} without a key: ${anonymous.statusCode}`)
      for (const role of ROLES) {
        const res = await call(apps.ingest, 'post', url, tokens.get(role))
        if (allows(role, needed) === [401, 403].includes(res.statusCode))
          wrong.push(`${url} with ${role}: ${res.statusCode}`)
      }
    }
    expect(wrong).toEqual([])
  })
})

describe('sign-off', () => {
  it('is refused to the identity that started the run, and recorded under the finance key', async () => {
    await insertEvents(storage, [
      { system: 'order', type: 'order.created', key: 'o-1', at: nanosAgo(HOUR_NS) },
    ])
    const auth = (role: Role) => ({ authorization: `Bearer ${tokens.get(role)}` })
    const started = await apps.api.inject({
      method: 'POST',
      url: '/api/reconcile/runs',
      headers: auth('admin'),
      payload: { rule: 'order-payment' },
    })
    expect(started.statusCode).toBe(202)
    const { id } = started.json<{ id: string }>()
    for (let i = 0; i < 100; i++) {
      const run = await apps.api.inject({
        url: `/api/reconcile/runs/${id}`,
        headers: auth('viewer'),
      })
      if (run.json<{ state: string }>().state !== 'running') break
      await new Promise((r) => setTimeout(r, 50))
    }
    const signoff = (role: Role) =>
      apps.api.inject({
        method: 'POST',
        url: `/api/reconcile/runs/${id}/signoff`,
        headers: auth(role),
        payload: { comment: 'checked' },
      })
    const byStarter = await signoff('admin')
    expect(byStarter.statusCode).toBe(403)
    const byFinance = await signoff('finance')
    expect(byFinance.statusCode).toBe(200)
    expect(byFinance.json()).toMatchObject({ signoff: { by: 'key:finance', comment: 'checked' } })

    const audit = await apps.api.inject({ url: `/api/audit?target=${id}`, headers: auth('admin') })
    const records = audit.json<{ records: { action: string; identity: string }[] }>().records
    expect(records.map((r) => [r.action, r.identity])).toEqual([
      ['report.signoff', 'key:finance'],
      ['run.start', 'key:admin'],
    ])
  })
})
