import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { IdempotencyStore } from './idempotency.js'

function app() {
  const store = new IdempotencyStore()
  let runs = 0
  const server = Fastify()
  server.post('/refund', async (request, reply) =>
    store.handle(request, reply, async () => {
      runs++
      await new Promise((r) => setTimeout(r, 20))
      if (runs === 1 && request.headers['x-fail'] === 'yes') throw new Error('bank down')
      return { status: 200, body: { refund: runs } }
    }),
  )
  return { server, runs: () => runs }
}

const refund = (server: ReturnType<typeof app>['server'], key?: string, fail = false) =>
  server.inject({
    method: 'POST',
    url: '/refund',
    headers: { ...(key ? { 'idempotency-key': key } : {}), ...(fail ? { 'x-fail': 'yes' } : {}) },
  })

describe('IdempotencyStore', () => {
  it('does the work once per key, also for concurrent requests, and replays the answer', async () => {
    const { server, runs } = app()
    const [a, b] = await Promise.all([refund(server, 'k1'), refund(server, 'k1')])
    const c = await refund(server, 'k1')
    expect(runs()).toBe(1)
    expect([a.json(), b.json(), c.json()]).toEqual([{ refund: 1 }, { refund: 1 }, { refund: 1 }])
    expect(c.headers['idempotent-replayed']).toBe('true')
    expect((await refund(server, 'k2')).json()).toEqual({ refund: 2 })
  })

  it('requires the key, and lets a failed attempt be tried again', async () => {
    const { server, runs } = app()
    const missing = await refund(server)
    expect(missing.statusCode).toBe(400)
    expect(missing.json().error).toContain('Idempotency-Key')
    expect((await refund(server, 'k', true)).statusCode).toBe(500)
    const retried = await refund(server, 'k')
    expect(retried.statusCode).toBe(200)
    expect(runs()).toBe(2)
  })
})
