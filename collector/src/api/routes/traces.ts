import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { queryRoute } from '../reads.js'
import { getTrace, searchTraces } from '../queries/traces.js'
import { getSpan } from '../queries/span-detail.js'
import { OutlineCache, traceOutline } from '../queries/trace-outline.js'
import {
  ErrorBody,
  Limit,
  QueryRefusals,
  Span,
  Trace,
  TraceId,
  TraceSummary,
  TraceOutline,
  Window,
} from '../schemas.js'
import { BadParam, HOUR_NS, window } from '../time.js'

// 100 days: in nanoseconds still an exact JavaScript number.
const DurationMs = Type.Number({
  minimum: 0,
  maximum: 8_640_000_000,
  description: 'Milliseconds (decimals allowed), at most 8 640 000 000 (100 days)',
})

const SearchQuery = Type.Object(
  {
    service: Type.Optional(Type.String({ minLength: 1 })),
    operation: Type.Optional(Type.String({ minLength: 1 })),
    minDurationMs: Type.Optional(DurationMs),
    maxDurationMs: Type.Optional(DurationMs),
    status: Type.Optional(
      Type.Union([Type.Literal('error'), Type.Literal('ok'), Type.Literal('unset')]),
    ),
    flowId: Type.Optional(Type.String({ minLength: 1 })),
    ...Window,
    limit: Limit(1000, 20),
  },
  {
    additionalProperties: false,
    patternProperties: { '^attr\\..+$': Type.String({ minLength: 1 }) },
    description:
      'attr.KEY=VALUE matches spans whose attribute KEY equals VALUE (not empty); at most query.maxAttributeFilters (default 20) of them',
  },
)

export const traceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { config } = app.reckon
  const { searches, traces, timeout } = queryRoute(app)
  const maxFilters = config.query.maxAttributeFilters
  const outlines = new OutlineCache(config.query.outlineCacheSpans)
  const notFound = (message: string) => ({ statusCode: 404, error: 'Not Found', message })

  app.get(
    '/api/traces/:traceId/outline',
    {
      config: { role: 'viewer' },
      schema: {
        summary:
          'A trace as compact columns in tree order (no attributes), a window at a time: the call tree of traces up to query.maxOutlineSpans spans',
        tags: ['traces'],
        params: Type.Object({ traceId: TraceId }),
        querystring: Type.Object(
          {
            offset: Type.Optional(
              Type.Integer({
                minimum: 0,
                maximum: 100_000_000,
                description: 'First row (tree order)',
              }),
            ),
            around: Type.Optional(
              Type.String({
                pattern: '^[0-9a-fA-F]{16}$',
                description: 'A span ID: the window holds it (a shared link to a span)',
              }),
            ),
            limit: Limit(20_000, 2000),
          },
          { additionalProperties: false },
        ),
        response: { 200: TraceOutline, 404: ErrorBody, ...QueryRefusals },
      },
    },
    async (request, reply) => {
      const traceId = request.params.traceId.toLowerCase()
      const q = request.query
      const outline = await traces.run((storage) =>
        traceOutline(
          storage,
          outlines,
          {
            traceId,
            offset: q.offset,
            around: q.around?.toLowerCase(),
            limit: q.limit ?? 2000,
            maxSpans: config.query.maxOutlineSpans,
          },
          timeout,
        ),
      )
      if (!outline) return reply.code(404).send(notFound(`trace ${traceId} not found`))
      return outline
    },
  )

  app.get(
    '/api/traces/:traceId/spans/:spanId',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'One span of a trace, whole (attributes, events, links, resource, scope)',
        tags: ['traces'],
        params: Type.Object({
          traceId: TraceId,
          spanId: Type.String({ pattern: '^[0-9a-fA-F]{16}$', description: '16 hex characters' }),
        }),
        response: { 200: Span, 404: ErrorBody, ...QueryRefusals },
      },
    },
    async (request, reply) => {
      const traceId = request.params.traceId.toLowerCase()
      const spanId = request.params.spanId.toLowerCase()
      const json = await traces.run((storage) => getSpan(storage, traceId, spanId, timeout))
      if (json === undefined)
        return reply.code(404).send(notFound(`span ${spanId} of trace ${traceId} not found`))
      return reply.type('application/json; charset=utf-8').send(json as never)
    },
  )

  app.get(
    '/api/traces/:traceId',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'One trace with all its spans',
        tags: ['traces'],
        params: Type.Object({ traceId: TraceId }),
        response: { 200: Trace, 404: ErrorBody, ...QueryRefusals },
      },
    },
    async (request, reply) => {
      const traceId = request.params.traceId.toLowerCase()
      const trace = await traces.run((storage) =>
        getTrace(storage, traceId, config.query.maxSpansPerTrace, timeout),
      )
      if (!trace)
        return reply
          .code(404)
          .send({ statusCode: 404, error: 'Not Found', message: `trace ${traceId} not found` })
      // A string with a JSON content type is sent as is: getTrace serialized it span by span,
      // and the schema above documents its shape. (`never`: the typed reply wants objects.)
      return reply.type('application/json; charset=utf-8').send(trace.body as never)
    },
  )

  app.get(
    '/api/traces',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Find traces: newest first, each with a span matching every filter',
        tags: ['traces'],
        querystring: SearchQuery,
        response: { 200: Type.Object({ traces: Type.Array(TraceSummary) }), ...QueryRefusals },
      },
    },
    async (request) => {
      const q = request.query
      if (
        q.minDurationMs !== undefined &&
        q.maxDurationMs !== undefined &&
        q.minDurationMs > q.maxDurationMs
      ) {
        throw new BadParam('minDurationMs must not exceed maxDurationMs')
      }
      const attributes = Object.entries(q as Record<string, unknown>)
        .filter(([k]) => k.startsWith('attr.'))
        .map(([k, v]): [string, string] => [k.slice(5), String(v)])
      if (attributes.length > maxFilters) {
        throw new BadParam(
          `at most ${maxFilters} attr. filters in one search (query.maxAttributeFilters), got ${attributes.length}`,
        )
      }
      const search = {
        service: q.service,
        operation: q.operation,
        minDurationMs: q.minDurationMs,
        maxDurationMs: q.maxDurationMs,
        status: q.status,
        flowId: q.flowId,
        attributes,
        window: window(q, HOUR_NS),
        limit: q.limit ?? 20,
      }
      return { traces: await searches.run((storage) => searchTraces(storage, search, timeout)) }
    },
  )
}
