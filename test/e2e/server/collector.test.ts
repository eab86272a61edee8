import { existsSync } from 'node:fs'
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
} from '../cli.js'
import { onServer as onServerAt, workDir } from './helpers.js'

afterEach(() => {
  for (const child of running.splice(0)) child.kill('SIGKILL')
})

/** Set by the run's global setup: the server every test here talks to. */
const server = (): string => {
  const url = process.env.CLICKHOUSE_URL
  if (!url) throw new Error('CLICKHOUSE_URL is not set: run through vitest.server.config.ts')
  return url
}

const onServer = (sql: string): Promise<string> => onServerAt(server(), sql)

describe('reckon migrate against a ClickHouse server', () => {
  it('creates the schema once; a second run has nothing to apply', async () => {
    const { dir, database } = workDir()
    const first = await runReckonCli(['migrate'], dir, { CLICKHOUSE_URL: server() })
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    expect(first.stdout).toMatch(
      new RegExp(
        `^migrations on ClickHouse server ${server()}: collector \\d+ \\(.*\\), reconciler \\d+ \\(.*\\); schema version collector \\d+, reconciler \\d+\\n`,
      ),
    )
    const tables = await onServer(`SHOW TABLES FROM ${database}`)
    for (const table of [
      'spans',
      'trace_spans',
      'trace_summaries',
      'business_events',
      'logs',
      'reconcile_runs',
      'reconcile_findings',
    ])
      expect(tables.split('\n')).toContain(table)

    const again = await runReckonCli(['migrate'], dir, { CLICKHOUSE_URL: server() })
    expect(again.code).toBe(0)
    expect(again.stdout).toMatch(
      /: nothing to apply; schema version collector \d+, reconciler \d+\n/,
    )
    // The embedded engine was never opened.
    expect(existsSync(join(dir, '.reckon'))).toBe(false)
  })
})

describe('reckon collector against a ClickHouse server', () => {
  it('writes what it acknowledged when stopped, and reads it back after a restart', async () => {
    // Nothing is written on its own within the test: the queue is in memory on a server,
    // so only a clean stop's flush can store it.
    const { dir, database } = workDir('ingest:\n  flushIntervalMs: 600000\n  batchRows: 10000000\n')
    const first = await startReckonCli('collector', dir, { CLICKHOUSE_URL: server() })
    expect(first.stdout()).toContain(`ClickHouse server ${server()}`)
    const traceId = await sendTrace(first.otlpUrl)
    await sendOrderPaid(first.otlpUrl, traceId)
    expect(await onServer(`SELECT count() FROM ${database}.spans`)).toBe('0')

    first.child.kill('SIGTERM')
    expect(await exited(first.child)).toBe(0)
    expect(await onServer(`SELECT count() FROM ${database}.spans`)).toBe('3')

    const second = await startReckonCli('collector', dir, { CLICKHOUSE_URL: server() })
    const stored = await getJson<{
      spans: { spanId: string; parentSpanId: string; name: string; service: string }[]
    }>(`${second.apiUrl}/api/traces/${traceId}`)
    const root = stored.spans.find((s) => s.name === 'POST /checkout')
    expect(root?.parentSpanId).toBe('')
    expect(
      stored.spans
        .filter((s) => s !== root)
        .map((s) => [s.name, s.parentSpanId, s.service])
        .sort(),
    ).toEqual([
      ['charge card', root?.spanId, 'checkout'],
      ['reserve stock', root?.spanId, 'checkout'],
    ])
    await expectOrderPaid(second.apiUrl, traceId)
    // Nothing alarming in the log of a normal run (the client logs every failed query).
    expect(second.stderr()).toBe('')
    const ready = await fetch(`${second.apiUrl}/readyz`)
    expect(ready.status).toBe(200)
    expect(existsSync(join(dir, '.reckon'))).toBe(false)

    second.child.kill('SIGTERM')
    expect(await exited(second.child)).toBe(0)
  })

  it('refuses to start without a server, and says how to name one', async () => {
    const { dir } = workDir()
    const result = await runReckonCli(['collector'], dir)
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(
      'reckon collector needs a ClickHouse server: set CLICKHOUSE_URL',
    )
  })
})
