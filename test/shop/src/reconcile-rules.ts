// The reconciliation rules `npm start` runs against the demo shop, written out as a
// reckon.yaml section (JSON is YAML). They find the breaks the payment service injects and
// repair them through the order and inventory services' idempotent compensation endpoints:
// - payment-order: a payment captured whose callback was lost (the order never heard it was
//   paid: dropped; ask the order service, then mark it paid), a refund the order service
//   never heard of (status mismatch: cancel the order), an amount captured that differs from
//   the order's (amount mismatch: money needs a person, so escalated at once).
// - order-inventory: an order cancelled whose stock is still held (status mismatch: release).
export interface ShopUrls {
  order: string
  inventory: string
}

/** How fast the rules run: the demo's pace by default; tests run them faster. */
export interface Pace {
  grace: string
  /** node-cron expressions of the two rules' schedules. */
  schedules: [string, string]
  compensationInterval: string
  backoff: { initial: string; max: string }
}

const DEMO_PACE: Pace = {
  grace: '20s',
  schedules: ['*/30 * * * * *', '15,45 * * * * *'],
  compensationInterval: '5s',
  backoff: { initial: '5s', max: '1m' },
}

export function demoReconcile(urls: ShopUrls, pace: Pace = DEMO_PACE): object {
  const post = (url: string) => ({ method: 'POST', url, body: {} })
  const retry = { maxAttempts: 3, backoff: pace.backoff }
  return {
    compensationInterval: pace.compensationInterval,
    sources: {
      payments: {
        events: { system: 'payment', type: ['payment.captured', 'payment.refunded'], latest: true },
      },
      orders: {
        events: { system: 'order', type: ['order.paid', 'order.cancelled'], latest: true },
      },
      'orders-placed': {
        events: {
          system: 'order',
          type: [
            'order.payment_requested',
            'order.paid',
            'order.cancelled',
            'order.payment_failed',
          ],
          latest: true,
        },
      },
      reservations: {
        events: { system: 'inventory', type: ['stock.reserved', 'stock.released'], latest: true },
      },
    },
    rules: [
      {
        name: 'payment-order',
        left: 'payments',
        right: 'orders',
        window: '1h',
        grace: pace.grace,
        schedule: pace.schedules[0],
        status: { captured: ['paid'], refunded: ['cancelled'] },
        compensate: {
          dropped: {
            verify: { method: 'GET', url: `${urls.order}/orders/{{key}}/payment` },
            action: post(`${urls.order}/orders/{{key}}/compensations/mark-paid`),
            ...retry,
          },
          status_mismatch: {
            action: post(`${urls.order}/orders/{{key}}/compensations/cancel`),
            ...retry,
          },
          // Money captured that differs from the order's: no machine decides that.
          amount_mismatch: { escalate: true },
        },
      },
      {
        name: 'order-inventory',
        left: 'orders-placed',
        right: 'reservations',
        window: '1h',
        grace: pace.grace,
        schedule: pace.schedules[1],
        // Reservations carry no amount: keys and statuses are what must agree.
        amount: { compare: false },
        status: { awaiting_payment: ['reserved'], paid: ['reserved'], cancelled: ['released'] },
        compensate: {
          status_mismatch: {
            action: post(`${urls.inventory}/reservations/{{key}}/release`),
            ...retry,
          },
        },
      },
    ],
  }
}
