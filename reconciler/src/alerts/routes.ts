// /api/alerts: the alerts (firing, pending, recently resolved) with their delivery status,
// each alert's delivery log, the rules, and silencing an alert — served by the query API
// beside the reconciliation routes, in its OpenAPI document, behind its auth guard.
import type {} from '@fastify/swagger'
import { nowNanos, parseTime, TimeParam } from '@reckon/collector/time'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import Type, { type Static } from 'typebox'
import { identityOf } from '../api/identity.js'
import { ErrorSchema } from '../api/schemas.js'
import { parseDuration } from '../duration.js'
import type { Alerts } from './alerts.js'
import { deliveriesOf } from './outbox.js'
import { addSilence, loadAlerts } from './store.js'
import { listAlerts, listRules } from './views.js'

const TAGS = ['alerts']
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) =>
  Type.Union([t, Type.Null()])
const StringMap = Type.Record(Type.String(), Type.String())
const LinkSchema = Type.Object({ href: Type.String(), text: Type.String() })
const StateSchema = Type.Union([
  Type.Literal('pending'),
  Type.Literal('firing'),
  Type.Literal('resolved'),
  Type.Literal('nodata'),
  Type.Literal('error'),
])

export const AlertSchema = Type.Object({
  id: Type.String({ description: 'the fingerprint of its labels' }),
  rule: Type.String(),
  state: StateSchema,
  labels: StringMap,
  annotations: StringMap,
  value: Type.Number(),
  display: Type.String(),
  activeAt: Type.String(),
  firedAt: Nullable(Type.String()),
  resolvedAt: Nullable(Type.String()),
  evaluatedAt: Type.String(),
  links: Type.Array(LinkSchema),
  silence: Nullable(
    Type.Object({ until: Type.String(), by: Type.String(), reason: Type.String() }),
  ),
  deliveries: Type.Array(
    Type.Object({
      receiver: Type.String(),
      event: Type.String(),
      reason: Type.String(),
      state: Type.String(),
      attempts: Type.Integer(),
      at: Type.String(),
      lastError: Type.String(),
    }),
  ),
})

export const AlertRuleSchema = Type.Object({
  name: Type.String(),
  kind: Type.String(),
  enabled: Type.Boolean(),
  default: Type.Boolean({ description: 'shipped with Reckon' }),
  for: Type.String(),
  keepFiringFor: Type.String(),
  labels: StringMap,
  annotations: StringMap,
  params: Type.Record(Type.String(), Type.Unknown()),
  lastEvaluation: Nullable(
    Type.Object({
      at: Type.String(),
      ok: Type.Boolean(),
      error: Type.String(),
      judged: Type.Integer(),
      active: Type.Integer(),
      durationMs: Type.Integer(),
    }),
  ),
})

export const DeliverySchema = Type.Object({
  notificationId: Type.String(),
  receiver: Type.String(),
  event: Type.String(),
  reason: Type.String(),
  state: Type.String(),
  attempts: Type.Integer(),
  createdAt: Type.String(),
  nextAt: Nullable(Type.String()),
  lastError: Type.String(),
  log: Type.Array(
    Type.Object({
      attempt: Type.Integer(),
      at: Type.String(),
      outcome: Type.String(),
      httpStatus: Nullable(Type.Integer()),
      error: Type.String(),
    }),
  ),
})

const AlertQuery = Type.Object(
  {
    state: Type.Optional(StateSchema),
    rule: Type.Optional(Type.String({ maxLength: 100 })),
  },
  { additionalProperties: false },
)
const IdParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{16}$' }) })
export const SilenceSchema = Type.Object(
  {
    until: Type.Optional(TimeParam),
    for: Type.Optional(
      Type.String({ pattern: '^[0-9]+(ms|s|m|h|d)$', description: 'instead of until: 2h, 1d' }),
    ),
    reason: Type.String({ minLength: 1, maxLength: 2000 }),
  },
  { additionalProperties: false },
)

const bad = (message: string) => ({ statusCode: 400, error: 'Bad Request', message })
const notFound = (message: string) => ({ statusCode: 404, error: 'Not Found', message })

export function alertRoutes(alerts: Alerts): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    const { storage } = alerts

    app.get<{ Querystring: Static<typeof AlertQuery> }>(
      '/api/alerts',
      {
        config: { role: 'viewer' },
        schema: {
          tags: TAGS,
          summary: 'Alerts: firing, pending and recently resolved, with their delivery status',
          querystring: AlertQuery,
          response: { 200: Type.Object({ alerts: Type.Array(AlertSchema) }), 400: ErrorSchema },
        },
      },
      async (request) => ({
        alerts: await listAlerts(storage, {
          ...(request.query.state ? { state: request.query.state } : {}),
          ...(request.query.rule ? { rule: request.query.rule } : {}),
        }),
      }),
    )

    app.get(
      '/api/alerts/rules',
      {
        config: { role: 'viewer' },
        schema: {
          tags: TAGS,
          summary:
            'Alert rules (the shipped defaults and reckon.yaml’s) with their last evaluation',
          response: { 200: Type.Array(AlertRuleSchema) },
        },
      },
      async () => listRules(storage, alerts.rules),
    )

    app.get<{ Params: Static<typeof IdParams> }>(
      '/api/alerts/:id/deliveries',
      {
        config: { role: 'viewer' },
        schema: {
          tags: TAGS,
          summary: 'An alert’s notifications, newest first, each with every attempt',
          params: IdParams,
          response: {
            200: Type.Object({ deliveries: Type.Array(DeliverySchema) }),
            400: ErrorSchema,
          },
        },
      },
      async (request) => ({ deliveries: await deliveriesOf(storage, request.params.id) }),
    )

    app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof SilenceSchema> }>(
      '/api/alerts/:id/silence',
      {
        config: { role: 'operator' },
        schema: {
          tags: TAGS,
          summary: 'Silence an alert until a time: no notifications of it until then',
          params: IdParams,
          body: SilenceSchema,
          response: {
            200: Type.Object({
              id: Type.String(),
              until: Type.String(),
              by: Type.String(),
              reason: Type.String(),
            }),
            400: ErrorSchema,
            404: ErrorSchema,
          },
        },
      },
      async (request, reply) => {
        const { id } = request.params
        const { until, for: duration, reason } = request.body
        if ((until === undefined) === (duration === undefined))
          return reply.code(400).send(bad('say until or for, one of them'))
        const nowMs = Date.now()
        const untilMs =
          until !== undefined
            ? Number(parseTime('until', until, nowNanos()) / 1_000_000n)
            : nowMs + parseDuration(duration!)
        if (untilMs <= nowMs) return reply.code(400).send(bad('until must be in the future'))
        const known = (await loadAlerts(storage)).some((a) => a.fingerprint === id)
        if (!known) return reply.code(404).send(notFound(`no alert ${id}`))
        // Who silenced it is who the guard let in, never what the body says.
        const by = identityOf(request)
        await addSilence(storage, id, { untilMs, by, reason })
        const untilIso = new Date(untilMs).toISOString()
        await request.audit({
          action: 'alert.silence',
          target: id,
          details: { until: untilIso, reason },
        })
        return { id, until: untilIso, by, reason }
      },
    )
  }
}
