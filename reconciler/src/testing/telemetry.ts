// Telemetry written as the collector stores it, for the alert evaluators' tests: entry
// spans of a service, Resilience4j breaker state gauges and SDK heartbeats.
import { randomBytes } from 'node:crypto'
import type { Storage } from '@reckon/collector/storage'
import { nanosText } from '../nanos.js'

export interface TestSpan {
  service: string
  name?: string
  /** Unix nanoseconds. */
  at: bigint
  durationMs?: number
  error?: boolean
}

export async function insertSpans(storage: Storage, spans: TestSpan[]): Promise<void> {
  await storage.client.insert({
    table: `${storage.database}.spans`,
    format: 'JSONEachRow',
    values: spans.map((s) => ({
      timestamp: nanosText(s.at),
      trace_id: randomBytes(16).toString('hex'),
      span_id: randomBytes(8).toString('hex'),
      parent_span_id: '',
      service_name: s.service,
      span_name: s.name ?? 'GET /orders',
      span_kind: 'Server',
      duration_ns: Math.round((s.durationMs ?? 10) * 1e6),
      status_code: s.error ? 'Error' : 'Ok',
    })),
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  })
}

const STATES = ['closed', 'open', 'half_open', 'forced_open', 'disabled', 'metrics_only']

/** One export of a breaker's state gauge: 1 for its state, 0 for the others (as the SDK). */
export async function insertBreakerState(
  storage: Storage,
  b: { service: string; instance: string; name: string; state: string; at: bigint },
): Promise<void> {
  await storage.client.insert({
    table: `${storage.database}.metric_points`,
    format: 'JSONEachRow',
    values: STATES.map((state) => ({
      timestamp: nanosText(b.at),
      start_timestamp: nanosText(b.at),
      service_name: b.service,
      metric_name: 'resilience4j.circuitbreaker.state',
      kind: 'gauge',
      temporality: 'unspecified',
      resource_attributes: { 'service.instance.id': b.instance },
      attributes: { name: b.name, state },
      value: state === b.state.toLowerCase() ? 1 : 0,
    })),
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  })
}

export async function insertHeartbeat(
  storage: Storage,
  h: { service: string; instance: string; at: bigint },
): Promise<void> {
  await storage.client.insert({
    table: `${storage.database}.metric_points`,
    format: 'JSONEachRow',
    values: [
      {
        timestamp: nanosText(h.at),
        start_timestamp: nanosText(h.at),
        service_name: h.service,
        metric_name: 'reckon.health.up',
        kind: 'gauge',
        temporality: 'unspecified',
        resource_attributes: { 'service.instance.id': h.instance },
        attributes: {},
        value: 1,
      },
    ],
    clickhouse_settings: { date_time_input_format: 'best_effort' },
  })
}
