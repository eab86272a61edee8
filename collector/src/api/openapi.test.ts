// The OpenAPI document tells a client every answer it can get, errors included.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testApps, type TestApps } from '../testing/apps.js'

let t: TestApps
beforeAll(async () => {
  t = await testApps()
})
afterAll(() => t.close())

interface Response {
  description?: string
  content?: Record<string, { schema?: { properties?: Record<string, unknown> } }>
}
interface Operation {
  parameters?: unknown[]
  requestBody?: unknown
  responses: Record<string, Response>
  'x-role'?: string
}

/** Routes that read no table: signing in and out, and who am I. */
const NOT_QUERIES = ['/api/me', '/api/session']

const ERROR_FIELDS = ['statusCode', 'error', 'message']

describe('GET /api/docs/json', () => {
  it('declares, for every route, its answers with a schema: 200, 421, 400 with parameters, 422 and 503 for queries, 401 and 403 with a role', async () => {
    const doc = (await t.api.inject({ url: '/api/docs/json' })).json<{
      paths: Record<string, Record<string, Operation>>
    }>()
    const missing: string[] = []
    let operations = 0
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        operations++
        const expected = [op.responses['201'] ? '201' : '200', '421']
        if ((op.parameters?.length ?? 0) > 0 || op.requestBody) expected.push('400')
        // Every /api route reads through a bounded pool with cost caps; /readyz can be 503.
        if (path.startsWith('/api/') && !NOT_QUERIES.includes(path)) expected.push('422', '503')
        // Every route that needs a role says which, and answers 401 and 403.
        if (op['x-role']) expected.push('401', '403')
        if (path === '/readyz') expected.push('503')
        for (const status of expected) {
          const r = op.responses[status]
          const schema = Object.values(r?.content ?? {})[0]?.schema
          if (!r || !schema || !r.description) {
            missing.push(`${method.toUpperCase()} ${path} ${status}`)
            continue
          }
          const errorShaped = status.startsWith('4') || (status === '503' && path !== '/readyz')
          if (errorShaped && !ERROR_FIELDS.every((f) => f in (schema.properties ?? {}))) {
            missing.push(`${method.toUpperCase()} ${path} ${status} (not an error body)`)
          }
        }
      }
    }
    expect(missing).toEqual([])
    expect(operations).toBe(29)
    const open = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => !op['x-role'])
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    )
    expect(open.sort()).toEqual(['GET /api/me', 'GET /healthz', 'GET /readyz', 'POST /api/session'])
  })

  it('describes the points of GET /api/metrics', async () => {
    const doc = (await t.api.inject({ url: '/api/docs/json' })).json<{
      paths: Record<string, Record<string, Operation>>
    }>()
    const schema = doc.paths['/api/metrics']?.get?.responses['200']?.content?.['application/json']
      ?.schema as { properties: { points: { items: { properties: Record<string, unknown> } } } }
    expect(Object.keys(schema.properties.points.items.properties)).toEqual(
      expect.arrayContaining(['timeUnixNano', 'name', 'kind', 'attributes', 'value']),
    )
  })
})
