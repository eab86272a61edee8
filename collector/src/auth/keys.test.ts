// API keys through the query API: created by an admin, shown once, hashed at rest, refused
// from the request after their revocation or expiry, and every change audited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testApps, type TestApps } from '../testing/apps.js'
import { nowNanos } from '../time/instant.js'

let t: TestApps
let admin: string
beforeAll(async () => {
  t = await testApps({ auth: { mode: 'keys' } })
  ;({ token: admin } = await t.context.auth.keys.create({
    name: 'first-admin',
    role: 'admin',
    by: 'test',
  }))
})
afterAll(() => t.close())

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

async function createKey(body: object, token = admin) {
  return t.api.inject({ method: 'POST', url: '/api/keys', headers: bearer(token), payload: body })
}

describe('POST /api/keys', () => {
  it('answers the token once; the store keeps only a hash of its secret', async () => {
    const res = await createKey({ name: 'ci', role: 'viewer' })
    expect(res.statusCode).toBe(201)
    const { token, key } = res.json<{ token: string; key: { id: string; role: string } }>()
    expect(token).toMatch(/^rk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/)
    expect(key).toMatchObject({ role: 'viewer', createdBy: 'key:first-admin' })

    const rs = await t.context.storage.client.query({
      query: `SELECT * FROM ${t.config.clickhouse.database}.api_keys WHERE id = {id:String}`,
      query_params: { id: key.id },
      format: 'JSONEachRow',
    })
    const [row] = await rs.json<Record<string, unknown>>()
    const stored = JSON.stringify(row)
    const secret = token.split('_')[2]!
    expect(stored).not.toContain(secret)
    expect(row?.secret_hash).toMatch(/^[0-9a-f]{64}$/)

    const listed = await t.api.inject({ url: '/api/keys', headers: bearer(admin) })
    expect(listed.body).not.toContain(secret)
    expect(listed.body).not.toContain(String(row?.secret_hash))
    const names = listed.json<{ keys: { name: string }[] }>().keys.map((k) => k.name)
    expect(names).toEqual(expect.arrayContaining(['ci', 'first-admin']))
  })

  it('refuses a second key of a name in use, an unknown role and a past expiry', async () => {
    await createKey({ name: 'dup', role: 'viewer' })
    expect((await createKey({ name: 'dup', role: 'viewer' })).statusCode).toBe(409)
    const badRole = await createKey({ name: 'x', role: 'root' })
    expect(badRole.statusCode).toBe(400)
    const past = await createKey({ name: 'y', role: 'viewer', expires: '2001-01-01T00:00:00Z' })
    expect(past.statusCode).toBe(400)
    expect(past.json<{ message: string }>().message).toMatch(/expires must be in the future/)
  })

  it('is refused to every role but admin', async () => {
    const { token } = (await createKey({ name: 'op', role: 'operator' })).json<{
      token: string
    }>()
    const res = await createKey({ name: 'sneaky', role: 'admin' }, token)
    expect(res.statusCode).toBe(403)
    expect(res.json<{ message: string }>().message).toBe(
      'this needs role admin; key:op holds operator',
    )
  })
})

describe('a revoked or expired key', () => {
  it('is refused from the request after its revocation', async () => {
    const { token, key } = (await createKey({ name: 'to-revoke', role: 'viewer' })).json<{
      token: string
      key: { id: string }
    }>()
    expect((await t.api.inject({ url: '/api/switches', headers: bearer(token) })).statusCode).toBe(
      200,
    )
    const revoked = await t.api.inject({
      method: 'DELETE',
      url: `/api/keys/${key.id}`,
      headers: bearer(admin),
    })
    expect(revoked.statusCode).toBe(200)
    const after = await t.api.inject({ url: '/api/switches', headers: bearer(token) })
    expect(after.statusCode).toBe(401)
    expect(after.headers['www-authenticate']).toBe('Bearer realm="reckon"')
    expect(after.json<{ message: string }>().message).toBe('the API key was revoked')
  })

  it('is refused once its time has passed', async () => {
    const { token } = await t.context.auth.keys.create({
      name: 'short-lived',
      role: 'viewer',
      by: 'test',
      expiresAt: nowNanos() + 300_000_000n,
    })
    expect((await t.api.inject({ url: '/api/switches', headers: bearer(token) })).statusCode).toBe(
      200,
    )
    await new Promise((r) => setTimeout(r, 400))
    const after = await t.api.inject({ url: '/api/switches', headers: bearer(token) })
    expect(after.statusCode).toBe(401)
    expect(after.json<{ message: string }>().message).toBe('the API key has expired')
  })

  it('a made-up token of the right shape is unknown, another shape malformed', async () => {
    const madeUp = `rk_${'0'.repeat(16)}_${'A'.repeat(43)}`
    const res = await t.api.inject({ url: '/api/switches', headers: bearer(madeUp) })
    expect(res.json<{ message: string }>().message).toBe('the API key is not known here')
    const other = await t.api.inject({ url: '/api/switches', headers: bearer('hunter2') })
    expect(other.statusCode).toBe(401)
    expect(other.json<{ message: string }>().message).toMatch(/not one Reckon issued/)
  })
})

describe('GET /api/audit', () => {
  it('records key changes and switch flips under the caller, whatever the body claims', async () => {
    const { token } = (await createKey({ name: 'oncall', role: 'operator' })).json<{
      token: string
    }>()
    const flip = await t.api.inject({
      method: 'PUT',
      url: '/api/switches/payment.async-capture',
      headers: bearer(token),
      payload: { on: true, by: 'mallory', reason: 'provider degraded' },
    })
    expect(flip.statusCode).toBe(200)
    expect(flip.json<{ updatedBy: string }>().updatedBy).toBe('key:oncall')

    const res = await t.api.inject({
      url: '/api/audit?action=switch.change',
      headers: bearer(admin),
    })
    expect(res.statusCode).toBe(200)
    const [record] = res.json<{ records: Record<string, unknown>[] }>().records
    expect(record).toMatchObject({
      identity: 'key:oncall',
      role: 'operator',
      via: 'key',
      action: 'switch.change',
      target: 'payment.async-capture',
      details: { on: true, reason: 'provider degraded' },
    })
    expect(JSON.stringify(record)).not.toContain('mallory')

    const keys = await t.api.inject({ url: '/api/audit?action=key.create', headers: bearer(admin) })
    const created = keys.json<{ records: { identity: string; details: { name: string } }[] }>()
    expect(created.records.map((r) => r.details.name)).toContain('oncall')
    expect(created.records.every((r) => r.identity === 'key:first-admin')).toBe(true)

    const viewerOnly = (await createKey({ name: 'reader', role: 'viewer' })).json<{
      token: string
    }>()
    const refused = await t.api.inject({ url: '/api/audit', headers: bearer(viewerOnly.token) })
    expect(refused.statusCode).toBe(403)
  })
})
