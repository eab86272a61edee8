// `reckon up` and the demo shop's three services as real processes, with the shop's rules at
// a test's pace: what the shop-reconcile and browser tests start from.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startShop, type RunningShop } from '@reckon/shop/launcher'
import { demoReconcile } from '@reckon/shop/reconcile-rules'
import { startReckonCli, type Running } from './cli.js'

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (typeof address !== 'object' || !address) throw new Error('no free port')
  return address.port
}

/** Polls `check` until it passes or `ms` have gone by. */
export async function eventually<T>(check: () => Promise<T>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      return await check()
    } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 500))
    }
  }
}

/** Reckon and the shop, reconciling every 3 s with a 2 s grace and fast compensations. */
export async function startShopAndReckon(
  dirPrefix: string,
): Promise<{ reckon: Running; shop: RunningShop }> {
  const ports = { order: await freePort(), payment: await freePort(), inventory: await freePort() }
  const dir = mkdtempSync(join(tmpdir(), dirPrefix))
  const local = (port: number) => `http://127.0.0.1:${port}`
  const reconcile = demoReconcile(
    { order: local(ports.order), inventory: local(ports.inventory) },
    {
      grace: '2s',
      schedules: ['*/3 * * * * *', '*/3 * * * * *'],
      compensationInterval: '1s',
      backoff: { initial: '500ms', max: '2s' },
    },
  )
  writeFileSync(
    join(dir, 'reckon.yaml'),
    JSON.stringify({ otlpPort: 0, apiPort: 0, ingest: { flushIntervalMs: 100 }, reconcile }),
  )
  const reckon = await startReckonCli('up', dir)
  const shop = await startShop({
    otlpEndpoint: reckon.otlpUrl,
    apiUrl: reckon.apiUrl,
    ports,
    env: { OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_BLRP_SCHEDULE_DELAY: '100' },
    log: () => {},
  })
  return { reckon, shop }
}
