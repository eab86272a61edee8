import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadReckonConfig } from './config.js'

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'reckon-cli-')), 'reckon.yaml')
  writeFileSync(path, text)
  return path
}

const RULES = `
reconcile:
  sources:
    orders: { events: { system: order, type: order.paid } }
    payments: { events: { system: payment } }
  rules:
    - name: order-payment
      left: orders
      right: payments
`

describe('reckon.yaml', () => {
  it('holds the collector’s keys and the reconciler’s section together', () => {
    const config = loadReckonConfig({ file: file(`otlpPort: 14318\n${RULES}`), env: {} })
    expect(config.otlpPort).toBe(14318)
    expect(config.reconcile.rules.map((r) => r.name)).toEqual(['order-payment'])
  })

  it('names the file, line and key of a rule that names no source', () => {
    const path = file(RULES.replace('right: payments', 'right: paymnets'))
    expect(() => loadReckonConfig({ file: path, env: {} })).toThrow(
      `${path}:9: reconcile.rules.0.right names no source: paymnets (sources: orders, payments)`,
    )
  })

  it('names the key of a value of the wrong shape', () => {
    const path = file(RULES.replace('right: payments', 'right: payments\n      window: 1 day'))
    expect(() => loadReckonConfig({ file: path, env: {} })).toThrow(/reconcile\.rules\.0\.window/)
  })

  it('refuses a schedule node-cron cannot run', () => {
    const path = file(`${RULES}      schedule: "every 5 minutes"\n`)
    expect(() => loadReckonConfig({ file: path, env: {} })).toThrow(
      /:10: reconcile\.rules\.0\.schedule "every 5 minutes" is not a cron expression/,
    )
  })
})

describe('reckon.yaml alerts', () => {
  it('takes the alerts section beside the others and names the line of a bad rule', () => {
    const ok = loadReckonConfig({
      file: file(
        `alerts:\n  receivers: []\n  routes: []\n  rules:\n    - { name: breaker-open, enabled: false }\n`,
      ),
      env: {},
    })
    expect(ok.alerts.rules).toEqual([{ name: 'breaker-open', enabled: false }])
    const path = file(
      `${RULES}alerts:\n  receivers: []\n  routes: []\n  rules:\n    - name: mine\n`,
    )
    expect(() => loadReckonConfig({ file: path, env: {} })).toThrow(
      `${path}:14: alerts.rules.0.name is no shipped rule, so it needs a kind`,
    )
  })
})
