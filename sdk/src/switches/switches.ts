import { context, diag } from '@opentelemetry/api'
import { suppressTracing } from '@opentelemetry/core'
import { pinnedSwitch, setPinnedSwitchSource } from '../flow/flow.js'

/** A degradation switch as the Reckon API serves it. */
export interface Switch {
  name: string
  on: boolean
  /** Read once when a flow starts and carried with it (an order-level switch). */
  flowPinned: boolean
}

export interface SwitchClientOptions {
  /** Reckon's query API, e.g. http://localhost:8318. */
  apiUrl: string
  /** Default 5000 ms. */
  pollIntervalMs?: number
  /** Default 2000 ms: a slow config source must not hold up the poller. */
  requestTimeoutMs?: number
  /** A Reckon API key with role viewer, when Reckon's auth is on (`reckon keys create`). */
  apiKey?: string
}

/**
 * Polls Reckon's switches. A failed poll keeps the last known values (seed 000 §7: the
 * degradation system must keep working when its config source does not).
 */
export class SwitchClient {
  private values = new Map<string, Switch>()
  private timer: NodeJS.Timeout | undefined
  private readonly url: string
  private readonly intervalMs: number
  private readonly timeoutMs: number
  private readonly headers: Record<string, string>
  private lastError: string | undefined
  /** Time of the last successful poll (Unix ms), 0 before the first. */
  updatedAt = 0

  constructor(options: SwitchClientOptions) {
    this.url = new URL('/api/switches', options.apiUrl).toString()
    this.intervalMs = options.pollIntervalMs ?? 5000
    this.timeoutMs = options.requestTimeoutMs ?? 2000
    this.headers = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}
  }

  start(): void {
    if (this.timer) return
    void this.poll()
    this.timer = setInterval(() => void this.poll(), this.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  get(name: string): Switch | undefined {
    return this.values.get(name)
  }

  all(): Switch[] {
    return [...this.values.values()]
  }

  /** Fetches the switches once; resolves false (and keeps the old values) on failure. */
  async poll(): Promise<boolean> {
    // The poller's own requests are not application traffic: keep them out of traces.
    return context.with(suppressTracing(context.active()), async () => {
      try {
        const res = await fetch(this.url, {
          headers: this.headers,
          signal: AbortSignal.timeout(this.timeoutMs),
        })
        if (!res.ok) throw new Error(`HTTP ${res.status}`)
        const body = (await res.json()) as { switches?: unknown }
        if (!Array.isArray(body.switches)) throw new Error('response has no switches array')
        const next = new Map<string, Switch>()
        for (const s of body.switches as Partial<Switch>[]) {
          if (typeof s.name !== 'string' || typeof s.on !== 'boolean') continue
          next.set(s.name, { name: s.name, on: s.on, flowPinned: s.flowPinned === true })
        }
        this.values = next
        this.updatedAt = Date.now()
        this.lastError = undefined
        return true
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err)
        if (message !== this.lastError)
          diag.warn(`reckon: switches not refreshed from ${this.url}: ${message}`)
        this.lastError = message
        return false
      }
    })
  }
}

let client: SwitchClient | undefined

/** Makes `client` the one `isOn` reads, and the source of flow-pinned values. */
export function useSwitchClient(c: SwitchClient | undefined): void {
  client = c
  setPinnedSwitchSource(() =>
    (c?.all() ?? []).filter((s) => s.flowPinned).map((s) => [s.name, s.on] as const),
  )
}

/**
 * Is the switch on? A flow-pinned switch answers with the value its flow started with;
 * any other switch with the last polled value; an unknown switch with `fallback`.
 */
export function isOn(name: string, fallback = false): boolean {
  const pinned = pinnedSwitch(name)
  if (pinned !== undefined) return pinned
  return client?.get(name)?.on ?? fallback
}
