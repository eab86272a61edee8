import { recordEvent } from '@reckon/sdk'
import Fastify, { type FastifyInstance } from 'fastify'
import { BoundedMap } from '../common/bounded-map.js'
import { handleErrors } from '../common/errors.js'
import { faultKnobs, type Faults } from '../common/faults.js'
import { IdempotencyStore } from '../common/idempotency.js'
import { fromMinor, toMinor } from '../common/money.js'

type PaymentStatus = 'captured' | 'refunded'

interface Payment {
  orderId: string
  amount: string
  currency: string
  status: PaymentStatus
}

const paymentSchema = {
  type: 'object',
  required: ['orderId', 'amount', 'currency', 'callbackUrl'],
  additionalProperties: false,
  properties: {
    orderId: { type: 'string', minLength: 1, maxLength: 200 },
    amount: { type: 'string', pattern: '^\\d{1,15}(\\.\\d{1,2})?$' },
    currency: { type: 'string', pattern: '^[A-Z]{3}$' },
    callbackUrl: { type: 'string', format: 'uri' },
  },
} as const

/** The payment service (a PSP stand-in): captures, calls the shop back, refunds. */
export function paymentApp(initialFaults: Partial<Faults> = {}): FastifyInstance {
  const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? 'warn' } })
  const payments = new BoundedMap<string, Payment>(50_000)
  const captures = new IdempotencyStore()
  const refunds = new IdempotencyStore()
  const knobs = faultKnobs(app, initialFaults)

  const record = (p: Payment, type: string, extra: Record<string, string> = {}) =>
    recordEvent({
      type,
      entity: 'order',
      key: p.orderId,
      status: p.status,
      amount: p.amount,
      currency: p.currency,
      attributes: extra,
    })

  app.post<{ Body: { orderId: string; amount: string; currency: string; callbackUrl: string } }>(
    '/payments',
    { schema: { body: paymentSchema } },
    async (request, reply) => {
      await knobs.apply()
      // Keyed by the caller's Idempotency-Key: a retried capture is answered, not repeated.
      return captures.handle(request, reply, async () => {
        const b = request.body
        const existing = payments.get(b.orderId)
        if (existing) return { status: 200, body: existing }
        const amount = knobs.chance(knobs.faults.amountMismatchRate)
          ? fromMinor(toMinor(b.amount) + 1n)
          : b.amount
        const payment: Payment = {
          orderId: b.orderId,
          amount,
          currency: b.currency,
          status: 'captured',
        }
        payments.set(b.orderId, payment)
        record(payment, 'payment.captured')
        if (!knobs.chance(knobs.faults.dropCallbackRate)) {
          // The PSP calls back after answering, as real ones do; still in the same trace and flow.
          setTimeout(() => {
            fetch(b.callbackUrl, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ status: 'captured', amount: payment.amount }),
            }).catch((err: unknown) => app.log.warn({ err, order: b.orderId }, 'callback failed'))
          }, 20)
        }
        if (knobs.chance(knobs.faults.statusMismatchRate)) {
          // A refund the order service never hears of: the two systems now disagree.
          setTimeout(() => {
            payment.status = 'refunded'
            record(payment, 'payment.refunded', { reason: 'chargeback' })
          }, 200)
        }
        return { status: 201, body: payment }
      })
    },
  )

  app.get<{ Params: { orderId: string } }>('/payments/:orderId', async (request, reply) => {
    const p = payments.get(request.params.orderId)
    return p ?? reply.code(404).send({ error: `no payment for order ${request.params.orderId}` })
  })

  app.post<{ Params: { orderId: string } }>('/payments/:orderId/refund', async (request, reply) =>
    refunds.handle(request, reply, async () => {
      const p = payments.get(request.params.orderId)
      if (!p)
        return { status: 404, body: { error: `no payment for order ${request.params.orderId}` } }
      if (p.status !== 'refunded') {
        p.status = 'refunded'
        record(p, 'payment.refunded', { compensation: 'refund' })
      }
      return { status: 200, body: p }
    }),
  )

  handleErrors(app)
  return app
}
