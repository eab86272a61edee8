// /api/reconcile: rules, runs, findings, reports and sign-off, served by the query API
// (port 8318) beside the collector's routes, in its OpenAPI document and error handler.
import { Readable } from 'node:stream'
// Route schemas carry OpenAPI tags and summaries (the collector's document has the plugin).
import type {} from '@fastify/swagger'
import type { Storage } from '@reckon/collector/storage'
import { nowNanos, parseTime } from '@reckon/collector/time'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import Type, { type Static } from 'typebox'
import { CATEGORIES } from '../config.js'
import { formatDuration } from '../duration.js'
import { FINDING_STATES } from '../findings.js'
import { flowFindingIds, getFinding, runFindings } from '../finding-reads.js'
import type { Reconciler } from '../reconciler.js'
import { reportCsv } from '../report-csv.js'
import { getRun, listRuns, rulesState } from '../run-reads.js'
import { identityOf } from './identity.js'
import { importRoutes, type ImportRouteOptions } from './import-routes.js'
import { signOff } from '../signoff.js'
import {
  ErrorSchema,
  FindingDetailSchema,
  FindingSchema,
  RuleSchema,
  RunOrderSchema,
  ReasonSchema,
  RunSchema,
  SignOffSchema,
  type RuleView,
} from './schemas.js'

const TAGS = ['reconciliation']
const errors = { 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema }

export { identityOf }

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) })

