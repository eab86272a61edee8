import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export type ShopService = 'order' | 'payment' | 'inventory'

export interface ShopOptions {
  /** Reckon's OTLP/HTTP endpoint, e.g. http://127.0.0.1:4318. */
  otlpEndpoint: string
  /** Reckon's query API (switches), e.g. http://127.0.0.1:8318. */
  apiUrl: string
  /** Fixed ports; 0 or absent picks a free one. */
  ports?: Partial<Record<ShopService, number>>
  /** Extra environment for every service (e.g. faster OTel export intervals in tests). */
  env?: Record<string, string>
  /** Where the services' own logs go. Default: this process's stderr. */
  log?: (service: ShopService, line: string) => void
}

export interface RunningShop {
  urls: Record<ShopService, string>
  /** SIGTERM to every service; each flushes its telemetry before it exits. */
  stop(): Promise<void>
}

const MAIN: Record<ShopService, string> = {
  order: fileURLToPath(new URL('./order/main.js', import.meta.url)),
  payment: fileURLToPath(new URL('./payment/main.js', import.meta.url)),
  inventory: fileURLToPath(new URL('./inventory/main.js', import.meta.url)),
}

/** Starts the three shop services as processes of their own, payment and inventory first. */
export async function startShop(o: ShopOptions): Promise<RunningShop> {
  const children: ChildProcess[] = []
  const base = {
    ...process.env,
    OTEL_EXPORTER_OTLP_ENDPOINT: o.otlpEndpoint,
    RECKON_API_URL: o.apiUrl,
    ...o.env,
  }
  const log = o.log ?? ((service, line) => process.stderr.write(`[${service}] ${line}\n`))
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((c) => terminate(c)))
  }
  try {
    const [payment, inventory] = await Promise.all(
      (['payment', 'inventory'] as const).map((s) =>
        startService(s, { ...base, PORT: String(o.ports?.[s] ?? 0) }, children, log),
      ),
    )
    const order = await startService(
      'order',
      {
        ...base,
        PORT: String(o.ports?.order ?? 0),
        PAYMENT_URL: payment!,
        INVENTORY_URL: inventory!,
      },
      children,
      log,
    )
    return { urls: { order, payment: payment!, inventory: inventory! }, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

function startService(
  service: ShopService,
  env: NodeJS.ProcessEnv,
  children: ChildProcess[],
  log: (service: ShopService, line: string) => void,
): Promise<string> {
  const child = spawn(process.execPath, [MAIN[service]], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  createInterface({ input: child.stderr }).on('line', (line) => log(service, line))
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${service} did not start within 30 s`)),
      30_000,
    )
    const lines = createInterface({ input: child.stdout })
    lines.on('line', (line) => {
      try {
        const { url } = JSON.parse(line) as { url?: string }
        if (url) {
          clearTimeout(timer)
          resolve(url)
          return
        }
      } catch {
        // Not the ready line: an ordinary log line.
      }
      log(service, line)
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${service} exited with code ${code} before it was ready`))
    })
  })
}

function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000)
    child.once('exit', () => {
      clearTimeout(kill)
      resolve()
    })
    child.kill('SIGTERM')
  })
}
