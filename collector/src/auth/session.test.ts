// Signing in to the UI: a key or a password gives an HttpOnly, SameSite=Strict session
// cookie; changes made with it need its CSRF token, and pages of other origins are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testApps, type TestApps } from '../testing/apps.js'
import { hashPassword } from './secrets.js'

let t: TestApps
let operatorKey: string
beforeAll(async () => {
  t = await testApps({
    auth: {
      mode: 'keys',
      users: [{ name: 'alice', role: 'finance', passwordHash: await hashPassword('s3cret pass') }],
    },
    rateLimit: { apiPerMinute: 6000, ingestPerSecond: 1000, signInPerMinute: 50 },
  })
  ;({ token: operatorKey } = await t.context.auth.keys.create({
    name: 'oncall',
    role: 'operator',
    by: 'test',
  }))
})
afterAll(() => t.close())

const HOST = { host: 'localhost:8318' }

async function signIn(body: object) {
  return t.api.inject({ method: 'POST', url: '/api/session', headers: HOST, payload: body })
}

function sessionOf(res: { headers: Record<string, unknown> }): string {
  const header = [res.headers['set-cookie']]
    .flat()
    .find((c) => String(c).startsWith('reckon_session='))
  return String(header).split(';')[0]!
}

describe('POST /api/session', () => {
  it('with a key: an HttpOnly, SameSite=Strict cookie, and the role of the key', async () => {
    const res = await signIn({ key: operatorKey })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ identity: 'key:oncall', role: 'operator' })
    const cookie = String([res.headers['set-cookie']].flat()[0])
    expect(cookie).toMatch(/^reckon_session=[^;]+;/)
    expect(cookie).toMatch(/HttpOnly/)
    expect(cookie).toMatch(/SameSite=Strict/)
    expect(cookie).toMatch(/Path=\//)

    const me = await t.api.inject({ url: '/api/me', headers: { ...HOST, cookie: sessionOf(res) } })
    expect(me.json()).toMatchObject({
      auth: 'on',
      identity: 'key:oncall',
      role: 'operator',
      via: 'session',
      csrfToken: res.json<{ csrfToken: string }>().csrfToken,
    })
  })

  it('with a user name and password; a wrong one is 401 and audited', async () => {
    const ok = await signIn({ username: 'alice', password: 's3cret pass' })
    expect(ok.json()).toMatchObject({ identity: 'user:alice', role: 'finance' })
    const wrong = await signIn({ username: 'alice', password: 'guess' })
    expect(wrong.statusCode).toBe(401)
    expect(wrong.json<{ message: string }>().message).toBe('wrong key, user name or password')
    const nobody = await signIn({ username: 'mallory', password: 'guess' })
    expect(nobody.statusCode).toBe(401)

    const admin = await t.context.auth.keys.create({ name: 'auditor', role: 'admin', by: 'test' })
    const audit = await t.api.inject({
      url: '/api/audit?action=session.refused',
      headers: { authorization: `Bearer ${admin.token}` },
    })
    const tried = audit.json<{ records: { details: { username?: string } }[] }>().records
    expect(tried.map((r) => r.details.username).sort()).toEqual(['alice', 'mallory'])
  })

  it('refuses an ingest key: it cannot sign in', async () => {
    const ingest = await t.context.auth.keys.create({ name: 'shop', role: 'ingest', by: 'test' })
    expect((await signIn({ key: ingest.token })).statusCode).toBe(403)
  })
})

