import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import Type from 'typebox'
import { queryRoute } from '../api/reads.js'
import { CapRefusals, ErrorBody, Limit, QueryRefusals, Refusals, Window } from '../api/schemas.js'
import { DAY_NS, window } from '../api/time.js'
import { nowNanos } from '../time/instant.js'
import { listAudit } from './audit.js'
import { parseExpiry } from './expiry.js'
import { AuthRefused } from './guard.js'
import { KeyNameTaken } from './key-store.js'
import { RoleSchema } from './role-schema.js'
import { CSRF_HEADER, SESSION_COOKIE } from './session-cookie.js'

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) =>
  Type.Union([t, Type.Null()])

const Me = Type.Object({
  auth: Type.Union([Type.Literal('on'), Type.Literal('off')], {
    description: 'off: everyone is `local` (loopback) or `anonymous` (auth.mode none)',
  }),
  identity: Nullable(Type.String()),
  role: Nullable(RoleSchema),
  via: Nullable(
    Type.Union([
      Type.Literal('local'),
      Type.Literal('none'),
      Type.Literal('key'),
      Type.Literal('session'),
    ]),
  ),
  csrfToken: Nullable(
    Type.String({ description: `Send as ${CSRF_HEADER} on every change made with the session` }),
  ),
})

const ApiKeySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  createdAtUnixNano: Type.String(),
  createdBy: Type.String(),
  expiresAtUnixNano: Nullable(Type.String()),
  revokedAtUnixNano: Nullable(Type.String()),
  revokedBy: Nullable(Type.String()),
  lastUsedAtUnixNano: Nullable(Type.String()),
})

const AuditRecordSchema = Type.Object({
  atUnixNano: Type.String(),
  identity: Type.String(),
  role: Type.String(),
  via: Type.String(),
  action: Type.String(),
  target: Type.String(),
  details: Type.Record(Type.String(), Type.Unknown()),
  address: Type.String(),
  requestId: Type.String(),
})

const KeyName = Type.String({ pattern: '^[A-Za-z0-9_.@-]{1,100}$' })

const secure = (request: FastifyRequest): boolean =>
  request.protocol === 'https' || request.headers['x-forwarded-proto'] === 'https'

