// A real PostgreSQL for tests: Debian's PostgreSQL 15, a fresh cluster in a temporary
// directory, listening on 127.0.0.1 at a free port with a password, stopped by the test.
// PostgreSQL refuses to run as root (as the tests do), so it runs as the `postgres` user the
// Debian package creates.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'

const BIN = '/usr/lib/postgresql/15/bin'
const INSTALL = 'apt-get install postgresql'

export interface TestPostgres {
  /** postgres://postgres:PASSWORD@127.0.0.1:PORT/postgres */
  url: string
  password: string
  port: number
  /** Runs SQL as the superuser (setting up tables and rows). */
  sql(text: string, values?: unknown[]): Promise<pg.QueryResult>
  stop(): Promise<void>
}

function postgresUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'))
  if (!line) throw new Error(`there is no postgres user to run PostgreSQL as: ${INSTALL}`)
  const [, , uid, gid] = line.split(':')
  return { uid: Number(uid), gid: Number(gid) }
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (typeof address !== 'object' || !address) throw new Error('no free port')
  return address.port
}

/** Starts a cluster; fails (never skips) when PostgreSQL 15 is not installed. */
export async function startPostgres(): Promise<TestPostgres> {
  if (!existsSync(join(BIN, 'initdb')) || !existsSync(join(BIN, 'postgres')))
    throw new Error(`PostgreSQL 15 is not installed (no ${BIN}/initdb): ${INSTALL}`)
  const { uid, gid } = postgresUser()
  const base = mkdtempSync(join(tmpdir(), 'reckon-pg-'))
  chownSync(base, uid, gid)
  const data = join(base, 'data')
  const password = randomBytes(12).toString('hex')
  const pwfile = join(base, 'password')
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 })
  chownSync(pwfile, uid, gid)
  // setpriv execs the program itself: the child's PID is the postmaster's, to signal.
  const asPostgres = ['--reuid', String(uid), '--regid', String(gid), '--clear-groups', '--']
  const env = { ...process.env, HOME: base, LC_ALL: 'C.UTF-8' }
  try {
    await promisify(execFile)(
      'setpriv',
      [
        ...asPostgres,
        join(BIN, 'initdb'),
        '--pgdata',
        data,
        '--username',
        'postgres',
        '--pwfile',
        pwfile,
        '--auth-host=scram-sha-256',
        '--auth-local=trust',
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ],
      { env },
    )
  } catch (err) {
    rmSync(base, { recursive: true, force: true })
    const stderr = (err as { stderr?: string }).stderr ?? String(err)
    throw new Error(`initdb failed: ${stderr}`)
  }
  const port = await freePort()
  const server: ChildProcess = spawn(
    'setpriv',
    [
      ...asPostgres,
      join(BIN, 'postgres'),
      '-D',
      data,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${base}`,
      // A test cluster: durability buys nothing and costs seconds.
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
    ],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let log = ''
  server.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000)
  })
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()))
  let running = true
  void exited.then(() => (running = false))
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`

  const stop = async (): Promise<void> => {
    if (running) {
      server.kill('SIGINT') // fast shutdown
      const killed = setTimeout(() => server.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(killed)
    }
    rmSync(base, { recursive: true, force: true })
  }

  const deadline = Date.now() + 30_000
  for (;;) {
    const client = new pg.Client({ connectionString: url })
    try {
      await client.connect()
      await client.end()
      break
    } catch (err) {
      await client.end().catch(() => {})
      if (!running || Date.now() > deadline) {
        await stop()
        throw new Error(
          `PostgreSQL did not start on port ${port}: ${err instanceof Error ? err.message : String(err)}\n${log}`,
        )
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  return {
    url,
    password,
    port,
    async sql(text, values) {
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      try {
        return await client.query(text, values)
      } finally {
        await client.end()
      }
    },
    stop,
  }
}
