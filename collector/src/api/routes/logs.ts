import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { queryRoute } from '../reads.js'
import { findLogs } from '../queries/logs.js'
import { Limit, LogRecord, QueryRefusals, TraceId, Window } from '../schemas.js'
import { BadParam, HOUR_NS, window } from '../time.js'

const SEVERITY_NAMES = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL']

/** A minimum severity: its number (1-24) or its name (TRACE … FATAL, optionally 2-4). */
function minSeverity(text: string): number {
  if (/^\d{1,2}$/.test(text) && Number(text) >= 1 && Number(text) <= 24) return Number(text)
  const m = /^([A-Za-z]+)([2-4])?$/.exec(text)
  const i = m ? SEVERITY_NAMES.indexOf(m[1]!.toUpperCase()) : -1
  if (!m || i < 0) {
    throw new BadParam(
      `severity must be 1-24 or one of ${SEVERITY_NAMES.join(', ')} (optionally followed by 2-4), got ${JSON.stringify(text)}`,
    )
  }
  return i * 4 + 1 + (m[2] ? Number(m[2]) - 1 : 0)
}

export const logRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { searches, timeout } = queryRoute(app)

  app.get(
    '/api/logs',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Log records matching every filter, newest first',
        tags: ['logs'],
        querystring: Type.Object(
          {
            service: Type.Optional(Type.String({ minLength: 1 })),
            severity: Type.Optional(
              Type.String({
                minLength: 1,
                description:
                  'at least this severity: 1-24, or TRACE, DEBUG, INFO, WARN, ERROR, FATAL',
              }),
            ),
            body: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 1000,
                description: 'text the body contains, in any case',
              }),
            ),
            traceId: Type.Optional(TraceId),
            spanId: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{16}$' })),
            flowId: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
            ...Window,
            limit: Limit(10000, 100),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ logs: Type.Array(LogRecord) }), ...QueryRefusals },
      },
    },
    async (request) => {
      const q = request.query
      const filter = {
        service: q.service,
        minSeverity: q.severity === undefined ? undefined : minSeverity(q.severity),
        body: q.body,
        traceId: q.traceId?.toLowerCase(),
        spanId: q.spanId?.toLowerCase(),
        flowId: q.flowId,
        window: window(q, HOUR_NS),
        limit: q.limit ?? 100,
      }
      return { logs: await searches.run((storage) => findLogs(storage, filter, timeout)) }
    },
  )
}
