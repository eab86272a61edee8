import { isIP } from 'node:net'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import Type from 'typebox'

/** Names a loopback-bound server always answers to. */
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]']

/** Answered 421: the request named a host this server does not serve. */
export class MisdirectedHost extends Error {
  override name = 'MisdirectedHost'
  readonly statusCode = 421
}

/** True for an address only this machine can reach. */
export function isLoopback(address: string): boolean {
  const a = address.replace(/^\[|\]$/g, '').toLowerCase()
  if (a === 'localhost' || a === '::1') return true
  return isIP(a) === 4 && a.startsWith('127.')
}

/** A Host header or a configured name as compared: lowercase, no port, IPv6 in brackets. */
export function hostName(value: string): string {
  let v = value.trim().toLowerCase()
  if (v.startsWith('[')) return v.slice(0, v.indexOf(']') + 1)
  if (isIP(v) === 6) return `[${v}]`
  v = v.replace(/:\d*$/, '')
  return v.endsWith('.') ? v.slice(0, -1) : v
}

export interface HostCheckOptions {
  /** The address the server binds to. */
  bind: string
  /** Further names to serve (reverse proxies); `*` serves any. */
  allowedHosts: readonly string[]
  /** Declare the 421 answer in every route's schema (the OpenAPI document). */
  document?: boolean
}

/**
 * DNS rebinding: a web page whose name the attacker re-points at 127.0.0.1 reaches a
 * loopback server from the user's browser, with its own name in `Host`. A loopback-bound
 * server therefore serves only the loopback names and the configured ones. Bound to any
 * other address it is reachable by name anyway, and serves any Host unless names are
 * configured. A request without Host (HTTP/1.0) comes from no browser and is served.
 */
export const hostCheck = fp<HostCheckOptions>(
  async (app: FastifyInstance, opts) => {
    const configured = opts.allowedHosts.map(hostName)
    if (configured.includes('*')) return
    const loopback = isLoopback(opts.bind)
    if (!loopback && configured.length === 0) return
    const allowed = new Set([...LOOPBACK_NAMES, ...configured])
    const names = [...allowed].join(', ')

    app.addHook('onRequest', async (request) => {
      const host = request.headers.host
      if (host === undefined || allowed.has(hostName(host))) return
      throw new MisdirectedHost(
        `Host ${JSON.stringify(host)} is not served here: this server answers to ${names}; add the name to allowedHosts (RECKON_ALLOWED_HOSTS) to serve it`,
      )
    })

    if (opts.document) {
      const body = Type.Object(
        { statusCode: Type.Integer(), error: Type.String(), message: Type.String() },
        { description: 'Misdirected: the Host header names a host this server does not serve' },
      )
      app.addHook('onRoute', (route) => {
        route.schema ??= {}
        route.schema.response = { ...(route.schema.response as object | undefined), 421: body }
      })
    }
  },
  { name: 'reckon-host-check' },
)
