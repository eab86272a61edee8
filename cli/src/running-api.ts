// The query API of a Reckon already running with this config. On the embedded engine that
// process owns the data directory, so commands that change data go through it; with auth on
// they carry the key in RECKON_API_KEY.
import type { ReckonConfig } from './config.js'

/** The API's base URL, if a Reckon answers there. */
export async function runningApi(config: ReckonConfig): Promise<string | undefined> {
  const host = ['0.0.0.0', '::'].includes(config.host) ? '127.0.0.1' : config.host
  const scheme = config.tls.cert ? 'https' : 'http'
  const base = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${config.apiPort}`
  try {
    const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) })
    await res.body?.cancel()
    return base
  } catch {
    return undefined
  }
}

/** Authorization for the running API: RECKON_API_KEY, when set. */
export function apiHeaders(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const key = env.RECKON_API_KEY?.trim()
  return key ? { authorization: `Bearer ${key}` } : {}
}

/** What to tell a person whose request the running API refused for want of a key. */
export function keyAdvice(base: string, status: number, role: string): string | undefined {
  if (status === 401)
    return `Reckon at ${base} has auth on: set RECKON_API_KEY to a key with role ${role} (or stop it to work on its storage directly)`
  if (status === 403) return `the key in RECKON_API_KEY does not hold role ${role}`
  return undefined
}
