import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { select } from '../api/db.js'
import type { Storage } from '../storage/client.js'
import { rowInserter } from '../storage/insert.js'
import { nowNanos } from '../time/instant.js'
import { isRole, type Role } from './roles.js'

export const SESSION_COOKIE = 'reckon_session'
export const CSRF_HEADER = 'x-csrf-token'

/**
 * What a UI session holds, signed: no server state, so a restart or a second replica keeps
 * everyone signed in. A session made with a key lives only as long as the key (checked on
 * every request); one made with a password, as long as that user's password hash is unchanged.
 */
export interface SessionClaims {
  /** The identity (`key:ci`, `user:alice`). */
  sub: string
  role: Role
  /** The key it was made with. */
  kid?: string
  /** A fingerprint of the user's password hash when it was made. */
  pwf?: string
  /** Expiry, Unix milliseconds. */
  exp: number
}

export const passwordFingerprint = (passwordHash: string): string =>
  createHash('sha256').update(passwordHash).digest('base64url').slice(0, 16)

/** Signs and opens session cookies, and derives each one's CSRF token. */
export class SessionSigner {
  constructor(private readonly secret: Buffer) {}

  issue(claims: SessionClaims): { cookie: string; csrfToken: string } {
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url')
    const cookie = `${payload}.${this.mac('session', payload)}`
    return { cookie, csrfToken: this.csrfFor(cookie) }
  }

  /** The claims of a cookie this server signed and that has not expired, else undefined. */
  open(cookie: string): SessionClaims | undefined {
    const [payload, mac, extra] = cookie.split('.')
    if (!payload || !mac || extra !== undefined) return undefined
    if (!same(mac, this.mac('session', payload))) return undefined
    let claims: unknown
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
    } catch {
      return undefined
    }
    if (!isClaims(claims) || claims.exp <= Date.now()) return undefined
    return claims
  }

  /**
   * The token a state-changing request made with this cookie must carry in x-csrf-token. A
   * page of another origin can make the browser send the cookie, but cannot read this.
   */
  csrfFor(cookie: string): string {
    return this.mac('csrf', cookie)
  }

  checkCsrf(cookie: string, token: string | undefined): boolean {
    return token !== undefined && same(token, this.csrfFor(cookie))
  }

  private mac(purpose: string, value: string): string {
    return createHmac('sha256', this.secret).update(`${purpose}:${value}`).digest('base64url')
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

function isClaims(v: unknown): v is SessionClaims {
  if (typeof v !== 'object' || v === null) return false
  const c = v as Record<string, unknown>
  return (
    typeof c.sub === 'string' &&
    isRole(c.role) &&
    typeof c.exp === 'number' &&
    (c.kid === undefined || typeof c.kid === 'string') &&
    (c.pwf === undefined || typeof c.pwf === 'string')
  )
}

/**
 * The key sessions are signed with, shared by every process on the store: the first one
 * written wins (each process offers one; all then read the earliest).
 */
export async function sessionSecret(storage: Storage): Promise<Buffer> {
  const read = async (): Promise<string | undefined> => {
    const [row] = await select<{ value: string }>(
      storage,
      `SELECT argMin(value, created_at) AS value FROM ${storage.database}.auth_secrets
       WHERE name = 'session' HAVING count() > 0`,
      {},
      10,
    )
    return row?.value
  }
  const existing = await read()
  if (existing) return Buffer.from(existing, 'base64')
  const row = {
    name: 'session',
    value: randomBytes(32).toString('base64'),
    created_at: nowNanos().toString(),
  }
  await rowInserter(storage)(`${storage.database}.auth_secrets`, 'JSONEachRow', [
    Buffer.from(JSON.stringify(row) + '\n'),
  ])
  return Buffer.from((await read()) ?? row.value, 'base64')
}
