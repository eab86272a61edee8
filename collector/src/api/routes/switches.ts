import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { queryRoute } from '../reads.js'
import { changeSwitch, listSwitches, switchHistory } from '../queries/switches.js'
import { CapRefusals, Limit, QueryRefusals, Switch } from '../schemas.js'

const SwitchName = Type.String({
  pattern: '^[A-Za-z0-9_.:-]{1,100}$',
  description: 'Letters, digits and . _ : - (at most 100), e.g. payment.async-capture',
})

/** Degradation switches (seed 000 §7, seed 003): served to the SDKs, every change audited. */
export const switchRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { switches, timeout } = queryRoute(app)

  app.get(
    '/api/switches',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Every degradation switch and its current value (what the SDKs poll)',
        tags: ['switches'],
        response: { 200: Type.Object({ switches: Type.Array(Switch) }), ...CapRefusals },
      },
    },
    async () => ({ switches: await switches.run((storage) => listSwitches(storage, timeout)) }),
  )

  app.put(
    '/api/switches/:name',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Turns a switch on or off (creating it); recorded with who and why',
        tags: ['switches'],
        params: Type.Object({ name: SwitchName }),
        body: Type.Object(
          {
            on: Type.Boolean(),
            by: Type.Optional(
              Type.String({
                maxLength: 200,
                description:
                  'Ignored: the change is recorded under the caller’s identity (its key, its sign-in, or local)',
              }),
            ),
            reason: Type.Optional(Type.String({ maxLength: 2000 })),
            flowPinned: Type.Optional(
              Type.Boolean({ description: 'Default: unchanged (false when new)' }),
            ),
            description: Type.Optional(Type.String({ maxLength: 2000 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Switch, ...QueryRefusals },
      },
    },
    async (request) => {
      const { name } = request.params
      const b = request.body
      const by = (request.identity ?? app.reckon.auth.unauthenticated).name
      const changed = await switches.run(async (storage) => {
        const [previous] = await switchHistory(storage, name, 1, timeout)
        return changeSwitch(storage, {
          name,
          on: b.on,
          by,
          reason: b.reason ?? '',
          flowPinned: b.flowPinned ?? previous?.flowPinned ?? false,
          description: b.description ?? previous?.description ?? '',
        })
      })
      await request.audit({
        action: 'switch.change',
        target: name,
        details: { on: b.on, reason: b.reason ?? '' },
      })
      request.log.info(
        { switch: name, on: b.on, by, reason: b.reason },
        'degradation switch changed',
      )
      return changed
    },
  )

  app.get(
    '/api/switches/:name/history',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'The audit trail of one switch, newest first',
        tags: ['switches'],
        params: Type.Object({ name: SwitchName }),
        querystring: Type.Object({ limit: Limit(10000, 100) }, { additionalProperties: false }),
        response: { 200: Type.Object({ changes: Type.Array(Switch) }), ...QueryRefusals },
      },
    },
    async (request) => ({
      changes: await switches.run((storage) =>
        switchHistory(storage, request.params.name, request.query.limit ?? 100, timeout),
      ),
    }),
  )
}
