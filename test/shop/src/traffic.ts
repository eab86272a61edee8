/** Customers: a steady stream of orders against the order service. */
export interface TrafficOptions {
  ordersPerSecond?: number
  /** Orders in flight at most; beyond it a tick is skipped (the shop is struggling). */
  maxInFlight?: number
}

export interface Traffic {
  readonly stats: { sent: number; accepted: number; refused: number; failed: number }
  stop(): Promise<void>
}

const SKUS = ['MUG-BLUE', 'TEE-M', 'TEE-L', 'POSTER-A2', 'SOCKS-42', 'SOLD-OUT-VINYL']
const PRICES: Record<string, string> = {
  'MUG-BLUE': '12.90',
  'TEE-M': '24.99',
  'TEE-L': '24.99',
  'POSTER-A2': '9.50',
  'SOCKS-42': '7.25',
  'SOLD-OUT-VINYL': '31.00',
}

/** A random basket; about one order in 40 asks for a sold-out item. */
export function randomOrder(): unknown {
  const count = 1 + Math.floor(Math.random() * 3)
  const items = Array.from({ length: count }, () => {
    const sku =
      Math.random() < 0.025
        ? 'SOLD-OUT-VINYL'
        : SKUS[Math.floor(Math.random() * (SKUS.length - 1))]!
    return { sku, quantity: 1 + Math.floor(Math.random() * 3), unitPrice: PRICES[sku]! }
  })
  return { customer: `customer-${Math.floor(Math.random() * 5000)}`, currency: 'EUR', items }
}

export function startTraffic(orderUrl: string, o: TrafficOptions = {}): Traffic {
  const rate = o.ordersPerSecond ?? 5
  const maxInFlight = o.maxInFlight ?? 100
  const stats = { sent: 0, accepted: 0, refused: 0, failed: 0 }
  const inFlight = new Set<Promise<void>>()
  const send = (): void => {
    if (inFlight.size >= maxInFlight) return
    stats.sent++
    const p = fetch(`${orderUrl}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(randomOrder()),
      signal: AbortSignal.timeout(10_000),
    })
      .then(async (res) => {
        await res.arrayBuffer()
        if (res.status === 201) stats.accepted++
        else if (res.status < 500) stats.refused++
        else stats.failed++
      })
      .catch(() => {
        stats.failed++
      })
      .finally(() => inFlight.delete(p))
    inFlight.add(p)
  }
  const timer = setInterval(send, 1000 / rate)
  return {
    stats,
    async stop() {
      clearInterval(timer)
      await Promise.allSettled([...inFlight])
    },
  }
}
