import type { Storage } from '../../storage/client.js'
import { Filter, nanos, select, type Window } from '../db.js'

/** The health metrics @reckon/sdk exports; their arrival is the heartbeat. */
const HEALTH = {
  up: 'reckon.health.up',
  eventLoopDelayP99Ms: 'reckon.health.eventloop.delay.p99',
  eventLoopDelayMaxMs: 'reckon.health.eventloop.delay.max',
  heapUsedBytes: 'reckon.health.memory.heap.used',
  rssBytes: 'reckon.health.memory.rss',
  cpuUtilization: 'reckon.health.cpu.utilization',
} as const

type Figure = Exclude<keyof typeof HEALTH, 'up'>

export type InstanceStatus = 'up' | 'stale' | 'down'

export interface InstanceView {
  service: string
  instance: string
  version: string
  status: InstanceStatus
  lastHeartbeatUnixNano: string
  /** Seconds since the last heartbeat, at the time of the request. */
  silentSeconds: number
  /** The latest value of each figure (null when never reported). */
  figures: Record<Figure, number | null>
}

export interface Thresholds {
  /** Silent longer than this: stale (default 3 export intervals of 10 s). */
  staleAfterSeconds: number
  /** Silent longer than this: down. */
  downAfterSeconds: number
}

/** Every instance that sent a heartbeat in the window, with its status and latest figures. */
export async function listInstances(
  storage: Storage,
  f: { service?: string | undefined; window: Window; thresholds: Thresholds; nowNs: bigint },
  timeout: number,
): Promise<InstanceView[]> {
  const filter = new Filter(f.window)
    .when('metric_name IN {names:Array(String)}', { names: Object.values(HEALTH) })
    .equals('service_name', 'service', f.service)
  const rows = await select<{
    service: string
    instance: string
    version: string
    metric: string
    v: number
    seen: string
  }>(
    storage,
    `SELECT service_name AS service, resource_attributes['service.instance.id'] AS instance,
       argMax(resource_attributes['service.version'], timestamp) AS version, metric_name AS metric,
       argMax(value, timestamp) AS v, ${nanos('max(timestamp)')} AS seen
     FROM ${storage.database}.metric_points WHERE ${filter.sql}
     GROUP BY service, instance, metric LIMIT 100000`,
    filter.params,
    timeout,
  )
  const byName = new Map<string, Figure | 'up'>(
    Object.entries(HEALTH).map(([k, v]) => [v, k as Figure | 'up']),
  )
  const instances = new Map<string, InstanceView>()
  for (const r of rows) {
    const key = `${r.service}\0${r.instance}`
    let i = instances.get(key)
    if (!i) {
      i = {
        service: r.service,
        instance: r.instance,
        version: r.version,
        status: 'down',
        lastHeartbeatUnixNano: '0',
        silentSeconds: 0,
        figures: {
          eventLoopDelayP99Ms: null,
          eventLoopDelayMaxMs: null,
          heapUsedBytes: null,
          rssBytes: null,
          cpuUtilization: null,
        },
      }
      instances.set(key, i)
    }
    const figure = byName.get(r.metric)
    if (figure === 'up') i.lastHeartbeatUnixNano = r.seen
    else if (figure !== undefined) i.figures[figure] = r.v
  }
  const { staleAfterSeconds, downAfterSeconds } = f.thresholds
  for (const i of instances.values()) {
    const silent = Number(f.nowNs - BigInt(i.lastHeartbeatUnixNano)) / 1e9
    i.silentSeconds = Math.max(0, Math.round(silent * 10) / 10)
    i.status = silent <= staleAfterSeconds ? 'up' : silent <= downAfterSeconds ? 'stale' : 'down'
  }
  return [...instances.values()].sort(
    (a, b) => a.service.localeCompare(b.service) || a.instance.localeCompare(b.instance),
  )
}
