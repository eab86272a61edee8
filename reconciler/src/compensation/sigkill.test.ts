// A reconciler killed (SIGKILL) while its compensation calls are on the wire — received by the
// endpoint, which applied them, and not yet answered — then started again on the same data:
// the new process closes the calls it finds started, sends them again with the same
// Idempotency-Key, and the endpoint (which dedupes on it, as a well-built one does) applies
// nothing twice. The finding ends compensated, then resolved by the next run; never escalated.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startEndpoint, type Endpoint } from '../testing/endpoint.js'

const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const CHILD = join(PACKAGE, 'src', 'testing', 'compensate-child.js')

/** Newest modification time under a directory, tests aside. */
function newest(dir: string): number {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) t = Math.max(t, newest(p))
    else if (!e.name.endsWith('.test.ts')) t = Math.max(t, statSync(p).mtimeMs)
  }
  return t
}

// The child runs the built package: build it when the sources are newer than dist.
function ensureBuilt(): void {
  const built = join(PACKAGE, 'dist', 'src', 'reconciler.js')
  let at = 0
  try {
    at = statSync(built).mtimeMs
  } catch {
    // not built yet
  }
  if (at >= newest(join(PACKAGE, 'src'))) return
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  execFileSync(process.execPath, [tsc, '-p', join(PACKAGE, 'tsconfig.build.json')], {
    stdio: 'inherit',
  })
}

interface Child {
  child: ChildProcess
  events: Record<string, unknown>[]
  next(event: string): Promise<Record<string, unknown>>
  exited: Promise<number | null>
}

function spawnChild(env: Record<string, string>): Child {
  const child = spawn(process.execPath, [CHILD], {
    cwd: PACKAGE,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const events: Record<string, unknown>[] = []
  const waiting: { event: string; resolve: (e: Record<string, unknown>) => void }[] = []
  let buffer = ''
  let err = ''
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()))
  child.stdout?.on('data', (d: Buffer) => {
    buffer += d.toString()
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      const e = JSON.parse(buffer.slice(0, i)) as Record<string, unknown>
      buffer = buffer.slice(i + 1)
      events.push(e)
      for (const w of waiting.filter((w) => w.event === e.event)) w.resolve(e)
    }
  })
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      if (code !== 0 && code !== null) process.stderr.write(err)
      resolve(code)
    }),
  )
  return {
    child,
    events,
    exited,
    next: (event) =>
      new Promise((resolve, reject) => {
        const seen = events.find((e) => e.event === event)
        if (seen) return resolve(seen)
        waiting.push({ event, resolve })
        void exited.then((code) =>
          reject(new Error(`child exited (${code}) before "${event}": ${err.slice(-2000)}`)),
        )
      }),
  }
}

let endpoint: Endpoint
beforeAll(async () => {
  ensureBuilt()
  endpoint = await startEndpoint()
}, 120_000)
afterAll(async () => {
  await endpoint.close()
})

interface FindingOut {
  id: string
  key: string
  state: string
  history: { state: string; why: string }[]
  attempts: { attempt: number; step: string; outcome: string; error: string }[]
}

it('survives a SIGKILL mid-call: the same key sent again, the effect applied once', async () => {
  const keys = ['k-1', 'k-2']
  for (const key of keys) endpoint.behave(key, { hangFirst: true })
  const env = {
    DATA_DIR: mkdtempSync(join(tmpdir(), 'reckon-sigkill-')),
    DATABASE: `t_${randomBytes(6).toString('hex')}`,
    ENDPOINT: endpoint.url,
    KEYS: keys.join(','),
    AT: String(BigInt(Date.now() - 3_600_000) * 1_000_000n),
    TIMEOUT_MS: '1500',
    LEASE_MS: '4000',
  }

  const first = spawnChild({ ...env, MODE: 'first' })
  const { ids } = (await first.next('found')) as unknown as { ids: Record<string, string> }
  expect(Object.keys(ids).sort()).toEqual(keys)
  // Both calls are on the wire: applied by the endpoint, unanswered. Kill the caller now.
  await endpoint.received(2)
  first.child.kill('SIGKILL')
  expect(await first.exited).toBeNull()
  expect(first.child.signalCode).toBe('SIGKILL')
  expect(endpoint.calls.map((c) => c.status)).toEqual([null, null])

  const second = spawnChild({ ...env, MODE: 'second' })
  const restarted = (await second.next('restarted')) as unknown as { findings: FindingOut[] }
  // What the killed process left: each finding compensating, its call started, no outcome.
  for (const f of restarted.findings) {
    expect(f.state).toBe('compensating')
    expect(f.attempts.map((a) => `${a.attempt} ${a.outcome}`)).toEqual(['1 started'])
  }
  const compensated = (await second.next('compensated')) as unknown as { findings: FindingOut[] }
  const checked = (await second.next('checked')) as unknown as { findings: FindingOut[] }
  expect(await second.exited).toBe(0)

  for (const key of keys) {
    const calls = endpoint.calls.filter((c) => c.key === key)
    // Sent twice (once unanswered), always under the finding's ID; applied once.
    expect(calls.map((c) => c.status)).toEqual([null, 201])
    expect(new Set(calls.map((c) => c.idempotencyKey))).toEqual(new Set([ids[key]]))
    expect(endpoint.applied.get(key)).toBe(1)
  }
  for (const f of compensated.findings) {
    expect(f.state).toBe('compensated')
    expect(f.attempts.map((a) => `${a.attempt} ${a.step} ${a.outcome}`)).toEqual([
      '1 action started',
      '1 action failed',
      '2 action started',
      '2 action succeeded',
    ])
    expect(f.attempts[1]!.error).toBe(
      'no answer recorded: the reconciler stopped during the action call',
    )
  }
  for (const f of checked.findings) {
    expect(f.history.map((h) => h.state)).toEqual([
      'open',
      'compensating',
      'compensated',
      'resolved',
    ])
    expect(f.history.map((h) => h.state)).not.toContain('escalated')
  }
}, 60_000)
