import { nanos, select } from '../api/db.js'
import type { Storage } from '../storage/client.js'
import { rowInserter } from '../storage/insert.js'
import { nowNanos } from '../time/instant.js'
import type { Role } from './roles.js'
import { hashSecret, newKeyToken, parseKeyToken, sameSecret } from './secrets.js'

/** An API key as listed: never its secret, nor the secret's hash. */
export interface ApiKey {
  id: string
  name: string
  role: Role
  createdAtUnixNano: string
  createdBy: string
  expiresAtUnixNano: string | null
  revokedAtUnixNano: string | null
  revokedBy: string | null
  lastUsedAtUnixNano: string | null
}

export interface NewKey {
  name: string
  role: Role
  /** Unix nanoseconds; absent: never expires. */
  expiresAt?: bigint
  /** The identity creating it (audit). */
  by: string
}

/** Why a presented key is not accepted, in words for a 401. */
export type KeyCheck =
  { ok: true; key: ApiKey } | { ok: false; reason: 'malformed' | 'unknown' | 'revoked' | 'expired' }

/** A key name is taken by a key still in use. */
export class KeyNameTaken extends Error {
  override name = 'KeyNameTaken'
  readonly statusCode = 409
}

interface Held extends ApiKey {
  hash: string
}

const TIMEOUT_S = 10
const MAX_KEYS = 100_000
/** How stale this process's view of keys another process changed may be. */
const REFRESH_MS = 5_000
/** At most this often an unknown key id makes this process read the keys again. */
const UNKNOWN_RELOAD_MS = 1_000
const USE_FLUSH_MS = 30_000

/**
 * API keys in ClickHouse, checked from memory. A key this process creates or revokes takes
 * effect at once; one another process changed, within REFRESH_MS (an unknown id reads again
 * sooner). Last use is kept in memory and written every USE_FLUSH_MS.
 */
export class KeyStore {
  private keys = new Map<string, Held>()
  private loadedAt = 0
  private loading: Promise<void> | undefined
  private readonly uses = new Map<string, bigint>()
  private readonly flushTimer: NodeJS.Timeout

  constructor(private readonly storage: Storage) {
    this.flushTimer = setInterval(() => void this.flushUses().catch(() => {}), USE_FLUSH_MS)
    this.flushTimer.unref()
  }

  async create(k: NewKey): Promise<{ token: string; key: ApiKey }> {
    await this.reload()
    const taken = [...this.keys.values()].some((h) => h.name === k.name && usable(h, nowNanos()))
    if (taken)
      throw new KeyNameTaken(
        `a key named ${JSON.stringify(k.name)} is in use: revoke it or pick another name`,
      )
    const { token, id, secret } = newKeyToken()
    const at = nowNanos()
    await this.insert('api_keys', {
      id,
      name: k.name,
      role: k.role,
      secret_hash: hashSecret(secret),
      created_at: at.toString(),
      created_by: k.by,
      expires_at: k.expiresAt === undefined ? null : k.expiresAt.toString(),
    })
    const key: ApiKey = {
      id,
      name: k.name,
      role: k.role,
      createdAtUnixNano: at.toString(),
      createdBy: k.by,
      expiresAtUnixNano: k.expiresAt?.toString() ?? null,
      revokedAtUnixNano: null,
      revokedBy: null,
      lastUsedAtUnixNano: null,
    }
    this.keys.set(id, { ...key, hash: hashSecret(secret) })
    return { token, key }
  }

  /** Every key, newest first. */
  async list(): Promise<ApiKey[]> {
    await this.reload()
    return [...this.keys.values()]
      .map((held) => ({
        ...shown(held),
        lastUsedAtUnixNano: this.uses.get(held.id)?.toString() ?? held.lastUsedAtUnixNano,
      }))
      .sort((a, b) => (BigInt(b.createdAtUnixNano) > BigInt(a.createdAtUnixNano) ? 1 : -1))
  }

  /** Revokes a key (a second revoke changes nothing); undefined for an unknown id. */
  async revoke(id: string, by: string): Promise<ApiKey | undefined> {
    await this.reload()
    const held = this.keys.get(id)
    if (!held) return undefined
    if (held.revokedAtUnixNano === null) {
      const at = nowNanos().toString()
      await this.insert('api_key_revocations', { id, revoked_at: at, revoked_by: by })
      held.revokedAtUnixNano = at
      held.revokedBy = by
    }
    return shown(held)
  }

