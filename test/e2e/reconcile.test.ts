// `reckon reconcile` as finance and on-call run it: against a running `reckon up` (through its
// API: on the embedded engine that process owns the data) and alone (in its own process), with
// the exit status a script checks and the summary line a person reads.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { exited, getJson, running, runReckonCli, startReckonCli } from './cli.js'

const YAML = `otlpPort: 0
apiPort: 0
reconcile:
  sources:
    orders: { events: { system: order, type: order.paid } }
    payments: { events: { system: payment, type: payment.captured } }
    settlement:
      file: { format: csv, columns: { key: merchant_ref, amount: gross, currency: ccy, status: state, time: booked_at } }
  rules:
    - name: order-payment
      left: orders
      right: payments
      grace: 1m
      status: { paid: [captured] }
`

function project(yaml = YAML): string {
  const dir = mkdtempSync(join(tmpdir(), 'reckon-reconcile-'))
  writeFileSync(join(dir, 'reckon.yaml'), yaml)
  return dir
}

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString()

async function send(otlpUrl: string, events: object[]): Promise<void> {
  const res = await fetch(`${otlpUrl}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(events),
  })
  expect(await res.json()).toEqual({ accepted: events.length, rejected: [] })
}

const event = (
  system: string,
  type: string,
  key: string,
  amount: string,
  status: string,
  m = 10,
) => ({
  type,
  system,
  entity: 'order',
  key,
  amount,
  currency: 'EUR',
  status,
  timestamp: minutesAgo(m),
})

afterEach(async () => {
  for (const child of running.splice(0)) {
    child.kill('SIGTERM')
    await exited(child)
  }
})

describe('reckon reconcile', () => {
  it('runs through a running reckon up, prints what it found, exits 1 on breaks', async () => {
    const dir = project()
    const reckon = await startReckonCli('up', dir)
    expect(reckon.stdout()).toContain('order-payment')
    await send(reckon.otlpUrl, [
      event('order', 'order.paid', 'o-1', '10.00', 'paid'),
      event('payment', 'payment.captured', 'o-1', '10.00', 'captured'),
      event('order', 'order.paid', 'o-2', '25.50', 'paid'),
      event('order', 'order.paid', 'o-3', '7.00', 'paid'),
      event('payment', 'payment.captured', 'o-3', '7.01', 'captured'),
      event('order', 'order.paid', 'o-4', '1.00', 'paid', 0),
    ])
    // The port numbers are the running one's: reckon reconcile finds it by them.
    const ports = `otlpPort: ${new URL(reckon.otlpUrl).port}\napiPort: ${new URL(reckon.apiUrl).port}\n`
    writeFileSync(join(dir, 'reckon.yaml'), YAML.replace('otlpPort: 0\napiPort: 0\n', ports))
    let result = await runReckonCli(
      ['reconcile', '--rule', 'order-payment', '--from', 'now-1h'],
      dir,
    )
    // Events are written in batches: a run may start before the last ones are stored.
    for (let i = 0; i < 20 && !result.stdout.includes('1 amount mismatch'); i++) {
      await new Promise((r) => setTimeout(r, 250))
      result = await runReckonCli(['reconcile', '--rule', 'order-payment', '--from', 'now-1h'], dir)
    }
    expect(result.stderr).toBe('')
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(
      /^order-payment run_\S+: 1 dropped \(EUR 25\.50\), 1 amount mismatch \(EUR 7\.00\); 1 pending \(within grace\); left 4 records, right 2, 1 key matched\n/,
    )
    const runId = /run_\S+/.exec(result.stdout)![0].replace(/:$/, '')
    expect(result.stdout).toContain(`/api/reconcile/runs/${runId}/report.csv`)
    const run = await getJson<{ state: string; startedBy: string }>(
      `${reckon.apiUrl}/api/reconcile/runs/${runId}`,
    )
    expect(run).toMatchObject({ state: 'done', startedBy: 'local' })
  })

  it('runs in its own process when no Reckon is running, exit 0 on a clean window', async () => {
    const dir = project(
      YAML.replace('otlpPort: 0\napiPort: 0\n', 'otlpPort: 14999\napiPort: 18999\n'),
    )
    const result = await runReckonCli(['reconcile', '--rule', 'order-payment', '--dry-run'], dir)
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^order-payment run_\S+ \(dry run\): no breaks; left 0 records/)
  })

  it('exits 2 naming the rules it knows, and a rule error by file and line', async () => {
    const dir = project()
    const unknown = await runReckonCli(['reconcile', '--rule', 'order-paymnet'], dir)
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain(
      'no rule "order-paymnet" in reckon.yaml (rules: order-payment)',
    )
    const broken = project(YAML.replace('right: payments', 'right: payment'))
    const bad = await runReckonCli(['reconcile', '--rule', 'order-payment'], broken)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain(
      `${join(broken, 'reckon.yaml')}:12: reconcile.rules.0.right names no source: payment (sources: orders, payments, settlement)`,
    )
  })

  it('imports a settlement file (refused lines named, the same file again stores nothing), then reconciles it', async () => {
    const dir = project(
      YAML.replace('otlpPort: 0\napiPort: 0\n', 'otlpPort: 14998\napiPort: 18998\n') +
        `    - name: payment-settlement
      left: payments
      right: settlement
`,
    )
    const at = minutesAgo(30)
    const file = join(dir, 'settlement-today.csv')
    writeFileSync(
      file,
      `merchant_ref,gross,ccy,state,booked_at\r\nS-1,10.00,EUR,SETTLED,${at}\r\nS-2,1e3,EUR,SETTLED,${at}\r\nS-3,5.00,EURO,SETTLED,${at}\r\nS-4,7.50,EUR,SETTLED,${at}\r\n`,
    )
    const first = await runReckonCli(['import', '--source', 'settlement', file], dir)
    expect(first.stderr).toBe('')
    expect(first.code).toBe(1)
    expect(first.stdout).toMatch(
      /^settlement-today\.csv → settlement: 2 rows stored, 2 lines refused/,
    )
    expect(first.stdout).toMatch(/line 3: .*amount/)
    expect(first.stdout).toMatch(/line 4: .*currency/)
    const again = await runReckonCli(['import', '--source', 'settlement', file], dir)
    expect(again.code).toBe(0)
    expect(again.stdout).toContain('was imported into settlement before')
    const run = await runReckonCli(
      ['reconcile', '--rule', 'payment-settlement', '--from', 'now-1h'],
      dir,
    )
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/: 2 orphan \(EUR 17\.50\); left 0 records, right 2, 0 keys matched/)
    const wrong = await runReckonCli(['import', '--source', 'payments', file], dir)
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toContain('source payments is not a file source')
  })
})