const RunList = Type.Object(
  {
    rule: Type.Optional(Type.String({ maxLength: 100 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  },
  { additionalProperties: false },
)

const FindingQuery = Type.Object(
  {
    category: Type.Optional(Type.Union(CATEGORIES.map((c) => Type.Literal(c)))),
    state: Type.Optional(Type.Union(FINDING_STATES.map((s) => Type.Literal(s)))),
    pending: Type.Optional(Type.Boolean({ default: true })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000_000, default: 0 })),
  },
  { additionalProperties: false },
)

const kindOf = (source: object): string =>
  'events' in source ? 'events' : 'file' in source ? 'file' : 'postgres'

export function reconcileRoutes(
  reconciler: Reconciler,
  opts: ImportRouteOptions = {},
): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    const { storage } = reconciler
    await app.register(importRoutes(reconciler, opts))

    app.get(
      '/api/reconcile/rules',
      {
        config: { role: 'viewer' },
        schema: {
          tags: TAGS,
          summary: 'Rules with their sources, schedule, last run and open findings',
          response: { 200: Type.Array(RuleSchema) },
        },
      },
      async (): Promise<RuleView[]> => {
        const state = await rulesState(storage)
        return [...reconciler.rules.values()].map((r) => {
          const s = state.get(r.name)
          const last = s?.lastRun
          return {
            name: r.name,
            left: { source: r.left, kind: kindOf(r.leftSource) },
            right: { source: r.right, kind: kindOf(r.rightSource) },
            match: r.match,
            window: formatDuration(r.windowMs),
            grace: formatDuration(r.graceMs),
            schedule: r.schedule ?? null,
            lastRun: last
              ? {
                  id: last.id,
                  state: last.state,
                  startedAt: last.startedAt,
                  finishedAt: last.finishedAt,
                }
              : null,
            openFindings: s?.open ?? {},
          }
        })
      },
    )

    app.post<{ Body: Static<typeof RunOrderSchema> }>(
      '/api/reconcile/runs',
      {
        config: { role: 'operator' },
        schema: {
          tags: TAGS,
          summary: 'Start a run of a rule (default window: the rule’s, back from now)',
          body: RunOrderSchema,
          response: { 202: Type.Object({ id: Type.String() }), ...errors },
        },
      },
      async (request, reply) => {
        const now = nowNanos()
        const { rule, from, to, dryRun } = request.body
        const toNs = to !== undefined ? parseTime('to', to, now) : undefined
        const fromNs = from !== undefined ? parseTime('from', from, now) : undefined
        if (fromNs !== undefined && toNs !== undefined && fromNs >= toNs)
          return reply
            .code(400)
            .send({ statusCode: 400, error: 'Bad Request', message: 'from must be before to' })
        const { run } = await reconciler.run({
          rule,
          ...(fromNs !== undefined ? { from: fromNs } : {}),
          ...(toNs !== undefined ? { to: toNs } : {}),
          dryRun: dryRun ?? false,
          by: identityOf(request),
        })
        await request.audit({
          action: 'run.start',
          target: run.id,
          details: { rule, dryRun: dryRun ?? false },
        })
        return reply.code(202).send({ id: run.id })
      },
    )

    app.get<{ Querystring: Static<typeof RunList> }>(
      '/api/reconcile/runs',
      {
        config: { role: 'viewer' },
        schema: {
          tags: TAGS,
          summary: 'Runs, newest first',
          querystring: RunList,
          response: { 200: Type.Array(RunSchema), 400: ErrorSchema },
        },
      },
      async (request) =>
        listRuns(storage, {
          ...(request.query.rule ? { rule: request.query.rule } : {}),
          limit: request.query.limit ?? 50,
        }),
    )

    app.get<{ Params: Static<typeof IdParams> }>(
      '/api/reconcile/runs/:id',
      {
        config: { role: 'viewer' },
        schema: {
          tags: TAGS,
          summary: 'A run: its state, progress and report',
          params: IdParams,
          response: { 200: RunSchema, 404: ErrorSchema },
        },
      },
      async (request, reply) => {
        const run = await getRun(storage, request.params.id)
        if (!run) return reply.code(404).send(notFound(`no run ${request.params.id}`))
        return run
      },
    )

    app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof FindingQuery> }>(
      '/api/reconcile/runs/:id/findings',
      {
        config: { role: 'viewer' },
        schema: {
          tags: TAGS,
          summary: 'A run’s findings (and pending keys), with both sides’ values',
          params: IdParams,
          querystring: FindingQuery,
          response: {
            200: Type.Object({ total: Type.Integer(), findings: Type.Array(FindingSchema) }),
            ...errors,
          },
        },
      },
      async (request, reply) => {
        if (!(await getRun(storage, request.params.id)))
          return reply.code(404).send(notFound(`no run ${request.params.id}`))
        const q = request.query
        return runFindings(storage, request.params.id, {
          ...(q.category ? { category: q.category } : {}),
          ...(q.state ? { state: q.state } : {}),
          pending: q.pending ?? true,
          limit: q.limit ?? 100,
          offset: q.offset ?? 0,
        })
      },
    )

    app.get<{ Params: Static<typeof IdParams> }>(
      '/api/reconcile/runs/:id/report.csv',
      {
        config: { role: 'viewer' },
        schema: {
          tags: TAGS,
          summary: 'The run’s itemized report: one row per finding, both sides’ values',
          params: IdParams,
          produces: ['text/csv'],
          response: { 200: Type.String(), 404: ErrorSchema },
        },
      },
      async (request, reply) => {
        const run = await getRun(storage, request.params.id)
        if (!run) return reply.code(404).send(notFound(`no run ${request.params.id}`))
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${run.rule}-${run.id}.csv"`)
          .send(Readable.from(reportCsv(storage, run.id)))
      },
    )

    app.get<{ Params: Static<typeof IdParams> }>(
      '/api/reconcile/findings/:id',
      {
        config: { role: 'viewer' },
        schema: {
          tags: TAGS,
          summary: 'A finding with its history, compensation attempts, flows and traces',
          params: IdParams,
          response: { 200: FindingDetailSchema, 404: ErrorSchema },
        },
      },
      async (request, reply) => {
        const f = await findingDetail(storage, request.params.id)
        if (!f) return reply.code(404).send(notFound(`no finding ${request.params.id}`))
        return f
      },
    )

    const FlowParams = Type.Object({ flowId: Type.String({ minLength: 1, maxLength: 200 }) })
    app.get<{ Params: Static<typeof FlowParams> }>(
      '/api/flows/:flowId/findings',
      {
        config: { role: 'viewer' },
        schema: {
          tags: TAGS,
          summary:
            'The reconciliation findings of a business flow (newest first, at most 100), each with its history and compensation attempts',
          params: FlowParams,
          response: { 200: Type.Object({ findings: Type.Array(FindingDetailSchema) }) },
        },
      },
      async (request) => {
        const ids = await flowFindingIds(storage, request.params.flowId, 100)
        const found = await Promise.all(ids.map((id) => findingDetail(storage, id)))
        return { findings: found.filter((f) => f !== undefined) }
      },
    )

    const actions = [
      ['retry', 'Retry a finding’s compensation now (open, compensating or escalated)'],
      ['resolve', 'Resolve a finding by hand, saying why'],
      ['ignore', 'Ignore a finding, saying why: later runs leave it ignored'],
    ] as const
    for (const [action, summary] of actions) {
      app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof ReasonSchema> }>(
        `/api/reconcile/findings/:id/${action}`,
        {
          config: { role: 'operator' },
          schema: {
            tags: TAGS,
            summary,
            params: IdParams,
            body: ReasonSchema,
            response: { 200: FindingDetailSchema, ...errors },
          },
        },
        async (request, reply) => {
          const { id } = request.params
          await reconciler.act(id, action, identityOf(request), request.body.why)
          await request.audit({
            action: `finding.${action}`,
            target: id,
            details: { why: request.body.why },
          })
          const f = await findingDetail(storage, id)
          if (!f) return reply.code(404).send(notFound(`no finding ${id}`))
          return f
        },
      )
    }

    app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof SignOffSchema> }>(
      '/api/reconcile/runs/:id/signoff',
      {
        config: { role: 'finance' },
        schema: {
          tags: TAGS,
          summary: 'Sign off a run’s report (freezes it); not by who started the run',
          params: IdParams,
          body: SignOffSchema,
          response: { 200: RunSchema, 403: ErrorSchema, ...errors },
        },
      },
      async (request) => {
        const comment = request.body?.comment ?? ''
        const run = await signOff(storage, request.params.id, identityOf(request), comment)
        await request.audit({ action: 'report.signoff', target: run.id, details: { comment } })
        return run
      },
    )
  }
}

/** A finding with links to its flows and to the traces of its records and compensations. */
async function findingDetail(storage: Storage, id: string) {
  const f = await getFinding(storage, id)
  if (!f) return undefined
  return {
    ...f,
    links: {
      flows: f.flowIds.map((id) => `/api/flows/${encodeURIComponent(id)}`),
      traces: [
        ...new Set([...f.traceIds, ...f.attempts.map((a) => a.traceId).filter(Boolean)]),
      ].map((id) => `/api/traces/${id}`),
    },
  }
}

const notFound = (message: string) => ({ statusCode: 404, error: 'Not Found', message })
