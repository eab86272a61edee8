// Compensations against a real endpoint on 127.0.0.1 that dedupes on Idempotency-Key, as a
// well-built one does: what it received, how often it applied each effect, and what the
// finding's history and attempts say afterwards.
import type { Storage } from '@reckon/collector/storage'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { CompensationConfig, ReconcilerConfig } from '../config.js'
import { getFinding } from '../finding-reads.js'
import { Reconciler } from '../reconciler.js'
import { startEndpoint, type Endpoint } from '../testing/endpoint.js'
import { dropStorage, HOUR_NS, insertEvents, nanosAgo, testStorage } from '../testing/harness.js'

let endpoint: Endpoint
const storages: Storage[] = []
beforeAll(async () => {
  endpoint = await startEndpoint()
})
afterEach(() => {
  endpoint.calls.length = 0
  endpoint.applied.clear()
})
afterAll(async () => {
  await endpoint.close()
  for (const s of storages) await dropStorage(s)
})

const FAST = { backoff: { initial: '50ms', max: '200ms' } }

function configOf(dropped: CompensationConfig): ReconcilerConfig {
  return {
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
          compensate: { dropped },
        },
      ],
    },
  }
}

const markPaid = (): CompensationConfig['action'] => ({
  method: 'POST',
  url: `${endpoint.url}/orders/{{key}}/mark-paid`,
  body: {
    order: '{{key}}',
    amount: '{{left.amount}}',
    currency: '{{left.currency}}',
    finding: '{{finding.id}}',
  },
})

/** A reconciler on a fresh database with orders `keys` paid but never captured, run once. */
async function setUp(dropped: CompensationConfig, keys: string[]) {
  const storage = await testStorage()
  storages.push(storage)
  const reconciler = new Reconciler({
    storage,
    config: configOf(dropped),
    compensation: { timeoutMs: 400, leaseMs: 20_000 },
  })
  const at = nanosAgo(HOUR_NS)
  await insertEvents(
    storage,
    keys.map((key) => ({
      system: 'order',
      type: 'order.created',
      key,
      amount: '12.5',
      at,
      flowId: `flow-${key}`,
    })),
  )
  const run = await runOnce(reconciler)
  const ids = new Map<string, string>()
  const rs = await storage.client.query({
    query: `SELECT key, finding_id FROM ${storage.database}.reconcile_breaks WHERE run_id = {run:String}`,
    query_params: { run: run.id },
    format: 'JSONEachRow',
  })
  for (const r of await rs.json<{ key: string; finding_id: string }>()) ids.set(r.key, r.finding_id)
  return { storage, reconciler, ids, at }
}

async function runOnce(reconciler: Reconciler) {
  const { done } = await reconciler.run({ rule: 'order-payment', by: 'tester' })
  const run = await done
  if (run.state !== 'done') throw new Error(run.error)
  return run
}

/** Compensates until `done` holds, as the loop would, ticking every 20 ms. */
async function compensateUntil(reconciler: Reconciler, done: () => Promise<boolean>, ms = 8000) {
  const end = Date.now() + ms
  while (!(await done())) {
    if (Date.now() > end) throw new Error('compensation did not finish in time')
    await reconciler.compensateOnce()
    await new Promise((r) => setTimeout(r, 20))
  }
}

const stateOf = async (storage: Storage, id: string) => (await getFinding(storage, id))?.state

