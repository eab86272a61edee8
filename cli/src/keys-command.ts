// `reckon keys create|list|revoke` and `reckon users hash-password`. Keys are managed through
// a running Reckon's API when one answers (with an admin key in RECKON_API_KEY when its auth
// is on), else directly on the configured storage — how the first admin key is made.
import { userInfo } from 'node:os'
import { parseArgs } from 'node:util'
import {
  hashPassword,
  isRole,
  KeyStore,
  parseExpiry,
  recordAudit,
  ROLES,
  ROLE_DESCRIPTIONS,
  type ApiKey,
  type Identity,
} from '@reckon/collector/auth'
import { COLLECTOR, migrate, openStorage, type Storage } from '@reckon/collector/storage'
import { nowNanos } from '@reckon/collector/time'
import { RECONCILER } from '@reckon/reconciler'
import type { ReckonConfig } from './config.js'
import { ReconcileFailed, UsageError } from './reconcile-command.js'
import { apiHeaders, keyAdvice, runningApi } from './running-api.js'

export const KEYS_HELP = `reckon keys create --name NAME --role ROLE [--expires 90d|RFC3339]
reckon keys list
reckon keys revoke ID

  create   prints the new key (rk_…) on stdout, once: it is stored only as a hash
  list     every key: id, name, role, created, expires, last used, revoked
  revoke   refuses the key from its next request on

Roles:
${ROLES.map((r) => `  ${r.padEnd(9)} ${ROLE_DESCRIPTIONS[r]}`).join('\n')}

With Reckon running, these go through its API: set RECKON_API_KEY to an admin key when its
auth is on. With it stopped they work on its storage directly (the first admin key).`

export const USERS_HELP = `reckon users hash-password

Reads a password from stdin (typed, or piped) and prints the hash that auth.users takes:

  auth:
    users:
      - { name: alice, role: finance, passwordHash: "scrypt$…" }`

/** Who a change made directly on storage is recorded as. */
const cliIdentity = (): Identity => ({
  name: `cli:${process.env.USER ?? userInfo().username}`,
  role: 'admin',
  via: 'local',
})

interface Keys {
  create(name: string, role: string, expires?: string): Promise<{ token: string; key: ApiKey }>
  list(): Promise<ApiKey[]>
  revoke(id: string): Promise<ApiKey | undefined>
  close(): Promise<void>
}

function viaApi(base: string): Keys {
  const call = async <T>(method: string, path: string, body?: object): Promise<T> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...apiHeaders(), ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    })
    const answer = (await res.json().catch(() => ({}))) as T & { message?: string }
    if (res.status === 404 && method === 'DELETE') return undefined as T
    if (!res.ok) {
      const advice = keyAdvice(base, res.status, 'admin')
      throw new ReconcileFailed(
        `${answer.message ?? `HTTP ${res.status}`}${advice ? `\n${advice}` : ''}`,
      )
    }
    return answer
  }
  return {
    create: (name, role, expires) =>
      call('POST', '/api/keys', { name, role, ...(expires ? { expires } : {}) }),
    list: async () => (await call<{ keys: ApiKey[] }>('GET', '/api/keys')).keys,
    revoke: async (id) =>
      (await call<{ key: ApiKey } | undefined>('DELETE', `/api/keys/${id}`))?.key,
    close: async () => {},
  }
}

async function onStorage(config: ReckonConfig): Promise<Keys> {
  const storage: Storage = openStorage(config)
  await migrate(storage, [COLLECTOR, RECONCILER])
  const store = new KeyStore(storage)
  const who = cliIdentity()
  return {
    create: async (name, role, expires) => {
      if (!isRole(role))
        throw new UsageError(`--role must be one of ${ROLES.join(', ')}`, KEYS_HELP)
      const expiresAt = expires === undefined ? undefined : parseExpiry(expires, nowNanos())
      const created = await store.create({
        name,
        role,
        by: who.name,
        ...(expiresAt ? { expiresAt } : {}),
      })
      await recordAudit(storage, who, {
        action: 'key.create',
        target: created.key.id,
        details: { name, role, expiresAtUnixNano: created.key.expiresAtUnixNano },
      })
      return created
    },
    list: () => store.list(),
    revoke: async (id) => {
      const key = await store.revoke(id, who.name)
      if (key)
        await recordAudit(storage, who, {
          action: 'key.revoke',
          target: id,
          details: { name: key.name },
        })
      return key
    },
    close: async () => {
      await store.close()
      await storage.close()
    },
  }
}

