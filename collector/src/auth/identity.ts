import type { Role } from './roles.js'

/**
 * Who a request is, as authentication found it. `name` is what audit records and sign-offs
 * carry: `key:<name>` for an API key, `user:<name>` for a person signed in with a password,
 * `local` when auth is off on loopback, `anonymous` when it is off elsewhere (`auth.mode:
 * none`).
 */
export interface Identity {
  name: string
  role: Role
  via: 'local' | 'none' | 'key' | 'session'
  /** The API key behind it (directly, or the one a session was made with). */
  keyId?: string
}

/** Everyone, when auth is off on loopback: one person at their own machine. */
export const LOCAL: Identity = { name: 'local', role: 'admin', via: 'local' }

/** Everyone, when auth is turned off on a network address. */
export const ANONYMOUS: Identity = { name: 'anonymous', role: 'admin', via: 'none' }

/** Whoever sends telemetry to an ingest port that needs no key. */
export const OPEN_INGEST: Identity = { name: 'anonymous', role: 'ingest', via: 'none' }

export const keyIdentity = (name: string): string => `key:${name}`
export const userIdentity = (name: string): string => `user:${name}`
