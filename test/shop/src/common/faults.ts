import type { FastifyInstance } from 'fastify'

/** Knobs that make a service fail the ways the seed documents describe. */
export interface Faults {
  /** Share of requests answered with 503 (0–1). */
  errorRate: number
  /** Share of requests delayed by `latencyMs` (0–1). */
  latencyRate: number
  latencyMs: number
  /** Payment: share of captures whose callback to the order service is never sent. */
  dropCallbackRate: number
  /** Payment: share of captures later refunded without telling the order service. */
  statusMismatchRate: number
  /** Payment: share of captures booked with an amount one cent off. */
  amountMismatchRate: number
}

export const NO_FAULTS: Faults = {
  errorRate: 0,
  latencyRate: 0,
  latencyMs: 0,
  dropCallbackRate: 0,
  statusMismatchRate: 0,
  amountMismatchRate: 0,
}

export class HttpFault extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message)
  }
}

/** GET/PUT /faults; `apply()` injects the configured latency and errors into a request. */
export function faultKnobs(app: FastifyInstance, initial: Partial<Faults> = {}) {
  const faults: Faults = { ...NO_FAULTS, ...initial }
  app.get('/faults', async () => faults)
  app.put<{ Body: Partial<Faults> }>('/faults', async (request, reply) => {
    const body = request.body
    for (const [key, value] of Object.entries(body ?? {})) {
      if (!(key in NO_FAULTS)) return reply.code(400).send({ error: `unknown fault ${key}` })
      const rate = key !== 'latencyMs'
      if (typeof value !== 'number' || value < 0 || (rate && value > 1)) {
        return reply
          .code(400)
          .send({ error: `${key} must be a number${rate ? ' from 0 to 1' : ' ≥ 0'}` })
      }
      faults[key as keyof Faults] = value
    }
    request.log.warn({ faults }, 'faults changed')
    return faults
  })
  return {
    faults,
    chance: (rate: number): boolean => rate > 0 && Math.random() < rate,
    async apply(): Promise<void> {
      if (faults.latencyRate > 0 && Math.random() < faults.latencyRate) {
        await new Promise((r) => setTimeout(r, faults.latencyMs))
      }
      if (faults.errorRate > 0 && Math.random() < faults.errorRate) {
        throw new HttpFault(503, 'injected fault: service unavailable')
      }
    },
  }
}