const when = (nanos: string | null, none: string): string =>
  nanos === null
    ? none
    : new Date(Number(BigInt(nanos) / 1_000_000n)).toISOString().slice(0, 19) + 'Z'

function table(keys: ApiKey[]): string {
  const rows = keys.map((k) => [
    k.id,
    k.name,
    k.role,
    when(k.createdAtUnixNano, ''),
    when(k.expiresAtUnixNano, 'never'),
    when(k.lastUsedAtUnixNano, 'never'),
    k.revokedAtUnixNano === null
      ? ''
      : `revoked ${when(k.revokedAtUnixNano, '')} by ${k.revokedBy ?? ''}`,
  ])
  const head = ['ID', 'NAME', 'ROLE', 'CREATED', 'EXPIRES', 'LAST USED', '']
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  return [head, ...rows]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

export async function keysCommand(config: ReckonConfig, args: string[]): Promise<number> {
  const [sub, ...rest] = args
  let parsed
  try {
    parsed = parseArgs({
      args: rest,
      options: {
        name: { type: 'string' },
        role: { type: 'string' },
        expires: { type: 'string' },
      },
      strict: true,
      allowPositionals: true,
    })
  } catch (err) {
    throw new UsageError((err as Error).message, KEYS_HELP)
  }
  const { values, positionals } = parsed
  if (sub !== 'create' && sub !== 'list' && sub !== 'revoke')
    throw new UsageError(`name what to do: create, list or revoke`, KEYS_HELP)
  if (sub === 'create') {
    if (!values.name) throw new UsageError('--name is required', KEYS_HELP)
    if (!values.role || !isRole(values.role))
      throw new UsageError(`--role must be one of ${ROLES.join(', ')}`, KEYS_HELP)
  }
  if (sub === 'revoke' && positionals.length !== 1)
    throw new UsageError('name the id of the key to revoke (reckon keys list shows it)', KEYS_HELP)

  const base = await runningApi(config)
  const keys = base ? viaApi(base) : await onStorage(config)
  try {
    if (sub === 'create') {
      const { token, key } = await keys.create(values.name!, values.role!, values.expires)
      console.error(
        `Created key ${key.name} (${key.role}), id ${key.id}, expires ${when(key.expiresAtUnixNano, 'never')}.\nThis is the only time it is shown: store it now.`,
      )
      console.log(token)
      return 0
    }
    if (sub === 'list') {
      const list = await keys.list()
      console.log(list.length === 0 ? 'no API keys' : table(list))
      return 0
    }
    const key = await keys.revoke(positionals[0]!)
    if (!key) {
      console.error(`reckon: no API key ${positionals[0]}`)
      return 1
    }
    console.log(`revoked key ${key.name} (${key.role}), id ${key.id}`)
    return 0
  } finally {
    await keys.close()
  }
}

async function readPassword(): Promise<string> {
  const stdin = process.stdin
  if (!stdin.isTTY) {
    let text = ''
    for await (const chunk of stdin) text += String(chunk)
    return text.replace(/\r?\n$/, '')
  }
  process.stderr.write('Password: ')
  stdin.setRawMode(true)
  stdin.setEncoding('utf8')
  return new Promise((resolve, reject) => {
    let typed = ''
    const onData = (c: string): void => {
      for (const ch of c) {
        if (ch === '\r' || ch === '\n') {
          stdin.setRawMode(false)
          stdin.off('data', onData)
          stdin.pause()
          process.stderr.write('\n')
          return resolve(typed)
        }
        if (ch === '\u0003') {
          stdin.setRawMode(false)
          return reject(new UsageError('cancelled', USERS_HELP))
        }
        typed = ch === '\u007f' ? typed.slice(0, -1) : typed + ch
      }
    }
    stdin.on('data', onData)
  })
}

export async function usersCommand(args: string[]): Promise<number> {
  if (args[0] !== 'hash-password' || args.length > 1)
    throw new UsageError('the users command has one subcommand: hash-password', USERS_HELP)
  const password = await readPassword()
  if (password.length < 8)
    throw new UsageError('a password needs at least 8 characters', USERS_HELP)
  console.log(await hashPassword(password))
  return 0
}
