// What the schema validator cannot check on its own, checked before it runs.
import type { FastifyInstance, preValidationHookHandler } from 'fastify'
import { BadParam } from './time.js'

const INTEGER = /^-?\d+$/
const DECIMAL = /^-?\d+(?:\.\d+)?$/

interface NumberParam {
  name: string
  integer: boolean
}

/** The number-typed properties of a route's querystring schema. */
function numberParams(schema: unknown): NumberParam[] {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> } | undefined)
    ?.properties
  return Object.entries(properties ?? {}).flatMap(([name, p]) =>
    p.type === 'integer' || p.type === 'number' ? [{ name, integer: p.type === 'integer' }] : [],
  )
}

/**
 * Numbers in a query string must be written as plain decimals of a finite size. Ajv coerces
 * `Infinity`, `1e400` and four hundred nines to Infinity and then skips `minimum`/`maximum`,
 * which it applies to finite numbers only, so an unbounded number reached the engine; `0x10`
 * and `1e3` are refused for being unlike what the documentation shows. The schema's bounds
 * do the rest.
 */
export function plainQueryNumbers(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const params = numberParams(route.schema?.querystring)
    if (params.length === 0) return
    const check: preValidationHookHandler = (request, _reply, done) => {
      const query = request.query as Record<string, unknown>
      for (const { name, integer } of params) {
        const raw = query[name]
        // Repeated parameters arrive as arrays, which the schema refuses on its own.
        if (typeof raw !== 'string') continue
        if (!(integer ? INTEGER : DECIMAL).test(raw) || !Number.isFinite(Number(raw))) {
          done(
            new BadParam(
              `querystring: ${name} must be ${integer ? 'a whole number' : 'a decimal number'} written in digits, got ${JSON.stringify(raw)}`,
            ),
          )
          return
        }
      }
      done()
    }
    const existing = route.preValidation
    route.preValidation = existing
      ? [...(Array.isArray(existing) ? existing : [existing]), check]
      : [check]
  })
}

const LONE_SURROGATE = /\p{Surrogate}/u

/** The path of the first string in `value` that is not valid Unicode, if any. */
function illFormed(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? path : undefined
  if (typeof value !== 'object' || value === null) return undefined
  for (const [key, v] of Object.entries(value)) {
    const found = illFormed(v, path ? `${path}.${key}` : key)
    if (found !== undefined) return found
  }
  return undefined
}

/**
 * JSON bodies must hold valid Unicode: a lone surrogate (what `JSON.stringify` writes for a
 * string cut between the halves of a pair) cannot be stored as UTF-8, and the engine would
 * keep a mangled copy or refuse the row.
 */
export function wellFormedBodies(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const path = illFormed(request.body, '')
    if (path !== undefined) {
      throw new BadParam(
        `body: ${path || 'the body'} is not valid Unicode (it holds a lone surrogate, half of a UTF-16 pair)`,
      )
    }
  })
}
