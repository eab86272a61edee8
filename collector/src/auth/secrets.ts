import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'

/**
 * API keys are `rk_<id>_<secret>`: the id (public, 16 hex digits) finds the key, the secret
 * (256 random bits) proves it. At rest only SHA-256 of the secret is kept. A slow KDF buys
 * nothing against 256 random bits (no guess list to try) and would cost every OTLP request
 * its verification time; passwords, which people choose, get scrypt instead.
 */
export interface KeyToken {
  id: string
  secret: string
}

const TOKEN = /^rk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/

export function newKeyToken(): { token: string } & KeyToken {
  const id = randomBytes(8).toString('hex')
  const secret = randomBytes(32).toString('base64url')
  return { token: `rk_${id}_${secret}`, id, secret }
}

/** The id and secret of a well-formed token, else undefined. */
export function parseKeyToken(token: string): KeyToken | undefined {
  const m = TOKEN.exec(token)
  return m?.[1] && m[2] ? { id: m[1], secret: m[2] } : undefined
}

export const hashSecret = (secret: string): string =>
  createHash('sha256').update(secret).digest('hex')

/** Compares in time independent of where the two differ. */
export function sameSecret(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex')
  const b = Buffer.from(storedHash, 'hex')
  return a.length === b.length && timingSafeEqual(a, b)
}

// OWASP's minimum for scrypt: N=2^17 would be stronger, but 128 MiB per sign-in lets a few
// parallel attempts exhaust a small server; sign-in is rate limited besides.
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, keylen: 32 }
const PASSWORD = /^scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/

const derive = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, keylen, { ...opts, maxmem: 256 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  )

/** `scrypt$N=…,r=…,p=…$salt$hash`, the form `auth.users[].passwordHash` takes. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const { N, r, p, keylen } = SCRYPT
  const key = await derive(password, salt, keylen, { N, r, p })
  return `scrypt$N=${N},r=${r},p=${p}$${salt.toString('base64')}$${key.toString('base64')}`
}

export const isPasswordHash = (value: string): boolean => PASSWORD.test(value)

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = PASSWORD.exec(stored)
  if (!m) return false
  const [, N, r, p, salt, hash] = m
  const expected = Buffer.from(hash ?? '', 'base64')
  const key = await derive(password, Buffer.from(salt ?? '', 'base64'), expected.length, {
    N: Number(N),
    r: Number(r),
    p: Number(p),
  })
  return timingSafeEqual(key, expected)
}
