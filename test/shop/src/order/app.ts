import {
  BreakerOpenError,
  Bulkhead,
  CircuitBreaker,
  policy,
  recordEvent,
  Retry,
  startFlow,
  Timeout,
  withFlow,
} from '@reckon/sdk'
import Fastify, { type FastifyInstance } from 'fastify'
import { BoundedMap } from '../common/bounded-map.js'
import { handleErrors } from '../common/errors.js'
import { HttpError, isBusinessError, postJson } from '../common/http-client.js'
import { IdempotencyStore } from '../common/idempotency.js'
import { fromMinor, toMinor } from '../common/money.js'

export interface OrderConfig {
  paymentUrl: string
  inventoryUrl: string
  /** How the payment service reaches this one for its callback. Default: its own address. */
  publicUrl?: string | undefined
}

type OrderStatus = 'created' | 'awaiting_payment' | 'paid' | 'rejected' | 'cancelled'

interface Order {
  id: string
  flowId: string
  customer: string
  items: { sku: string; quantity: number; unitPrice: string }[]
  amount: string
  currency: string
  status: OrderStatus
}

interface OrderBody {
  customer: string
  currency: string
  items: { sku: string; quantity: number; unitPrice: string }[]
}

const orderSchema = {
  type: 'object',
  required: ['customer', 'currency', 'items'],
  additionalProperties: false,
  properties: {
    customer: { type: 'string', minLength: 1, maxLength: 200 },
    currency: { type: 'string', pattern: '^[A-Z]{3}$' },
    items: {
      type: 'array',
      minItems: 1,
      maxItems: 50,
      items: {
        type: 'object',
        required: ['sku', 'quantity', 'unitPrice'],
        additionalProperties: false,
        properties: {
          sku: { type: 'string', minLength: 1, maxLength: 100 },
          quantity: { type: 'integer', minimum: 1, maximum: 1000 },
          unitPrice: { type: 'string', pattern: '^\\d{1,12}(\\.\\d{1,2})?$' },
        },
      },
    },
  },
} as const

/** Resilience for each dependency, as a service team would configure it. */
function dependencyPolicy(name: string) {
  return policy(
    new Retry(name, { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 500 }),
    new CircuitBreaker(name, {
      slidingWindow: { type: 'count', size: 20 },
      minimumCalls: 10,
      failureRateThreshold: 50,
      slowCallDurationMs: 1000,
      slowCallRateThreshold: 80,
      waitInOpenMs: 10_000,
      permittedCallsInHalfOpen: 3,
      isIgnored: isBusinessError,
    }),
    new Bulkhead(name, { maxConcurrent: 64, maxQueue: 256, maxWaitMs: 1000 }),
    new Timeout(name, { timeoutMs: 2000 }),
  )
}

