// `npm start`: `reckon up` (all-in-one on the embedded engine) as a user runs it, the demo
// shop sending it traces, business events, breaker states and heartbeats, customers placing
// orders, and now and then a payment outage, so a newcomer sees every view fill within a
// minute.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { demoReconcile } from './reconcile-rules.js'
import { exited, startReckonProcess, type ReckonProcess } from './reckon-process.js'
import { startShop, type RunningShop } from './launcher.js'
import { startTraffic, type Traffic } from './traffic.js'

const env = process.env
let stopping = false
const shopPorts = {
  order: Number(env.SHOP_ORDER_PORT ?? 7101),
  payment: Number(env.SHOP_PAYMENT_PORT ?? 7102),
  inventory: Number(env.SHOP_INVENTORY_PORT ?? 7103),
}
// The shop's reconciliation rules, pointing at its services, where Reckon keeps its data.
const rulesFile = resolve('.reckon', 'demo.yaml')
mkdirSync(dirname(rulesFile), { recursive: true })
const local = (port: number) => `http://127.0.0.1:${port}`
writeFileSync(
  rulesFile,
  `# Written by npm start: the demo shop's reconciliation rules (test/shop/src/reconcile-rules.ts).\n${JSON.stringify(
    {
      reconcile: demoReconcile({
        order: local(shopPorts.order),
        inventory: local(shopPorts.inventory),
      }),
    },
    null,
    2,
  )}\n`,
)
// Its own process group: Ctrl-C stops the shop first, whose last telemetry Reckon still takes.
const started = startReckonProcess('up', {
  env: { ...env, RECKON_CONFIG: env.RECKON_CONFIG ?? rulesFile },
  detached: true,
  onStdout: (chunk) => process.stdout.write(chunk),
  onStderr: (chunk) => process.stderr.write(chunk),
})
// Whatever ends this process ends Reckon too, rather than leaving it holding the ports.
process.on('exit', () => started.child.kill('SIGTERM'))
let reckon: ReckonProcess
try {
  reckon = await started.ready
} catch (err) {
  console.error(`reckon: ${(err as Error).message}`)
  process.exit(1)
}
reckon.child.once('exit', (code) => {
  if (stopping) return
  console.error(`reckon: reckon up stopped (exit code ${code}); stopping the demo shop`)
  void stop(1)
})
let shop: RunningShop | undefined
let traffic: Traffic | undefined
let chaos: NodeJS.Timeout | undefined

try {
  const loopback = (url: string) => url.replace('localhost', '127.0.0.1')
  shop = await startShop({
    otlpEndpoint: loopback(reckon.otlpUrl),
    apiUrl: loopback(reckon.apiUrl),
    ports: shopPorts,
  })
  const rate = Number(env.SHOP_ORDERS_PER_SECOND ?? 5)
  traffic = startTraffic(shop.urls.order, { ordersPerSecond: rate })
  if (env.SHOP_CHAOS !== 'off') chaos = await startChaos(shop.urls.payment)
  const u = shop.urls
  console.log(`
Demo shop (instrumented with @reckon/sdk), ${rate} orders/s:
  order      ${u.order}      (POST /orders, GET /orders/:id)
  payment    ${u.payment}    (fault knobs: GET/PUT /faults)
  inventory  ${u.inventory}

${
  chaos
    ? "Every 2 minutes the payment service fails for 30 s (the first time 20 s from now):\nthe order service's payment breaker opens, then recovers. SHOP_CHAOS=off disables it."
    : 'Chaos is off (SHOP_CHAOS=off).'
}
See:  ${reckon.apiUrl}/api/traces?service=order   ${reckon.apiUrl}/api/breakers   ${reckon.apiUrl}/api/health
Reconciliation (rules in ${rulesFile}): ${reckon.apiUrl}/api/reconcile/rules
  dropped payment callbacks are found within a minute, repaired, and resolved by the next run
Break it yourself:
  curl -X PUT ${u.payment}/faults -H 'content-type: application/json' -d '{"errorRate":0.8}'

Ctrl-C stops everything after writing what was accepted.`)
} catch (err) {
  console.error('reckon: the demo shop did not start:', err)
  await stop(1)
}

/** Payment outages on a schedule, and a steady trickle of the cross-system faults. */
async function startChaos(paymentUrl: string): Promise<NodeJS.Timeout> {
  const set = (faults: object) =>
    fetch(`${paymentUrl}/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(faults),
    }).catch(() => undefined)
  await set({ dropCallbackRate: 0.02, statusMismatchRate: 0.01, amountMismatchRate: 0.005 })
  let tick = 0
  // Every 10 s; an outage at ticks 2–4 of each 12-tick (2-minute) cycle.
  return setInterval(() => {
    const phase = tick++ % 12
    if (phase === 2) void set({ errorRate: 0.9, latencyRate: 0.3, latencyMs: 1500 })
    if (phase === 5) void set({ errorRate: 0, latencyRate: 0 })
  }, 10_000)
}

async function stop(code = 0): Promise<void> {
  if (stopping) return
  stopping = true
  clearInterval(chaos)
  await traffic?.stop()
  await shop?.stop()
  reckon.child.kill('SIGTERM')
  const reckonCode = await exited(reckon.child)
  process.exit(code || (reckonCode ?? 0))
}
process.on('SIGINT', () => {
  console.log('\nstopping: traffic, shop (flushing its telemetry), then Reckon…')
  void stop()
})
process.on('SIGTERM', () => void stop())
