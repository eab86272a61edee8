// The built UI on the query API's port: hashed assets cached for a year (their names change
// with their content), index.html never cached, and every other page path answered with
// index.html so a shared link opens its view (the UI routes in the browser).
import fastifyStatic from '@fastify/static'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance, FastifyReply } from 'fastify'

/** Paths that belong to the server, never to the UI: an unknown one stays a JSON 404. */
const SERVER_PATHS = /^\/(api|v1|healthz|readyz|metrics)(\/|$|\?)/

// The UI loads only its own scripts and styles and calls only its own origin; no page may
// frame it (a framed sign-in or switch page could be clicked through).
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // Svelte's style: directives write style attributes.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ')

export interface UiOptions {
  /** The built UI: index.html and assets/. */
  dir: string
}

export async function uiRoutes(app: FastifyInstance, opts: UiOptions): Promise<void> {
  if (!existsSync(join(opts.dir, 'index.html')))
    throw new Error(
      `the UI is not built: ${join(opts.dir, 'index.html')} is missing (npm run build)`,
    )
  await app.register(fastifyStatic, { root: opts.dir, serve: false })

  const page = (reply: FastifyReply) =>
    reply
      .header('cache-control', 'no-cache')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'same-origin')
      .sendFile('index.html', { cacheControl: false })

  const route = { config: { role: 'public' as const }, schema: { hide: true } }

  app.get('/assets/*', route, (request, reply) => {
    const file = (request.params as { '*': string })['*']
    return reply
      .header('x-content-type-options', 'nosniff')
      .sendFile(join('assets', file), { immutable: true, maxAge: '365d' })
  })

  app.get('/', route, (_request, reply) => page(reply))

  app.get('/*', route, (request, reply) => {
    if (SERVER_PATHS.test(request.url))
      return reply.code(404).send({
        statusCode: 404,
        error: 'Not Found',
        message: `Route GET:${request.url} not found`,
      })
    return page(reply)
  })
}
