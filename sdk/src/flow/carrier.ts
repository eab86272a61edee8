import { context, propagation, type Context } from '@opentelemetry/api'

/** Message headers: what Kafka, AMQP or a job queue carries next to the payload. */
export type Carrier = Record<string, string | string[] | undefined>

const getter = {
  keys: (c: Carrier) => Object.keys(c),
  get: (c: Carrier, key: string) => {
    const direct = c[key]
    if (direct !== undefined) return direct
    // Brokers and proxies may change header case; W3C names are lower case.
    const found = Object.keys(c).find((k) => k.toLowerCase() === key)
    return found === undefined ? undefined : c[found]
  },
}

/**
 * Writes the current trace and flow into message headers (W3C `traceparent`, `baggage`).
 * HTTP needs none of this: the instrumented clients do it.
 */
export function inject<C extends Carrier>(headers: C, ctx: Context = context.active()): C {
  propagation.inject(ctx, headers)
  return headers
}

/** The context carried by received message headers, to run the handler in. */
export function extract(headers: Carrier, ctx: Context = context.active()): Context {
  return propagation.extract(ctx, headers, getter)
}

/** Runs `fn` in the trace and flow carried by the message headers. */
export function withExtracted<T>(headers: Carrier, fn: () => T): T {
  return context.with(extract(headers), fn)
}
