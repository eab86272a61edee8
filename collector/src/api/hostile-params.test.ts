// Every route of the query API, every parameter, asked with what a careless or hostile
// client sends: the answer is a 4xx naming what is wrong, never a 5xx.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testApps, type TestApps } from '../testing/apps.js'
import { hex } from '../testing/harness.js'

let t: TestApps
beforeAll(async () => {
  t = await testApps()
})
afterAll(() => t.close())

interface Param {
  in: 'path' | 'query'
  name: string
  schema: { type?: string; pattern?: string; minimum?: number }
}
interface Operation {
  parameters?: Param[]
  requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown> } }> }
}

// Values as they appear in the URL, already percent-encoded.
const HOSTILE = [
  'Infinity',
  '-Infinity',
  'NaN',
  '1e400',
  '-1',
  '0',
  '1.5',
  '9'.repeat(400),
  '99999999999999999999',
  '',
  '%20',
  '0x10',
  '1e3',
  'x'.repeat(4000),
  '%ED%A0%80', // a lone surrogate's UTF-8 bytes
  '%00',
  '%27%20OR%201%3D1%20--',
  'now-999999999999999999s',
  'now-1d',
  '9999-12-31T23:59:59Z',
  '0000-01-01T00:00:00Z',
]

/** Valid values for path parameters, so each one can be tried on its own. */
const VALID_PATH: Record<string, string> = { traceId: hex(16), flowId: 'f-1', name: 'svc' }

const fill = (path: string, name?: string, value?: string): string =>
  path.replace(/\{(\w+)\}/g, (_, p: string) => (p === name ? value! : VALID_PATH[p]!))

/** Numbers and times: no hostile spelling may reach the engine. */
const strict = (p: Param): boolean =>
  p.schema.type === 'integer' || p.schema.type === 'number' || p.name === 'from' || p.name === 'to'

/** The few hostile values that are also fine numbers or times. */
const acceptable = (p: Param, value: string): boolean =>
  p.name === 'from' || p.name === 'to'
    ? ['0', 'now-1d'].includes(value)
    : (p.schema.type === 'number' && ['0', '1.5'].includes(value)) ||
      (p.schema.type === 'integer' && p.schema.minimum === 0 && value === '0')

describe('hostile parameters', () => {
  it('are answered 4xx on every route, numbers and times refused by name, never a 5xx', async () => {
    const doc = (await t.api.inject({ url: '/api/docs/json' })).json<{
      paths: Record<string, Record<string, Operation>>
    }>()
    const answered: string[] = []
    const serverErrors: string[] = []
    const accepted: string[] = []
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const params = [...(op.parameters ?? [])]
        // attr.KEY filters are pattern properties, which OpenAPI parameters cannot list.
        if (path === '/api/traces') params.push({ in: 'query', name: 'attr.k', schema: {} })
        for (const p of params) {
          for (const value of HOSTILE) {
            const url =
              p.in === 'path'
                ? fill(path, p.name, value)
                : `${fill(path)}?${encodeURIComponent(p.name)}=${value}`
            const res = await t.api.inject({
              method: method.toUpperCase() as 'GET' | 'PUT',
              url,
              ...(method === 'put' ? { payload: { on: true, by: 'test' } } : {}),
            })
            answered.push(`${method}:${path} ${url}`)
            const what = `${method.toUpperCase()} ${url.slice(0, 120)} → ${res.statusCode} ${res.body.slice(0, 200)}`
            if (res.statusCode >= 500) serverErrors.push(what)
            else if (strict(p) && !acceptable(p, value)) {
              if (
                res.statusCode !== 400 ||
                !res.json<{ message: string }>().message.includes(p.name)
              )
                accepted.push(what)
            }
          }
        }
      }
    }
    expect(serverErrors).toEqual([])
    expect(accepted).toEqual([])
    // The walk saw the whole API: the 14 operations that take parameters, 55 of them.
    expect(new Set(answered.map((a) => a.split(' ')[0])).size).toBeGreaterThanOrEqual(14)
    expect(answered.length).toBeGreaterThanOrEqual(55 * HOSTILE.length)
  }, 120_000)

  it('refuses hostile bodies of PUT /api/switches/:name with 4xx', async () => {
    const bodies: unknown[] = [
      { on: 'Infinity', by: 'a' },
      { on: true, by: '\ud800' },
      { on: true, by: 'a', reason: 'cut \udfff here' },
      { on: true, by: 'a', description: 'x'.repeat(5000) },
      { on: true, by: 'a', flowPinned: 'yes' },
      { on: true, by: 'a', extra: 1 },
      { by: 'a' },
      [],
      'null',
    ]
    for (const payload of bodies) {
      const res = await t.api.inject({
        method: 'PUT',
        url: '/api/switches/hostile',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(payload),
      })
      expect.soft(res.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(400)
    }
    // Nothing of them was stored.
    const history = await t.api.inject({ url: '/api/switches/hostile/history' })
    expect(history.json()).toEqual({ changes: [] })
  })
})