/** The order service: takes orders, reserves stock, asks for payment, compensates. */
export function orderApp(cfg: OrderConfig): FastifyInstance {
  const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? 'warn' } })
  const orders = new BoundedMap<string, Order>(50_000)
  const idempotency = new IdempotencyStore()
  const payment = dependencyPolicy('payment')
  const inventory = dependencyPolicy('inventory')
  const publicUrl = (): string => {
    if (cfg.publicUrl) return cfg.publicUrl
    const a = app.server.address()
    if (a === null || typeof a === 'string') return ''
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`
  }

  const setStatus = (
    order: Order,
    status: OrderStatus,
    type: string,
    extra: Record<string, string> = {},
  ) => {
    order.status = status
    recordEvent({
      type,
      entity: 'order',
      key: order.id,
      status,
      amount: order.amount,
      currency: order.currency,
      attributes: { customer: order.customer, ...extra },
    })
  }

  app.post<{ Body: OrderBody }>(
    '/orders',
    { schema: { body: orderSchema } },
    async (request, reply) =>
      startFlow(async (flowId) => {
        const b = request.body
        const total = b.items.reduce(
          (sum, i) => sum + toMinor(i.unitPrice) * BigInt(i.quantity),
          0n,
        )
        const order: Order = {
          id: `ORD-${flowId}`,
          flowId,
          customer: b.customer,
          items: b.items,
          amount: fromMinor(total),
          currency: b.currency,
          status: 'created',
        }
        orders.set(order.id, order)
        setStatus(order, 'created', 'order.created')

        try {
          await inventory.execute(({ signal }) =>
            postJson(
              `${cfg.inventoryUrl}/reservations`,
              { orderId: order.id, items: order.items },
              {
                signal,
                idempotencyKey: `reserve-${order.id}`,
              },
            ),
          )
        } catch (err) {
          setStatus(order, 'rejected', 'order.rejected', { reason: reasonOf(err) })
          return reply
            .code(err instanceof HttpError && err.status === 409 ? 409 : 503)
            .send(view(order))
        }

        try {
          await payment.execute(({ signal }) =>
            postJson(
              `${cfg.paymentUrl}/payments`,
              {
                orderId: order.id,
                amount: order.amount,
                currency: order.currency,
                callbackUrl: `${publicUrl()}/orders/${order.id}/payment-callback`,
              },
              // One key for every attempt: a retried capture must not charge twice.
              { signal, idempotencyKey: `capture-${order.id}` },
            ),
          )
        } catch (err) {
          // Compensate: give the stock back, then cancel. Failing here must not lose the order.
          await inventory
            .execute(({ signal }) =>
              postJson(
                `${cfg.inventoryUrl}/reservations/${order.id}/release`,
                {},
                {
                  signal,
                  idempotencyKey: `release-${order.id}`,
                },
              ),
            )
            .catch((e: unknown) =>
              request.log.error({ err: e, order: order.id }, 'stock release failed'),
            )
          // Its own type: an order that never had a payment is not one the payment side owes.
          setStatus(order, 'cancelled', 'order.payment_failed', { reason: reasonOf(err) })
          return reply.code(503).send(view(order))
        }
        setStatus(order, 'awaiting_payment', 'order.payment_requested')
        return reply.code(201).send(view(order))
      }),
  )

  app.post<{ Params: { id: string }; Body: { status: string; amount: string } }>(
    '/orders/:id/payment-callback',
    async (request, reply) => {
      const order = orders.get(request.params.id)
      if (!order) return reply.code(404).send({ error: `order ${request.params.id} not found` })
      if (order.status === 'awaiting_payment' && request.body.status === 'captured') {
        withFlow(order.flowId, () => setStatus(order, 'paid', 'order.paid'))
      }
      return view(order)
    },
  )

  app.get<{ Params: { id: string } }>('/orders/:id', async (request, reply) => {
    const order = orders.get(request.params.id)
    return order
      ? view(order)
      : reply.code(404).send({ error: `order ${request.params.id} not found` })
  })

  // The reconciler asks first (the query pattern): has this order heard of its payment?
  app.get<{ Params: { id: string } }>('/orders/:id/payment', async (request, reply) => {
    const order = orders.get(request.params.id)
    if (!order) return reply.code(404).send({ error: `order ${request.params.id} not found` })
    if (order.status !== 'paid')
      return reply.code(404).send({ error: `order ${order.id} is ${order.status}, not paid` })
    return { orderId: order.id, status: order.status, amount: order.amount }
  })

  // Compensations for the reconciler: a payment captured but its callback lost; an order
  // to cancel. Both idempotent by Idempotency-Key.
  app.post<{ Params: { id: string } }>(
    '/orders/:id/compensations/mark-paid',
    async (request, reply) =>
      idempotency.handle(request, reply, async () => {
        const order = orders.get(request.params.id)
        if (!order) return { status: 404, body: { error: `order ${request.params.id} not found` } }
        if (order.status !== 'awaiting_payment')
          return { status: 409, body: { error: `order is ${order.status}`, order: view(order) } }
        withFlow(order.flowId, () =>
          setStatus(order, 'paid', 'order.paid', { compensation: 'mark-paid' }),
        )
        return { status: 200, body: view(order) }
      }),
  )
  app.post<{ Params: { id: string } }>('/orders/:id/compensations/cancel', async (request, reply) =>
    idempotency.handle(request, reply, async () => {
      const order = orders.get(request.params.id)
      if (!order) return { status: 404, body: { error: `order ${request.params.id} not found` } }
      if (order.status === 'cancelled') return { status: 200, body: view(order) }
      withFlow(order.flowId, () =>
        setStatus(order, 'cancelled', 'order.cancelled', { compensation: 'cancel' }),
      )
      return { status: 200, body: view(order) }
    }),
  )

  handleErrors(app)
  return app
}

function view(o: Order) {
  return {
    orderId: o.id,
    flowId: o.flowId,
    status: o.status,
    amount: o.amount,
    currency: o.currency,
  }
}

function reasonOf(err: unknown): string {
  if (err instanceof BreakerOpenError) return 'breaker open'
  if (err instanceof HttpError) return `HTTP ${err.status}`
  return err instanceof Error ? err.name : 'unknown'
}