describe('a change made with the session cookie', () => {
  it('needs the CSRF token; refused without it or with another', async () => {
    const res = await signIn({ key: operatorKey })
    const cookie = sessionOf(res)
    const { csrfToken } = res.json<{ csrfToken: string }>()
    const put = (headers: Record<string, string>) =>
      t.api.inject({
        method: 'PUT',
        url: '/api/switches/checkout.degraded',
        headers: { ...HOST, cookie, ...headers },
        payload: { on: true, reason: 'test' },
      })
    const none = await put({})
    expect(none.statusCode).toBe(403)
    expect(none.json<{ message: string }>().message).toMatch(/x-csrf-token/)
    expect((await put({ 'x-csrf-token': 'A'.repeat(43) })).statusCode).toBe(403)
    const ok = await put({ 'x-csrf-token': csrfToken })
    expect(ok.statusCode).toBe(200)
    expect(ok.json<{ updatedBy: string }>().updatedBy).toBe('key:oncall')
    // Reads need no token.
    const read = await t.api.inject({ url: '/api/switches', headers: { ...HOST, cookie } })
    expect(read.statusCode).toBe(200)
  })

  it('from a page of another origin is refused, token or not', async () => {
    const res = await signIn({ key: operatorKey })
    const { csrfToken } = res.json<{ csrfToken: string }>()
    const foreign = await t.api.inject({
      method: 'PUT',
      url: '/api/switches/checkout.degraded',
      headers: {
        ...HOST,
        cookie: sessionOf(res),
        'x-csrf-token': csrfToken,
        origin: 'http://127.0.0.1:9999',
      },
      payload: { on: false },
    })
    expect(foreign.statusCode).toBe(403)
    expect(foreign.json<{ message: string }>().message).toBe(
      'requests from http://127.0.0.1:9999 may not change anything here',
    )
  })

  it('ends with the key it was made with, and on sign-out', async () => {
    const key = await t.context.auth.keys.create({ name: 'temp', role: 'viewer', by: 'test' })
    const res = await signIn({ key: key.token })
    const cookie = sessionOf(res)
    const { csrfToken } = res.json<{ csrfToken: string }>()
    expect((await t.api.inject({ url: '/api/switches', headers: { cookie } })).statusCode).toBe(200)
    const out = await t.api.inject({
      method: 'DELETE',
      url: '/api/session',
      headers: { ...HOST, cookie, 'x-csrf-token': csrfToken },
    })
    expect(out.statusCode).toBe(200)
    expect(String([out.headers['set-cookie']].flat()[0])).toMatch(/^reckon_session=;/)

    await t.context.auth.keys.revoke(key.key.id, 'test')
    const after = await t.api.inject({ url: '/api/switches', headers: { cookie } })
    expect(after.statusCode).toBe(401)
    expect(after.json<{ message: string }>().message).toBe(
      'the session has ended, sign in again: the API key was revoked',
    )
  })

  it('a forged or altered cookie is refused', async () => {
    const cookie = sessionOf(await signIn({ key: operatorKey }))
    const [name, value] = cookie.split('=')
    const [payload, mac] = value!.split('.')
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as object
    const forged = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url')
    const res = await t.api.inject({
      url: '/api/keys',
      headers: { cookie: `${name}=${forged}.${mac}` },
    })
    expect(res.statusCode).toBe(401)
  })
})

describe('sign-in attempts', () => {
  it('are limited per address: 429 with Retry-After', async () => {
    const fresh = await testApps({
      auth: { mode: 'keys' },
      rateLimit: { apiPerMinute: 6000, ingestPerSecond: 1000, signInPerMinute: 3 },
    })
    try {
      const statuses: number[] = []
      let last
      for (let i = 0; i < 5; i++) {
        last = await fresh.api.inject({
          method: 'POST',
          url: '/api/session',
          payload: { key: `rk_${'0'.repeat(16)}_${'A'.repeat(43)}` },
        })
        statuses.push(last.statusCode)
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429])
      expect(Number(last?.headers['retry-after'])).toBeGreaterThan(0)
    } finally {
      await fresh.close()
    }
  })
})

describe('GET /api/me with auth off', () => {
  it('says so: everyone is local', async () => {
    const off = await testApps()
    try {
      const me = await off.api.inject({ url: '/api/me' })
      expect(me.json()).toEqual({
        auth: 'off',
        identity: 'local',
        role: 'admin',
        via: 'local',
        csrfToken: null,
      })
      // A page the user opens elsewhere still cannot change anything here.
      const csrf = await off.api.inject({
        method: 'PUT',
        url: '/api/switches/x',
        headers: { origin: 'http://evil.example' },
        payload: { on: true },
      })
      expect(csrf.statusCode).toBe(403)
    } finally {
      await off.close()
    }
  })
})
