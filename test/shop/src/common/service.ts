import { init } from '@reckon/sdk'
import type { FastifyInstance } from 'fastify'

/**
 * Starts one shop service: the SDK first, then the app (imported by `build` only now, so
 * the instrumentations see Fastify and node:http load), on 127.0.0.1:$PORT. Prints one
 * JSON line with its URL for the launcher, and flushes telemetry on SIGTERM.
 */
export async function runService(
  service: string,
  build: () => Promise<FastifyInstance>,
): Promise<void> {
  const reckon = init({
    service,
    version: '1.4.2',
    environment: 'demo',
    metricIntervalMs: Number(process.env.SHOP_METRIC_INTERVAL_MS) || 5000,
  })
  const app = await build()
  const url = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) })
  process.stdout.write(`${JSON.stringify({ service, url })}\n`)
  let stopping = false
  const stop = async (): Promise<void> => {
    if (stopping) return
    stopping = true
    await app.close()
    await reckon.shutdown()
    process.exit(0)
  }
  process.on('SIGTERM', () => void stop())
  process.on('SIGINT', () => void stop())
}

/** Reads a required URL from the environment, failing with the variable's name. */
export function envUrl(name: string): string {
  const value = process.env[name]
  if (!value) throw new Error(`${name} must be set to the service's base URL`)
  return value.replace(/\/+$/, '')
}
