import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyInstance, FastifyPluginAsync } from 'fastify'
import { plainQueryNumbers, wellFormedBodies } from './input-checks.js'
import { capHit } from './query-limits.js'
import { ReadsBusy } from './read-gate.js'
import { AttributeValueSchema } from './schemas.js'
import { openReads } from './reads.js'
import { breakerRoutes } from './routes/breakers.js'
import { flowRoutes } from './routes/flows.js'
import { healthRoutes } from './routes/health.js'
import { logRoutes } from './routes/logs.js'
import { metricRoutes } from './routes/metrics.js'
import { serviceRoutes } from './routes/services.js'
import { switchRoutes } from './routes/switches.js'
import { authRoutes } from '../auth/routes.js'
import { traceRoutes } from './routes/traces.js'
import { uiRoutes } from './ui-static.js'

export interface ApiOptions {
  /** Routes of the other components a process runs (the reconciler's), inside this app: they
   * share its OpenAPI document, error handler and host check. */
  plugins?: readonly FastifyPluginAsync[]
  /** The built UI to serve beside the API (at /), when given. */
  uiDir?: string | undefined
}

/** The query API (port 8318): JSON over HTTP, OpenAPI at /api/docs. */
export async function apiApp(app: FastifyInstance, opts: ApiOptions = {}): Promise<void> {
  app.addSchema(AttributeValueSchema)
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Reckon query API',
        version: '0.1.0',
        description:
          'Traces, flows, services, business events, logs, metrics, breakers, instance health and degradation switches.',
      },
      components: {
        securitySchemes: {
          apiKey: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API key (rk_…) from `reckon keys create` or POST /api/keys',
          },
          session: {
            type: 'apiKey',
            in: 'cookie',
            name: 'reckon_session',
            description: 'The UI’s sign-in (POST /api/session); changes also need x-csrf-token',
          },
        },
      },
    },
  })
  await app.register(swaggerUi, { routePrefix: '/api/docs' })

  const reads = openReads(app.reckon.storage, app.reckon.config)
  app.decorate('reads', reads)
  app.addHook('onClose', () => reads.close())

  // One error handler: client mistakes are explained, server faults are logged and hidden.
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status =
      typeof err.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 500
    if (err instanceof ReadsBusy) {
      return reply
        .code(503)
        .header('retry-after', '1')
        .send({ statusCode: 503, error: 'Service Unavailable', message: err.message })
    }
    const cap = capHit(err, app.reckon.config)
    if (cap) {
      if (cap.status === 503) reply.header('retry-after', '1')
      const error = cap.status === 503 ? 'Service Unavailable' : 'Unprocessable Entity'
      return reply.code(cap.status).send({ statusCode: cap.status, error, message: cap.message })
    }
    if (status >= 500) {
      request.log.error({ err }, 'query failed')
      return reply
        .code(status)
        .send({ statusCode: status, error: 'Internal Server Error', message: 'internal error' })
    }
    const message = err.validation ? describeValidation(err) : err.message
    return reply
      .code(status)
      .send({ statusCode: status, error: STATUS_CODES[status] ?? 'Bad Request', message })
  })

  plainQueryNumbers(app)
  wellFormedBodies(app)
  await app.register(healthRoutes)
  await app.register(traceRoutes)
  await app.register(flowRoutes)
  await app.register(logRoutes)
  await app.register(serviceRoutes)
  await app.register(metricRoutes)
  await app.register(breakerRoutes)
  await app.register(switchRoutes)
  await app.register(authRoutes)
  for (const plugin of opts.plugins ?? []) await app.register(plugin)
  if (opts.uiDir) await app.register(uiRoutes, { dir: opts.uiDir })
}

/** "querystring: unknown parameter foo" rather than ajv's generic wording. */
function describeValidation(err: FastifyError): string {
  const first = err.validation?.[0]
  const where = err.validationContext ?? 'request'
  if (!first) return err.message
  const field = first.instancePath.replace(/^\//, '').replaceAll('/', '.')
  const params = first.params
  if (first.keyword === 'additionalProperties')
    return `${where}: unknown parameter ${JSON.stringify(params.additionalProperty)}`
  if (first.keyword === 'required') return `${where}: ${String(params.missingProperty)} is required`
  if (first.keyword === 'minLength' && params.limit === 1)
    return `${where}: ${field} must not be empty`
  return `${where}: ${field ? `${field} ` : ''}${first.message ?? 'is invalid'}`
}
