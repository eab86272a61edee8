import type { Config } from '../config/index.js'
import type { Storage } from '../storage/client.js'
import {
  ANONYMOUS,
  keyIdentity,
  LOCAL,
  OPEN_INGEST,
  userIdentity,
  type Identity,
} from './identity.js'
import { KeyStore, type KeyCheck } from './key-store.js'
import {
  passwordFingerprint,
  sessionSecret,
  SessionSigner,
  type SessionClaims,
} from './session-cookie.js'
import { verifyPassword } from './secrets.js'

/** Who is asking, or why they are not let in (the 401's message). */
export type Authentication =
  { ok: true; identity: Identity; bySession: boolean } | { ok: false; message: string }

export interface Credentials {
  /** The bearer token of `Authorization: Bearer …`. */
  bearer?: string
  /** The session cookie's value. */
  session?: string
}

export type SignIn = { key: string } | { username: string; password: string }

const KEY_REFUSED: Record<Exclude<KeyCheck, { ok: true }>['reason'], string> = {
  malformed: 'the API key is not one Reckon issued (rk_…)',
  unknown: 'the API key is not known here',
  revoked: 'the API key was revoked',
  expired: 'the API key has expired',
}

/** One process's view of who may sign in: API keys, configured users, sessions. */
export class Authenticator {
  private constructor(
    private readonly config: Config,
    readonly keys: KeyStore,
    readonly sessions: SessionSigner,
  ) {}

  static async open(storage: Storage, config: Config): Promise<Authenticator> {
    const keys = new KeyStore(storage)
    const secret = await sessionSecret(storage)
    if (config.auth.mode === 'keys') await keys.reload()
    return new Authenticator(config, keys, new SessionSigner(secret))
  }

  /** True when the query API asks who is calling. */
  get required(): boolean {
    return this.config.auth.mode === 'keys'
  }

  /** True when port 4318 asks for an ingest key. */
  get ingestRequired(): boolean {
    return (this.config.auth.ingest ?? (this.required ? 'keys' : 'open')) === 'keys'
  }

  /** Who the nobody-asked caller is: `local` on loopback, `anonymous` with mode none. */
  get unauthenticated(): Identity {
    return this.config.auth.mode === 'none' ? ANONYMOUS : LOCAL
  }

  async authenticateIngest(c: Credentials): Promise<Authentication> {
    if (!this.ingestRequired) return { ok: true, identity: OPEN_INGEST, bySession: false }
    if (c.bearer === undefined) return { ok: false, message: NO_KEY_INGEST }
    return this.byKey(c.bearer)
  }

  async authenticate(c: Credentials): Promise<Authentication> {
    if (!this.required) return { ok: true, identity: this.unauthenticated, bySession: false }
    if (c.bearer !== undefined) return this.byKey(c.bearer)
    if (c.session !== undefined) return this.bySession(c.session)
    return { ok: false, message: NO_KEY_API }
  }

  /** The claims of a new session, or undefined for wrong credentials. */
  async signIn(s: SignIn): Promise<SessionClaims | undefined> {
    const exp = Date.now() + this.config.auth.sessionHours * 3_600_000
    if ('key' in s) {
      const checked = await this.keys.check(s.key)
      if (!checked.ok) return undefined
      const { key } = checked
      return { sub: keyIdentity(key.name), role: key.role, kid: key.id, exp }
    }
    const user = this.config.auth.users.find((u) => u.name === s.username)
    // A missing user costs as much as a wrong password, so names cannot be probed by timing.
    const ok = await verifyPassword(s.password, user?.passwordHash ?? DUMMY_HASH)
    if (!user || !ok) return undefined
    const pwf = passwordFingerprint(user.passwordHash)
    return { sub: userIdentity(user.name), role: user.role, pwf, exp }
  }

  private async byKey(token: string): Promise<Authentication> {
    const checked = await this.keys.check(token)
    if (!checked.ok) return { ok: false, message: KEY_REFUSED[checked.reason] }
    const { key } = checked
    return {
      ok: true,
      identity: { name: keyIdentity(key.name), role: key.role, via: 'key', keyId: key.id },
      bySession: false,
    }
  }

  private bySession(cookie: string): Authentication {
    const claims = this.sessions.open(cookie)
    if (!claims) return { ok: false, message: SESSION_ENDED }
    let role = claims.role
    if (claims.kid !== undefined) {
      const key = this.keys.byId(claims.kid)
      if (!key.ok) return { ok: false, message: `${SESSION_ENDED}: ${KEY_REFUSED[key.reason]}` }
      role = key.key.role
    } else {
      const user = this.config.auth.users.find((u) => userIdentity(u.name) === claims.sub)
      if (!user || passwordFingerprint(user.passwordHash) !== claims.pwf)
        return { ok: false, message: `${SESSION_ENDED}: the user or their password changed` }
      role = user.role
    }
    return {
      ok: true,
      identity: {
        name: claims.sub,
        role,
        via: 'session',
        ...(claims.kid ? { keyId: claims.kid } : {}),
      },
      bySession: true,
    }
  }

  close(): Promise<void> {
    return this.keys.close()
  }
}

const NO_KEY_API =
  'sign in, or send an API key as Authorization: Bearer rk_… (reckon keys create --name NAME --role viewer)'
const NO_KEY_INGEST =
  'send an ingest key as Authorization: Bearer rk_… (OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer rk_…")'
const SESSION_ENDED = 'the session has ended, sign in again'

// A valid hash of a random password: verifying against it takes the time a real one does.
const DUMMY_HASH =
  'scrypt$N=32768,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$nGQ8/5Qn2jm3vq5Qm1PZ7QhM8mvOz0vY1cR3K2Zs0sE='
