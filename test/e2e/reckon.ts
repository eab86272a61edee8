import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { DEFAULTS, type Config } from '@reckon/collector/config'
import { startReckon, type RunningReckon } from '@reckon/collector/server'

/** A real Reckon on free loopback ports, embedded engine in a temp dir (or CLICKHOUSE_URL). */
export async function startTestReckon(): Promise<RunningReckon> {
  const config: Config = {
    ...DEFAULTS,
    otlpPort: 0,
    apiPort: 0,
    dataDir: mkdtempSync(join(tmpdir(), 'reckon-e2e-')),
    clickhouse: {
      ...DEFAULTS.clickhouse,
      url: process.env.CLICKHOUSE_URL,
      database: `e2e_${randomBytes(6).toString('hex')}`,
    },
    ingest: { ...DEFAULTS.ingest, flushIntervalMs: 50 },
  }
  return startReckon(config)
}

/** GET a query API path and return its JSON, failing loudly on a non-2xx answer. */
export async function api<T>(reckon: RunningReckon, path: string): Promise<T> {
  const res = await fetch(`${reckon.apiUrl}${path}`)
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}

/**
 * Exporters acknowledge asynchronously (the logs SDK's forceFlush can return before its HTTP
 * request is answered), so reads retry until the check passes or 5 seconds have gone by.
 */
export async function eventually<T>(reckon: RunningReckon, check: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 5000
  for (;;) {
    await reckon.context.pipeline.flush()
    try {
      return await check()
    } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}