/** Signing in and out, who am I, API keys and the audit log. */
export const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const auth = app.reckon.auth
  const { searches, timeout } = queryRoute(app)

  const clearSession = (request: FastifyRequest, reply: FastifyReply): void => {
    reply.clearCookie(SESSION_COOKIE, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: secure(request),
    })
  }

  app.get(
    '/api/me',
    {
      config: { role: 'public' },
      schema: {
        summary: 'Who this request is signed in as, and whether auth is on',
        tags: ['auth'],
        response: { 200: Me },
      },
    },
    async (request) => {
      const who = request.identity
      const cookie = request.cookies[SESSION_COOKIE]
      return {
        auth: auth.required ? ('on' as const) : ('off' as const),
        identity: who?.name ?? null,
        role: who?.role ?? null,
        via: who?.via ?? null,
        csrfToken: who?.via === 'session' && cookie ? auth.sessions.csrfFor(cookie) : null,
      }
    },
  )

  app.post(
    '/api/session',
    {
      config: {
        role: 'public',
        rateLimit: {
          max: app.reckon.config.rateLimit.signInPerMinute,
          timeWindow: 60_000,
          keyGenerator: (request: FastifyRequest) => `signin:${request.ip}`,
        },
      },
      schema: {
        summary: 'Signs in with an API key or a user name and password (sets the session cookie)',
        tags: ['auth'],
        body: Type.Union([
          Type.Object(
            { key: Type.String({ minLength: 1, maxLength: 200 }) },
            { additionalProperties: false },
          ),
          Type.Object(
            {
              username: Type.String({ minLength: 1, maxLength: 100 }),
              password: Type.String({ minLength: 1, maxLength: 1000 }),
            },
            { additionalProperties: false },
          ),
        ]),
        response: {
          200: Type.Object({ identity: Type.String(), role: RoleSchema, csrfToken: Type.String() }),
          ...Refusals,
          401: Type.Object(
            { statusCode: Type.Integer(), error: Type.String(), message: Type.String() },
            { description: 'Wrong key, user name or password' },
          ),
          409: Type.Object(
            { statusCode: Type.Integer(), error: Type.String(), message: Type.String() },
            { description: 'Auth is off: there is nothing to sign in to' },
          ),
        },
      },
    },
    async (request, reply) => {
      if (!auth.required)
        return reply.code(409).send({
          statusCode: 409,
          error: 'Conflict',
          message: 'auth is off (auth.mode is not keys): every request is already let in',
        })
      const claims = await auth.signIn(request.body)
      const tried = 'username' in request.body ? { username: request.body.username } : {}
      if (!claims) {
        await request.audit({ action: 'session.refused', target: '', details: tried })
        throw new AuthRefused(401, 'wrong key, user name or password')
      }
      if (claims.role === 'ingest') throw new AuthRefused(403, 'an ingest key cannot sign in')
      const { cookie, csrfToken } = auth.sessions.issue(claims)
      request.identity = { name: claims.sub, role: claims.role, via: 'session' }
      await request.audit({ action: 'session.create', target: claims.sub })
      reply.setCookie(SESSION_COOKIE, cookie, {
        path: '/',
        httpOnly: true,
        sameSite: 'strict',
        secure: secure(request),
        maxAge: Math.floor((claims.exp - Date.now()) / 1000),
      })
      return { identity: claims.sub, role: claims.role, csrfToken }
    },
  )

  app.delete(
    '/api/session',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Signs out (clears the session cookie)',
        tags: ['auth'],
        response: { 200: Type.Object({ signedOut: Type.Boolean() }) },
      },
    },
    async (request, reply) => {
      clearSession(request, reply)
      return { signedOut: true }
    },
  )

  app.get(
    '/api/keys',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Every API key: name, role, created, expires, revoked, last used (never secrets)',
        tags: ['auth'],
        response: { 200: Type.Object({ keys: Type.Array(ApiKeySchema) }), ...CapRefusals },
      },
    },
    async () => ({ keys: await auth.keys.list() }),
  )

  app.post(
    '/api/keys',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Creates an API key; its token is in this answer and nowhere else, ever',
        tags: ['auth'],
        body: Type.Object(
          {
            name: KeyName,
            role: RoleSchema,
            expires: Type.Optional(
              Type.String({ description: 'A duration (90d, 12h, 2w) or an RFC 3339 time' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ token: Type.String(), key: ApiKeySchema }),
          ...QueryRefusals,
          409: Type.Object(
            { statusCode: Type.Integer(), error: Type.String(), message: Type.String() },
            { description: 'A key of that name is in use' },
          ),
        },
      },
    },
    async (request, reply) => {
      const { name, role, expires } = request.body
      const expiresAt = expires === undefined ? undefined : parseExpiry(expires, nowNanos())
      const by = request.identity?.name ?? auth.unauthenticated.name
      try {
        const created = await auth.keys.create({
          name,
          role,
          by,
          ...(expiresAt ? { expiresAt } : {}),
        })
        await request.audit({
          action: 'key.create',
          target: created.key.id,
          details: { name, role, expiresAtUnixNano: created.key.expiresAtUnixNano },
        })
        return reply.code(201).send(created)
      } catch (err) {
        if (err instanceof KeyNameTaken)
          return reply.code(409).send({ statusCode: 409, error: 'Conflict', message: err.message })
        throw err
      }
    },
  )

  app.delete(
    '/api/keys/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Revokes an API key: refused from the next request on',
        tags: ['auth'],
        params: Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{16}$' }) }),
        response: { 200: Type.Object({ key: ApiKeySchema }), 404: ErrorBody, ...QueryRefusals },
      },
    },
    async (request, reply) => {
      const by = request.identity?.name ?? auth.unauthenticated.name
      const key = await auth.keys.revoke(request.params.id, by)
      if (!key)
        return reply.code(404).send({
          statusCode: 404,
          error: 'Not Found',
          message: `no API key ${request.params.id}`,
        })
      await request.audit({ action: 'key.revoke', target: key.id, details: { name: key.name } })
      return { key }
    },
  )

  app.get(
    '/api/audit',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Every state change and who made it, newest first',
        tags: ['auth'],
        querystring: Type.Object(
          {
            action: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            identity: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
            target: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
            ...Window,
            limit: Limit(10000, 100),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ records: Type.Array(AuditRecordSchema) }),
          ...QueryRefusals,
        },
      },
    },
    async (request) => {
      const q = request.query
      const query = {
        ...window(q, 30n * DAY_NS),
        action: q.action,
        identity: q.identity,
        target: q.target,
        limit: q.limit ?? 100,
      }
      return { records: await searches.run((storage) => listAudit(storage, query, timeout)) }
    },
  )
}
