import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { Meter } from '@opentelemetry/api'

/**
 * The heartbeat: every export carries these, so their arrival says the instance is alive
 * and their values say how well. Reckon's health view and alerts read them by name.
 */
export const HEALTH_METRICS = {
  up: 'reckon.health.up',
  eventLoopDelayP99: 'reckon.health.eventloop.delay.p99',
  eventLoopDelayMax: 'reckon.health.eventloop.delay.max',
  heapUsed: 'reckon.health.memory.heap.used',
  rss: 'reckon.health.memory.rss',
  cpu: 'reckon.health.cpu.utilization',
} as const

/** Starts reporting health through `meter`; returns a stop function. */
export function reportHealth(meter: Meter): () => void {
  // Node records the whole timer interval, so the delay is what exceeds the resolution.
  const resolutionMs = 10
  const delay = monitorEventLoopDelay({ resolution: resolutionMs })
  delay.enable()
  let lastCpu = process.cpuUsage()
  let lastWall = process.hrtime.bigint()
  const gauge = (name: string, description: string, unit = '1') =>
    meter.createObservableGauge(name, { description, unit })
  const up = gauge(HEALTH_METRICS.up, '1 while the instance runs; its arrival is the heartbeat')
  const p99 = gauge(
    HEALTH_METRICS.eventLoopDelayP99,
    'Event-loop delay, 99th percentile since the last export',
    'ms',
  )
  const max = gauge(
    HEALTH_METRICS.eventLoopDelayMax,
    'Longest event-loop delay since the last export',
    'ms',
  )
  const heap = gauge(HEALTH_METRICS.heapUsed, 'V8 heap in use', 'By')
  const rss = gauge(HEALTH_METRICS.rss, 'Resident set size', 'By')
  const cpu = gauge(
    HEALTH_METRICS.cpu,
    'CPU time per wall time since the last export (1 = one core busy)',
  )
  const instruments = [up, p99, max, heap, rss, cpu]
  const callback: Parameters<Meter['addBatchObservableCallback']>[0] = (r) => {
    const mem = process.memoryUsage()
    const nowCpu = process.cpuUsage()
    const nowWall = process.hrtime.bigint()
    const wallUs = Number(nowWall - lastWall) / 1000
    const cpuUs = nowCpu.user - lastCpu.user + (nowCpu.system - lastCpu.system)
    lastCpu = nowCpu
    lastWall = nowWall
    r.observe(up, 1)
    if (delay.count > 0) {
      r.observe(p99, Math.max(0, delay.percentile(99) / 1e6 - resolutionMs))
      r.observe(max, Math.max(0, delay.max / 1e6 - resolutionMs))
    }
    r.observe(heap, mem.heapUsed)
    r.observe(rss, mem.rss)
    if (wallUs > 0) r.observe(cpu, cpuUs / wallUs)
    delay.reset()
  }
  meter.addBatchObservableCallback(callback, instruments)
  return () => {
    delay.disable()
    meter.removeBatchObservableCallback(callback, instruments)
  }
}
