// Against a real Alertmanager (Debian's prometheus-alertmanager, on loopback) whose webhook
// receiver this test serves: a breaker held open is one notification group, Reckon
// restarted while it fires sends nothing new, and the resolve arrives — also when
// Alertmanager was down as the breaker closed.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Storage } from '@reckon/collector/storage'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { dropStorage, nanosAgo, testStorage } from '../testing/harness.js'
import { startReceiver, type TestReceiver } from '../testing/receiver.js'
import { insertBreakerState } from '../testing/telemetry.js'
import { Alerts } from './alerts.js'
import type { AlertsConfig } from './config.js'

const BINARY = '/usr/bin/prometheus-alertmanager'

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

interface Alertmanager {
  url: string
  stop(): Promise<void>
}

/** Alertmanager on `port` with its data in `dir`, grouping fast, repeating never. */
async function startAlertmanager(
  port: number,
  dir: string,
  hookUrl: string,
): Promise<Alertmanager> {
  const config = join(dir, 'alertmanager.yml')
  writeFileSync(
    config,
    `route:
  receiver: reckon-test
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 24h
receivers:
  - name: reckon-test
    webhook_configs:
      - url: ${hookUrl}/am
        send_resolved: true
`,
  )
  const child: ChildProcess = spawn(
    BINARY,
    [
      `--config.file=${config}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let stderr = ''
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()))
  const url = `http://127.0.0.1:${port}`
  for (;;) {
    if (child.exitCode !== null) throw new Error(`alertmanager exited: ${stderr}`)
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    )
    if (ready) break
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

interface Group {
  status: string
  groupLabels: Record<string, string>
  alerts: { status: string; labels: Record<string, string>; endsAt: string }[]
}

let storage: Storage
let hook: TestReceiver
let dir: string
let am: Alertmanager | undefined
beforeEach(async () => {
  storage = await testStorage()
  hook = await startReceiver()
  dir = mkdtempSync(join(tmpdir(), 'reckon-alertmanager-'))
})
afterEach(async () => {
  await am?.stop()
  await hook.close()
  await dropStorage(storage)
})

const config = (url: string): AlertsConfig => ({
  alerts: {
    // A short interval: a restarted evaluator does not wait out the one before it.
    evaluationInterval: '1s',
    defaultRules: false,
    receivers: [{ name: 'oncall', alertmanager: { url } }],
    routes: [],
    rules: [
      {
        name: 'payment-breaker-open',
        kind: 'breaker_open',
        breaker: { service: 'order', name: 'payment' },
        labels: { severity: 'critical', team: 'payments' },
        annotations: { summary: 'Breaker {{labels.breaker}} of {{labels.service}} is {{value}}' },
      },
    ],
  },
})

let holders = 0
const reckon = (url: string) =>
  new Alerts({
    storage,
    config: config(url),
    holder: `am-test-${++holders}`,
    externalUrl: 'http://ui.test',
    backoff: { initialMs: 10, maxMs: 20 },
  })

const breaker = (state: string) =>
  insertBreakerState(storage, {
    service: 'order',
    instance: 'order-1',
    name: 'payment',
    state,
    at: nanosAgo(),
  })

const groups = () => hook.requests.filter((r) => r.path === '/am').map((r) => r.json as Group)

describe.skipIf(!existsSync(BINARY))('a real Alertmanager', () => {
  it('gets one group for a breaker held open, nothing new after a restart, then its resolve', async () => {
    am = await startAlertmanager(await freePort(), dir, hook.url)
    await breaker('OPEN')
    const first = reckon(am.url)
    await first.tick()
    const [fired] = (await hook.received(1)).map((r) => r.json as Group)
    expect(fired).toMatchObject({
      status: 'firing',
      groupLabels: { alertname: 'payment-breaker-open' },
      alerts: [
        {
          status: 'firing',
          labels: {
            alertname: 'payment-breaker-open',
            service: 'order',
            instance: 'order-1',
            breaker: 'payment',
            severity: 'critical',
            team: 'payments',
          },
          annotations: { summary: 'Breaker payment of order is OPEN' },
          generatorURL: 'http://ui.test/breakers?service=order&name=payment&instance=order-1',
        },
      ],
    })
    await first.stop()

    // Restarted (after the last one's evaluation is stale): the firing alert carries on, in
    // whatever non-closed state, and nothing new is owed.
    await new Promise((r) => setTimeout(r, 600))
    const second = reckon(am.url)
    await breaker('HALF_OPEN')
    const carried = await second.tick()
    expect(carried).toMatchObject({ evaluated: true, enqueued: 0 })
    expect(carried.alerts.map((a) => a.state)).toEqual(['firing'])

    await breaker('CLOSED')
    await second.tick()
    await hook.received(2)
    expect(groups().map((g) => g.status)).toEqual(['firing', 'resolved'])
    expect(groups()[1]!.alerts.map((a) => [a.status, a.labels.breaker])).toEqual([
      ['resolved', 'payment'],
    ])
  })

  it('gets the resolve once it is back when it was down as the breaker closed', async () => {
    const port = await freePort()
    am = await startAlertmanager(port, dir, hook.url)
    await breaker('OPEN')
    const alerts = reckon(am.url)
    await alerts.tick()
    await hook.received(1)
    await am.stop()

    await breaker('CLOSED')
    const cleared = await alerts.tick()
    expect(cleared.delivery).toMatchObject({ sent: 0, retrying: 1 })
    expect(cleared.alerts.map((a) => a.state)).toEqual(['resolved'])

    am = await startAlertmanager(port, dir, hook.url)
    // Past the retry's backoff (tens of milliseconds here).
    await new Promise((r) => setTimeout(r, 50))
    const later = await alerts.deliverOnce()
    expect(later).toMatchObject({ sent: 1 })
    await hook.received(2)
    expect(groups().map((g) => g.status)).toEqual(['firing', 'resolved'])
  })
})
