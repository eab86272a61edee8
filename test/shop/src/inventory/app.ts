import { recordEvent } from '@reckon/sdk'
import Fastify, { type FastifyInstance } from 'fastify'
import { BoundedMap } from '../common/bounded-map.js'
import { handleErrors } from '../common/errors.js'
import { faultKnobs, type Faults } from '../common/faults.js'
import { IdempotencyStore } from '../common/idempotency.js'

interface Reservation {
  orderId: string
  items: { sku: string; quantity: number }[]
  status: 'reserved' | 'released'
}

const reservationSchema = {
  type: 'object',
  required: ['orderId', 'items'],
  properties: {
    orderId: { type: 'string', minLength: 1, maxLength: 200 },
    items: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['sku', 'quantity'],
        properties: { sku: { type: 'string' }, quantity: { type: 'integer', minimum: 1 } },
      },
    },
  },
} as const

/** Stock per SKU; an unknown SKU starts with this much. `SOLD-OUT-*` SKUs have none. */
const INITIAL_STOCK = 1_000_000

/** The inventory service: reserves and releases stock. */
export function inventoryApp(initialFaults: Partial<Faults> = {}): FastifyInstance {
  const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? 'warn' } })
  const stock = new BoundedMap<string, number>(100_000)
  const reservations = new BoundedMap<string, Reservation>(50_000)
  const reserves = new IdempotencyStore()
  const releases = new IdempotencyStore()
  const knobs = faultKnobs(app, initialFaults)
  const available = (sku: string) =>
    stock.get(sku) ?? (sku.startsWith('SOLD-OUT') ? 0 : INITIAL_STOCK)

  const record = (r: Reservation, type: string) =>
    recordEvent({
      type,
      entity: 'order',
      key: r.orderId,
      status: r.status,
      attributes: { skus: r.items.map((i) => `${i.sku}×${i.quantity}`).join(',') },
    })

  app.post<{ Body: { orderId: string; items: { sku: string; quantity: number }[] } }>(
    '/reservations',
    { schema: { body: reservationSchema } },
    async (request, reply) => {
      await knobs.apply()
      return reserves.handle(request, reply, async () => {
        const { orderId, items } = request.body
        const existing = reservations.get(orderId)
        if (existing) return { status: 200, body: existing }
        const short = items.find((i) => available(i.sku) < i.quantity)
        if (short) return { status: 409, body: { error: `out of stock: ${short.sku}` } }
        for (const i of items) stock.set(i.sku, available(i.sku) - i.quantity)
        const r: Reservation = { orderId, items, status: 'reserved' }
        reservations.set(orderId, r)
        record(r, 'stock.reserved')
        return { status: 201, body: r }
      })
    },
  )

  app.get<{ Params: { orderId: string } }>('/reservations/:orderId', async (request, reply) => {
    const r = reservations.get(request.params.orderId)
    return (
      r ?? reply.code(404).send({ error: `no reservation for order ${request.params.orderId}` })
    )
  })

  app.post<{ Params: { orderId: string } }>(
    '/reservations/:orderId/release',
    async (request, reply) =>
      releases.handle(request, reply, async () => {
        const r = reservations.get(request.params.orderId)
        if (!r)
          return {
            status: 404,
            body: { error: `no reservation for order ${request.params.orderId}` },
          }
        if (r.status === 'reserved') {
          for (const i of r.items) stock.set(i.sku, available(i.sku) + i.quantity)
          r.status = 'released'
          record(r, 'stock.released')
        }
        return { status: 200, body: r }
      }),
  )

  handleErrors(app)
  return app
}