  /** The hot path of every authenticated request: memory only, but for unknown ids. */
  async check(token: string): Promise<KeyCheck> {
    const parsed = parseKeyToken(token)
    if (!parsed) return { ok: false, reason: 'malformed' }
    if (Date.now() - this.loadedAt > REFRESH_MS) void this.reload().catch(() => {})
    let held = this.keys.get(parsed.id)
    if (!held && Date.now() - this.loadedAt > UNKNOWN_RELOAD_MS) {
      await this.reload()
      held = this.keys.get(parsed.id)
    }
    if (!held || !sameSecret(parsed.secret, held.hash)) return { ok: false, reason: 'unknown' }
    return this.validity(held)
  }

  /** A key's state now, by id (a session made with it lives only as long as the key). */
  byId(id: string): KeyCheck {
    const held = this.keys.get(id)
    return held ? this.validity(held) : { ok: false, reason: 'unknown' }
  }

  private validity(held: Held): KeyCheck {
    if (held.revokedAtUnixNano !== null) return { ok: false, reason: 'revoked' }
    const now = nowNanos()
    if (!usable(held, now)) return { ok: false, reason: 'expired' }
    this.uses.set(held.id, now)
    return { ok: true, key: shown(held) }
  }

  /** Writes the last uses seen since the previous flush. */
  async flushUses(): Promise<void> {
    if (this.uses.size === 0) return
    const rows = [...this.uses].map(([id, at]) => ({ id, used_at: at.toString() }))
    this.uses.clear()
    await this.insert('api_key_uses', ...rows)
    for (const r of rows) {
      const held = this.keys.get(r.id)
      if (held) held.lastUsedAtUnixNano = r.used_at
    }
  }

  async close(): Promise<void> {
    clearInterval(this.flushTimer)
    await this.flushUses()
  }

  /** Reads every key again (one read at a time; callers share it). */
  reload(): Promise<void> {
    this.loading ??= this.read().finally(() => (this.loading = undefined))
    return this.loading
  }

  private async read(): Promise<void> {
    const db = this.storage.database
    const [keys, revocations, uses] = await Promise.all([
      select<KeyRow>(
        this.storage,
        `SELECT id, name, role, secret_hash, ${nanos('created_at')} AS created_at, created_by,
           if(isNull(expires_at), NULL, ${nanos('assumeNotNull(expires_at)')}) AS expires_at
         FROM ${db}.api_keys FINAL LIMIT ${MAX_KEYS}`,
        {},
        TIMEOUT_S,
      ),
      select<{ id: string; first_at: string; first_by: string }>(
        this.storage,
        `SELECT id, ${nanos('min(revoked_at)')} AS first_at,
           argMin(revoked_by, revoked_at) AS first_by
         FROM ${db}.api_key_revocations GROUP BY id LIMIT ${MAX_KEYS}`,
        {},
        TIMEOUT_S,
      ),
      select<{ id: string; last_at: string }>(
        this.storage,
        `SELECT id, ${nanos('max(used_at)')} AS last_at FROM ${db}.api_key_uses
         GROUP BY id LIMIT ${MAX_KEYS}`,
        {},
        TIMEOUT_S,
      ),
    ])
    const revoked = new Map(revocations.map((r) => [r.id, r]))
    const used = new Map(uses.map((u) => [u.id, u.last_at]))
    const next = new Map<string, Held>()
    for (const k of keys) {
      const r = revoked.get(k.id)
      next.set(k.id, {
        id: k.id,
        name: k.name,
        role: k.role,
        hash: k.secret_hash,
        createdAtUnixNano: k.created_at,
        createdBy: k.created_by,
        expiresAtUnixNano: k.expires_at,
        revokedAtUnixNano: r?.first_at ?? null,
        revokedBy: r?.first_by ?? null,
        lastUsedAtUnixNano: used.get(k.id) ?? null,
      })
    }
    this.keys = next
    this.loadedAt = Date.now()
  }

  private async insert(table: string, ...rows: object[]): Promise<void> {
    const body = Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n') + '\n')
    await rowInserter(this.storage)(`${this.storage.database}.${table}`, 'JSONEachRow', [body])
  }
}

interface KeyRow {
  id: string
  name: string
  role: Role
  secret_hash: string
  created_at: string
  created_by: string
  expires_at: string | null
}

/** A key without its secret's hash. */
function shown(held: Held): ApiKey {
  const { hash, ...key } = held
  void hash
  return key
}

const usable = (k: ApiKey, now: bigint): boolean =>
  k.revokedAtUnixNano === null &&
  (k.expiresAtUnixNano === null || BigInt(k.expiresAtUnixNano) > now)
