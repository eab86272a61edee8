import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  expectOrderPaid,
  exited,
  getJson,
  runReckonCli,
  running,
  sendOrderPaid,
  sendTrace,
  startReckonCli,
} from './cli.js'

afterEach(() => {
  for (const child of running.splice(0)) child.kill('SIGKILL')
})

const reckonUp = (dir: string): ReturnType<typeof startReckonCli> => startReckonCli('up', dir)

describe('a collector killed before it writes what it acknowledged', () => {
  it('stores those spans and business events when it starts again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reckon-crash-'))
    // Nothing is written on its own within the test: only what was spooled can survive.
    writeFileSync(
      join(dir, 'reckon.yaml'),
      'otlpPort: 0\napiPort: 0\ningest:\n  flushIntervalMs: 600000\n  batchRows: 10000000\n',
    )
    const first = await reckonUp(dir)
    const traceId = await sendTrace(first.otlpUrl)
    await sendOrderPaid(first.otlpUrl, traceId)

    first.child.kill('SIGKILL')
    await exited(first.child)
    const spool = join(dir, '.reckon', 'data', 'inserts')
    expect(readdirSync(spool).length).toBeGreaterThan(0)

    const second = await reckonUp(dir)
    // It listens while it stores the backlog, and is ready once that is stored.
    while ((await fetch(`${second.apiUrl}/readyz`)).status !== 200) {
      await new Promise((r) => setTimeout(r, 50))
    }
    // Said as it starts, so a slow start is explained; then what was stored.
    expect(second.stderr()).toMatch(
      /storing ([3-9]) spooled inserts the previous run left…\nreckon: stored \1 spooled inserts .* previous run acknowledged/,
    )
    const stored = await getJson<{ spans: { name: string }[] }>(
      `${second.apiUrl}/api/traces/${traceId}`,
    )
    expect(stored.spans.map((s) => s.name).sort()).toEqual([
      'POST /checkout',
      'charge card',
      'reserve stock',
    ])
    await expectOrderPaid(second.apiUrl, traceId)
    expect(readdirSync(spool)).toEqual([])
    // On-call can see it happened: the count of inserts stored from the previous run.
    const recovered = /storing (\d+) spooled inserts/.exec(second.stderr())?.[1]
    const metrics = await (await fetch(`${second.apiUrl}/metrics`)).text()
    expect(metrics).toContain(`reckon_spool_recovered_total{outcome="stored"} ${recovered}`)
    expect(metrics).toContain('reckon_spool_recovered_total{outcome="rejected"} 0')

    second.child.kill('SIGTERM')
    expect(await exited(second.child)).toBe(0)
  })
})

describe('a second reckon up on the same data directory', () => {
  it('stops with a message that says why, and leaves the running one alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reckon-twice-'))
    writeFileSync(join(dir, 'reckon.yaml'), 'otlpPort: 0\napiPort: 0\n')
    const first = await reckonUp(dir)
    const { code, stderr } = await runReckonCli(['up'], dir)
    expect(code).toBe(1)
    expect(stderr).toContain(
      `reckon: cannot open the embedded ClickHouse data directory ${join(dir, '.reckon', 'data')}`,
    )
    expect(stderr).toMatch(/is another reckon running there\?/)
    expect((await fetch(`${first.apiUrl}/readyz`)).status).toBe(200)
  })
})
