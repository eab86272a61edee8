import type { Config } from '../config/index.js'
import { isLoopback } from '../host-check.js'

/** Reckon would serve a network without asking who is calling: refused at start. */
export class ExposedWithoutAuth extends Error {
  override name = 'ExposedWithoutAuth'
}

/**
 * Auth may stay off on loopback, where only this machine's users reach the ports. Bound to
 * any other address it must be on, unless turned off on purpose (`auth.mode: none`), which
 * is warned about at every start. Returns that warning, if any.
 */
export function checkExposure(config: Config): string | undefined {
  if (isLoopback(config.host)) return undefined
  if (config.auth.mode === 'keys') {
    if (config.auth.ingest === 'open')
      return `auth.ingest is open: anyone who reaches ${config.host}:${config.otlpPort} can send telemetry as any service`
    return undefined
  }
  if (config.auth.mode === 'none')
    return `auth is off (auth.mode: none) on ${config.host}: anyone who reaches ports ${config.otlpPort} and ${config.apiPort} can read every trace, flip switches and sign off reports`
  throw new ExposedWithoutAuth(
    `refusing to listen on ${config.host} without auth: set auth.mode: keys in reckon.yaml (RECKON_AUTH_MODE=keys) and create an admin key with \`reckon keys create --name admin --role admin\`, bind to 127.0.0.1, or set auth.mode: none to serve without it`,
  )
}
