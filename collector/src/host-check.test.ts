// DNS rebinding: a page of attacker.example, re-pointed at 127.0.0.1, reaches a loopback
// server from the user's browser with `Host: attacker.example`. Such requests are refused.
import { request } from 'node:http'
import { describe, expect, it } from 'vitest'
import { ENV_KEYS, loadConfig } from './config/index.js'
import type { DeepPartial } from './config/load.js'
import type { Config } from './config/schema.js'
import { testApps, type TestApps } from './testing/apps.js'
import { hex } from './testing/harness.js'
import { jsonTrace } from './testing/otlp.js'

async function withApps(over: DeepPartial<Config>, fn: (t: TestApps) => Promise<void>) {
  const t = await testApps(over)
  try {
    await fn(t)
  } finally {
    await t.close()
  }
}

const getSwitches = (t: TestApps, host: string) =>
  t.api.inject({ url: '/api/switches', headers: { host } })
const putSwitch = (t: TestApps, host: string, name: string) =>
  t.api.inject({
    method: 'PUT',
    url: `/api/switches/${name}`,
    headers: { host },
    payload: { on: true, by: 'page' },
  })
const postTrace = (t: TestApps, host: string, traceId: string) =>
  t.ingest.inject({
    method: 'POST',
    url: '/v1/traces',
    headers: { host, 'content-type': 'application/json' },
    payload: JSON.stringify(jsonTrace(traceId, [{ spanId: hex(8), name: 'from a page' }])),
  })

describe('bound to loopback', () => {
  it('refuses another Host with 421 on both ports, GET, PUT and POST, and keeps nothing', async () => {
    await withApps({}, async (t) => {
      expect(t.config.host).toBe('127.0.0.1')
      const attacker = 'attacker.example:8318'
      const get = await getSwitches(t, attacker)
      expect(get.statusCode).toBe(421)
      expect(get.json()).toEqual({
        statusCode: 421,
        error: 'Misdirected Request',
        message:
          'Host "attacker.example:8318" is not served here: this server answers to localhost, 127.0.0.1, [::1]; add the name to allowedHosts (RECKON_ALLOWED_HOSTS) to serve it',
      })
      expect((await putSwitch(t, attacker, 'flipped')).statusCode).toBe(421)
      const traceId = hex(16)
      const posted = await postTrace(t, 'attacker.example:4318', traceId)
      expect(posted.statusCode).toBe(421)
      expect(posted.json().message).toMatch(/^Host "attacker.example:4318" is not served here/)
      expect(
        (await t.ingest.inject({ url: '/healthz', headers: { host: 'evil' } })).statusCode,
      ).toBe(421)
      await t.flush()
      // Nothing the page sent was kept.
      expect((await getSwitches(t, 'localhost')).json()).toEqual({ switches: [] })
      expect((await t.api.inject({ url: `/api/traces/${traceId}` })).statusCode).toBe(404)
    })
  })

  it('serves localhost, 127.0.0.1 and [::1], with or without the port, in any case', async () => {
    await withApps({}, async (t) => {
      for (const host of [
        'localhost',
        'localhost:8318',
        'LocalHost:1',
        '127.0.0.1',
        '127.0.0.1:8318',
        '[::1]',
        '[::1]:8318',
      ]) {
        expect((await getSwitches(t, host)).statusCode, host).toBe(200)
      }
      expect((await putSwitch(t, '[::1]:8318', 'local')).statusCode).toBe(200)
      expect((await postTrace(t, '127.0.0.1:4318', hex(16))).statusCode).toBe(200)
      // Names that only look local are refused.
      for (const host of [
        'localhost.attacker.example',
        '127.0.0.1.nip.io',
        '127.0.0.2',
        '0.0.0.0',
      ]) {
        expect((await getSwitches(t, host)).statusCode, host).toBe(421)
      }
    })
  })

  it('serves the names in allowedHosts too (a reverse proxy)', async () => {
    await withApps({ allowedHosts: ['reckon.internal', '10.0.0.5'] }, async (t) => {
      expect((await getSwitches(t, 'reckon.internal')).statusCode).toBe(200)
      expect((await putSwitch(t, 'Reckon.Internal:443', 'proxied')).statusCode).toBe(200)
      expect((await postTrace(t, '10.0.0.5:4318', hex(16))).statusCode).toBe(200)
      expect((await getSwitches(t, 'attacker.example')).statusCode).toBe(421)
    })
  })

  it('refuses over a real socket too', async () => {
    await withApps({}, async (t) => {
      const url = new URL(await t.api.listen({ host: '127.0.0.1', port: 0 }))
      const send = (method: string, host: string) =>
        new Promise<number>((resolve, reject) => {
          const req = request(
            {
              host: url.hostname,
              port: url.port,
              method,
              path: '/api/switches/real',
              headers: { host, 'content-type': 'application/json' },
            },
            (res) => {
              res.resume()
              resolve(res.statusCode ?? 0)
            },
          )
          req.on('error', reject)
          req.end(method === 'PUT' ? JSON.stringify({ on: true, by: 'page' }) : undefined)
        })
      expect(await send('PUT', 'attacker.example')).toBe(421)
      expect(await send('PUT', `localhost:${url.port}`)).toBe(200)
    })
  })
})

describe('bound to another address', () => {
  it('serves any Host by default, and only the configured ones (and loopback) when some are', async () => {
    await withApps({ host: '0.0.0.0' }, async (t) => {
      expect((await getSwitches(t, 'collector.example')).statusCode).toBe(200)
      expect((await postTrace(t, 'collector.example:4318', hex(16))).statusCode).toBe(200)
    })
    await withApps({ host: '0.0.0.0', allowedHosts: ['reckon.example'] }, async (t) => {
      expect((await getSwitches(t, 'reckon.example')).statusCode).toBe(200)
      expect((await getSwitches(t, 'localhost')).statusCode).toBe(200)
      expect((await getSwitches(t, 'collector.example')).statusCode).toBe(421)
    })
  })
})

describe('allowedHosts', () => {
  it('comes from RECKON_ALLOWED_HOSTS as a comma-separated list', () => {
    expect(ENV_KEYS.RECKON_ALLOWED_HOSTS).toBeDefined()
    const c = loadConfig({
      env: { RECKON_ALLOWED_HOSTS: 'a.example, [fd00::1] ,*' },
      file: '/dev/null',
    })
    expect(c.allowedHosts).toEqual(['a.example', '[fd00::1]', '*'])
    expect(() =>
      loadConfig({ env: { RECKON_ALLOWED_HOSTS: 'a.example:80' }, file: '/dev/null' }),
    ).toThrow(/RECKON_ALLOWED_HOSTS/)
  })
})
