import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import Type from 'typebox'
import { recordAudit, type AuditEntry } from './audit.js'
import type { Authentication } from './authenticator.js'
import type { Identity } from './identity.js'
import { allows, ROLES, type RouteRole } from './roles.js'
import { CSRF_HEADER, SESSION_COOKIE } from './session-cookie.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The role a caller needs for this route; every route must say (`public` for none). */
    role?: RouteRole
  }
  interface FastifyInstance {
    /** Every route of this app and the role it needs, as registered (tests, docs). */
    routeRoles: { method: string; url: string; role: RouteRole }[]
  }
  interface FastifyRequest {
    /** Who is calling; set before any handler runs (null only on routes that are public). */
    identity: Identity | null
    /** Records a state change under the caller's identity; awaited before answering. */
    audit(entry: AuditEntry): Promise<void>
  }
}

/** 401 and 403: what the caller can do about it is in the message. */
export class AuthRefused extends Error {
  override name = 'AuthRefused'
  constructor(
    readonly statusCode: 401 | 403,
    message: string,
  ) {
    super(message)
  }
}

export interface GuardOptions {
  /** Which port: ingest keys on 4318, API keys and sessions on 8318. */
  surface: 'ingest' | 'api'
  /** Declare 401/403 and the role in every route's schema (the OpenAPI document). */
  document?: boolean
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
const ROLE_VALUES = new Set<string>(['public', ...ROLES])

const bearerOf = (request: FastifyRequest): string | undefined => {
  const h = request.headers.authorization
  if (h === undefined) return undefined
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(h)
  return m?.[1] ?? ''
}

/**
 * A browser sends Origin on every cross-origin request that changes something. A page of
 * another site (or another port) then gets 403, whether auth is on or not: with auth off on
 * loopback, any page the user opens could otherwise flip switches on their Reckon.
 */
function foreignOrigin(request: FastifyRequest): string | undefined {
  const origin = request.headers.origin
  if (origin === undefined || SAFE_METHODS.has(request.method)) return undefined
  let host: string
  try {
    host = new URL(origin).host
  } catch {
    return origin
  }
  const served = [request.headers.host, request.headers['x-forwarded-host']].filter(Boolean)
  return served.includes(host) ? undefined : origin
}

/**
 * Authentication and authorization for one app, in one place: every route declares its role
 * (a route without one fails to register), and every request is let through only with it.
 */
export const authGuard = fp<GuardOptions>(
  async (app: FastifyInstance, opts) => {
    const auth = app.reckon.auth
    app.decorateRequest('identity', null)
    app.decorate('routeRoles', [])
    app.decorateRequest('audit', function (this: FastifyRequest, entry: AuditEntry) {
      const who = this.identity ?? auth.unauthenticated
      return recordAudit(app.reckon.storage, who, entry, { address: this.ip, requestId: this.id })
    })

    app.addHook('onRoute', (route) => {
      // The OpenAPI pages describe the API and hold nothing of the user's.
      if (route.url.startsWith('/api/docs')) route.config = { ...route.config, role: 'public' }
      const role = route.config?.role
      if (role === undefined || !ROLE_VALUES.has(role))
        throw new Error(`route ${String(route.method)} ${route.url} declares no role (config.role)`)
      for (const method of [route.method].flat())
        app.routeRoles.push({ method, url: route.url, role: role })
      if (!opts.document || role === 'public' || route.url.startsWith('/api/docs')) return
      route.schema ??= {}
      const s = route.schema as { description?: string; security?: unknown[] }
      s.description = `${s.description ? `${s.description}\n\n` : ''}Needs role **${role}**.`
      s.security = [{ apiKey: [] }, { session: [] }]
      ;(route.schema as Record<string, unknown>)['x-role'] = role
      route.schema.response = {
        ...(route.schema.response as object | undefined),
        401: errorBody('No credentials, or an unknown, revoked or expired key or session'),
        403: errorBody(`The caller's role does not include ${role}, or a CSRF check failed`),
      }
    })

    app.addHook('onRequest', async (request, reply) => {
      const needed = request.routeOptions.config.role
      if (needed === undefined) return // no such route: its 404
      const origin = foreignOrigin(request)
      if (origin !== undefined && opts.surface === 'api')
        throw new AuthRefused(403, `requests from ${origin} may not change anything here`)
      const credentials = {
        bearer: bearerOf(request),
        session: request.cookies?.[SESSION_COOKIE],
      }
      const result: Authentication =
        opts.surface === 'ingest'
          ? await auth.authenticateIngest(credentials)
          : await auth.authenticate(credentials)
      if (needed === 'public') {
        if (result.ok) request.identity = result.identity
        return
      }
      if (!result.ok) {
        reply.header('www-authenticate', 'Bearer realm="reckon"')
        throw new AuthRefused(401, result.message)
      }
      const { identity } = result
      if (!allows(identity.role, needed))
        throw new AuthRefused(
          403,
          `this needs role ${needed}; ${identity.name} holds ${identity.role}`,
        )
      if (result.bySession && !SAFE_METHODS.has(request.method)) {
        const token = request.headers[CSRF_HEADER]
        const cookie = credentials.session ?? ''
        if (typeof token !== 'string' || !auth.sessions.checkCsrf(cookie, token))
          throw new AuthRefused(
            403,
            `missing or wrong ${CSRF_HEADER} header: a signed-in page sends the token GET /api/me gives`,
          )
      }
      request.identity = identity
    })
  },
  { name: 'reckon-auth-guard', dependencies: ['reckon-context'] },
)

const errorBody = (description: string) =>
  Type.Object(
    { statusCode: Type.Integer(), error: Type.String(), message: Type.String() },
    { description },
  )