describe('the compensator', () => {
  it('hands a category the rule escalates to a person at once, calling nothing', async () => {
    const before = endpoint.calls.length
    const { storage, reconciler, ids } = await setUp({ escalate: true }, ['o-money'])
    const id = ids.get('o-money')!
    await compensateUntil(reconciler, async () => (await stateOf(storage, id)) === 'escalated')
    expect(endpoint.calls.length).toBe(before)
    const finding = await getFinding(storage, id)
    expect(finding?.history.at(-1)).toMatchObject({
      state: 'escalated',
      why: 'needs a person: rule order-payment hands dropped findings to people',
    })
    expect(finding?.attempts).toEqual([])
  })

  it('retries a failing endpoint with backoff until it succeeds: one effective call per finding, one key each', async () => {
    endpoint.behave('o-flaky', { failures: 2 })
    const { storage, reconciler, ids } = await setUp(
      { ...FAST, maxAttempts: 5, action: markPaid() },
      ['o-ok', 'o-flaky'],
    )
    await compensateUntil(reconciler, async () => {
      const states = await Promise.all([...ids.values()].map((id) => stateOf(storage, id)))
      return states.every((s) => s === 'compensated')
    })

    const flaky = endpoint.calls.filter((c) => c.key === 'o-flaky')
    expect(flaky.map((c) => c.status)).toEqual([503, 503, 201])
    expect(endpoint.calls.filter((c) => c.key === 'o-ok').map((c) => c.status)).toEqual([201])
    // Every call of a finding carries its ID as the key; each effect applied once.
    for (const [key, id] of ids)
      expect(
        new Set(endpoint.calls.filter((c) => c.key === key).map((c) => c.idempotencyKey)),
      ).toEqual(new Set([id]))
    expect(Object.fromEntries(endpoint.applied)).toEqual({ 'o-ok': 1, 'o-flaky': 1 })
    // Equal jitter on 50 ms doubling: waits of at least 25 ms, then 50 ms.
    expect(flaky[1]!.at - flaky[0]!.at).toBeGreaterThanOrEqual(25)
    expect(flaky[2]!.at - flaky[1]!.at).toBeGreaterThanOrEqual(50)

    const call = flaky[2]!
    expect(call.contentType).toBe('application/json')
    expect(JSON.parse(call.body)).toEqual({
      order: 'o-flaky',
      amount: '12.50',
      currency: 'EUR',
      finding: ids.get('o-flaky'),
    })
    expect(call.baggage).toBe('reckon.flow.id=flow-o-flaky')
    const [, traceId] = /^00-([0-9a-f]{32})-[0-9a-f]{16}-01$/.exec(call.traceparent) ?? []
    expect(traceId).toBeDefined()

    const f = await getFinding(storage, ids.get('o-flaky')!)
    expect(f!.history.map((h) => h.state)).toEqual(['open', 'compensating', 'compensated'])
    expect(f!.history[2]!.why).toBe('the action answered 201 (attempt 3); the next run checks')
    expect(
      f!.attempts.map((a) => `${a.attempt} ${a.step} ${a.outcome} ${a.httpStatus ?? ''}`),
    ).toEqual([
      '1 action started ',
      '1 action failed 503',
      '2 action started ',
      '2 action failed 503',
      '3 action started ',
      '3 action succeeded 201',
    ])
    expect(f!.attempts[1]!.nextAt).not.toBeNull()
    expect(f!.attempts.at(-1)!.nextAt).toBeNull()
    // The finding links to the compensation's trace.
    expect(f!.attempts.at(-1)!.traceId).toBe(traceId)

    // Nothing more to do: another pass calls nobody.
    const n = endpoint.calls.length
    await reconciler.compensateOnce()
    expect(endpoint.calls).toHaveLength(n)
  })

  it('escalates after maxAttempts failures (timeouts count), and at once when the other side refuses', async () => {
    endpoint.behave('o-down', { always: 503 })
    endpoint.behave('o-slow', { delayMs: 800 })
    endpoint.behave('o-bad', { always: 422 })
    const { storage, reconciler, ids } = await setUp(
      { ...FAST, maxAttempts: 3, action: markPaid() },
      ['o-down', 'o-slow', 'o-bad'],
    )
    await compensateUntil(reconciler, async () => {
      const states = await Promise.all([...ids.values()].map((id) => stateOf(storage, id)))
      return states.every((s) => s === 'escalated')
    })
    const count = (key: string) => endpoint.calls.filter((c) => c.key === key).length
    expect([count('o-down'), count('o-slow'), count('o-bad')]).toEqual([3, 3, 1])

    const why = async (key: string) =>
      (await getFinding(storage, ids.get(key)!))!.history.at(-1)!.why
    expect(await why('o-down')).toMatch(
      /^needs a person: 3 attempts failed, last: 503 Service Unavailable/,
    )
    expect(await why('o-slow')).toBe(
      'needs a person: 3 attempts failed, last: no answer within 400 ms',
    )
    expect(await why('o-bad')).toMatch(
      /^needs a person: the other side refused the action: 422 Unprocessable Entity/,
    )
    const down = await getFinding(storage, ids.get('o-down')!)
    expect(down!.attempts.at(-1)).toMatchObject({
      outcome: 'failed',
      httpStatus: 503,
      nextAt: null,
    })

    await reconciler.compensateOnce()
    expect(count('o-down')).toBe(3)
  })

  it('asks the other system first: a record it has is a late one, not a break', async () => {
    endpoint.behave('o-late', { has: true })
    const verify = { method: 'GET' as const, url: `${endpoint.url}/orders/{{key}}` }
    const { storage, reconciler, ids, at } = await setUp({ ...FAST, verify, action: markPaid() }, [
      'o-late',
      'o-lost',
    ])
    await compensateUntil(reconciler, async () => {
      const states = await Promise.all([...ids.values()].map((id) => stateOf(storage, id)))
      return states.every((s) => s === 'compensated')
    })
    expect(endpoint.calls.map((c) => `${c.method} ${c.key} ${c.status}`).sort()).toEqual([
      'GET o-late 200',
      'GET o-lost 404',
      'POST o-lost 201',
    ])
    const late = await getFinding(storage, ids.get('o-late')!)
    expect(late!.history.at(-1)!.why).toBe(
      'verify: the other system has it (200); the next run checks',
    )
    expect(late!.attempts.map((a) => `${a.step} ${a.outcome}`)).toEqual([
      'verify started',
      'verify found',
    ])

    // The late payment arrives; the next run no longer sees either break.
    await insertEvents(
      storage,
      ['o-late', 'o-lost'].map((key) => ({
        system: 'payment',
        type: 'payment.captured',
        key,
        amount: '12.5',
        at,
      })),
    )
    const run = await runOnce(reconciler)
    for (const id of ids.values()) {
      const f = await getFinding(storage, id)
      expect(f!.history.at(-1)).toMatchObject({
        state: 'resolved',
        why: `its compensation worked: ${run.id} no longer sees the break`,
      })
    }
  })

  it('runs leave a finding awaiting its retry alone, and hand a compensated one still seen to a person', async () => {
    endpoint.behave('o-wait', { failures: 1 })
    const { storage, reconciler, ids, at } = await setUp(
      { maxAttempts: 5, backoff: { initial: '1h', max: '2h' }, action: markPaid() },
      ['o-wait', 'o-done'],
    )
    await reconciler.compensateOnce()
    expect(await stateOf(storage, ids.get('o-wait')!)).toBe('compensating')
    expect(await stateOf(storage, ids.get('o-done')!)).toBe('compensated')

    const run = await runOnce(reconciler)
    // Still seen, retry not due: no new row, no call.
    const wait = await getFinding(storage, ids.get('o-wait')!)
    expect(wait!.history.map((h) => h.state)).toEqual(['open', 'compensating'])
    // Compensated but still seen: opened again by the run, then escalated, not called again.
    const before = endpoint.calls.length
    await reconciler.compensateOnce()
    expect(endpoint.calls).toHaveLength(before)
    const done = await getFinding(storage, ids.get('o-done')!)
    expect(done!.history.map((h) => `${h.state}: ${h.why}`)).toEqual([
      `open: found by ${done!.history[0]!.runId}`,
      'compensating: attempt 1: action',
      'compensated: the action answered 201 (attempt 1); the next run checks',
      `open: still there after its compensation (${run.id})`,
      'escalated: needs a person: its compensation succeeded (attempt 1), yet the break is still there',
    ])

    // The payment turns up while the retry waits: the run resolves it, and the retry is off.
    await insertEvents(storage, [
      { system: 'payment', type: 'payment.captured', key: 'o-wait', amount: '12.5', at },
    ])
    const third = await runOnce(reconciler)
    const resolved = await getFinding(storage, ids.get('o-wait')!)
    expect(resolved!.history.at(-1)).toMatchObject({
      state: 'resolved',
      why: `${third.id} no longer sees the break`,
    })
    await reconciler.compensateOnce()
    expect(endpoint.calls).toHaveLength(before)
  })

  it('makes each call a span when the process has a tracer, and sends its context', async () => {
    const spans: {
      name: string
      attributes: Record<string, unknown>
      status?: number
      ended: boolean
    }[] = []
    const tracer = {
      startSpan(
        name: string,
        options?: { attributes?: Record<string, string | number | boolean> },
      ) {
        const span = {
          name,
          attributes: { ...options?.attributes },
          ended: false,
        } as (typeof spans)[number]
        spans.push(span)
        return {
          spanContext: () => ({ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), traceFlags: 1 }),
          setAttribute: (k: string, v: string | number | boolean) => (span.attributes[k] = v),
          setStatus: (s: { code: number }) => (span.status = s.code),
          end: () => (span.ended = true),
        }
      },
    }
    endpoint.behave('o-traced', { failures: 1 })
    const { storage, ids } = await setUp({ ...FAST, action: markPaid() }, ['o-traced'])
    const reconciler = new Reconciler({
      storage,
      config: configOf({ ...FAST, action: markPaid() }),
      compensation: { tracer },
    })
    await compensateUntil(
      reconciler,
      async () => (await stateOf(storage, ids.get('o-traced')!)) === 'compensated',
    )
    expect(endpoint.calls.map((c) => c.traceparent)).toEqual([
      `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01`,
      `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01`,
    ])
    expect(
      spans.map((s) => [s.name, s.attributes['http.response.status_code'], s.status ?? 0, s.ended]),
    ).toEqual([
      ['reckon.compensate action', 503, 2, true],
      ['reckon.compensate action', 201, 0, true],
    ])
    expect(spans[0]!.attributes).toMatchObject({
      'reckon.finding.id': ids.get('o-traced'),
      'reckon.key': 'o-traced',
      'reckon.flow.id': 'flow-o-traced',
      'http.request.method': 'POST',
    })
    const f = await getFinding(storage, ids.get('o-traced')!)
    expect(new Set(f!.attempts.map((a) => a.traceId))).toEqual(new Set(['ab'.repeat(16)]))
  })

  it('two reconcilers on one database apply each compensation once', async () => {
    endpoint.behave('o-x', { delayMs: 100 })
    const { storage, reconciler, ids } = await setUp({ ...FAST, action: markPaid() }, [
      'o-x',
      'o-y',
      'o-z',
    ])
    const other = new Reconciler({ storage, config: configOf({ ...FAST, action: markPaid() }) })
    const ticks = await Promise.all([
      reconciler.compensateOnce(),
      other.compensateOnce(),
      reconciler.compensateOnce(),
      other.compensateOnce(),
    ])
    await compensateUntil(other, async () => {
      const states = await Promise.all([...ids.values()].map((id) => stateOf(storage, id)))
      return states.every((s) => s === 'compensated')
    })
    expect(ticks.some((t) => t.busy.includes('order-payment'))).toBe(true)
    expect(endpoint.calls.map((c) => c.key).sort()).toEqual(['o-x', 'o-y', 'o-z'])
    expect(Object.fromEntries(endpoint.applied)).toEqual({ 'o-x': 1, 'o-y': 1, 'o-z': 1 })
  })
})
