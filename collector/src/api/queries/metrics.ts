import { typedMap } from '../../otlp-to-native/typed-value.js'
import type { Storage } from '../../storage/client.js'
import { Filter, nanos, select, type Window } from '../db.js'
import type { Static } from 'typebox'
import type { MetricPoint } from '../schemas.js'
import { ORIGIN_COLUMNS, originView, type OriginRow } from './origin-view.js'

/** A metric point as the API serves it (its `MetricPoint` schema). */
export type MetricPointView = Static<typeof MetricPoint>

/** A double as OTLP/JSON writes one: a number, or "NaN", "Infinity", "-Infinity". */
export type Double = number | 'NaN' | 'Infinity' | '-Infinity'

/** A Float64 as the engine writes it with `output_format_json_quote_denormals`. */
type Stored = number | string

const SPECIAL: Record<string, Double> = { nan: 'NaN', inf: 'Infinity', '-inf': '-Infinity' }
const double = (d: Stored): Double => (typeof d === 'number' ? d : (SPECIAL[d] ?? Number(d)))
const optDouble = (d: Stored | null): Double | null => (d === null ? null : double(d))

interface Row extends OriginRow {
  ts: string
  start_ts: string
  service_name: string
  metric_name: string
  description: string
  unit: string
  kind: MetricPointView['kind']
  temporality: MetricPointView['temporality']
  is_monotonic: boolean
  attributes: Record<string, string>
  attribute_types: Record<string, string>
  flags: number
  value: Stored
  int_value: string | null
  count: string
  sum: Stored | null
  min: Stored | null
  max: Stored | null
  bucket_counts: string[]
  explicit_bounds: Stored[]
  scale: number
  zero_count: string
  positive_offset: number
  positive_counts: string[]
  negative_offset: number
  negative_counts: string[]
  quantiles: Stored[]
  quantile_values: Stored[]
}

function toView(r: Row): MetricPointView {
  const base = {
    timeUnixNano: r.ts,
    startTimeUnixNano: r.start_ts,
    service: r.service_name,
    name: r.metric_name,
    description: r.description,
    unit: r.unit,
    kind: r.kind,
    temporality: r.temporality,
    isMonotonic: r.is_monotonic,
    attributes: typedMap(r.attributes, r.attribute_types),
    flags: r.flags,
    ...originView(r),
  }
  const nums = (a: string[]): number[] => a.map(Number)
  switch (r.kind) {
    case 'gauge':
    case 'sum':
      return r.int_value === null
        ? { ...base, value: double(r.value) }
        : { ...base, value: double(r.value), intValue: r.int_value }
    case 'histogram':
      return {
        ...base,
        count: Number(r.count),
        sum: optDouble(r.sum),
        min: optDouble(r.min),
        max: optDouble(r.max),
        bucketCounts: nums(r.bucket_counts),
        explicitBounds: r.explicit_bounds.map(double),
      }
    case 'exponential_histogram':
      return {
        ...base,
        count: Number(r.count),
        sum: optDouble(r.sum),
        min: optDouble(r.min),
        max: optDouble(r.max),
        scale: r.scale,
        zeroCount: Number(r.zero_count),
        positive: { offset: r.positive_offset, bucketCounts: nums(r.positive_counts) },
        negative: { offset: r.negative_offset, bucketCounts: nums(r.negative_counts) },
      }
    case 'summary':
      return {
        ...base,
        count: Number(r.count),
        sum: optDouble(r.sum),
        quantiles: r.quantiles.map((quantile, i) => ({
          quantile: double(quantile),
          value: double(r.quantile_values[i] ?? 0),
        })),
      }
  }
}

export interface MetricFilter {
  name?: string | undefined
  service?: string | undefined
  window: Window
  limit: number
}

/** Data points of the matching metrics, oldest first. */
export async function findMetricPoints(
  storage: Storage,
  f: MetricFilter,
  timeout: number,
): Promise<MetricPointView[]> {
  const filter = new Filter(f.window, 'timestamp', { limit: f.limit })
    .equals('metric_name', 'name', f.name)
    .equals('service_name', 'service', f.service)
  const rows = await select<Row>(
    storage,
    `SELECT ${nanos('timestamp')} AS ts, ${nanos('start_timestamp')} AS start_ts, service_name, metric_name,
       description, unit, kind, temporality, is_monotonic, attributes, attribute_types, flags, value,
       toString(int_value) AS int_value, count, sum, min, max, bucket_counts, explicit_bounds, scale,
       zero_count, positive_offset, positive_counts, negative_offset, negative_counts, quantiles,
       quantile_values, ${ORIGIN_COLUMNS}
     FROM ${storage.database}.metric_points WHERE ${filter.sql}
     ORDER BY timestamp LIMIT {limit:UInt32}`,
    filter.params,
    timeout,
    ['output_format_json_quote_denormals'],
  )
  return rows.map(toView)
}

/** Metric names seen in the window, with their kind and unit. */
export async function listMetricNames(
  storage: Storage,
  service: string | undefined,
  window: Window,
  timeout: number,
): Promise<{ name: string; kind: string; unit: string; services: string[]; points: number }[]> {
  const filter = new Filter(window).equals('service_name', 'service', service)
  const rows = await select<{
    metric_name: string
    kind: string
    unit: string
    services: string[]
    points: string
  }>(
    storage,
    `SELECT metric_name, any(kind) AS kind, any(unit) AS unit, arraySort(groupUniqArray(service_name)) AS services,
       count() AS points
     FROM ${storage.database}.metric_points WHERE ${filter.sql}
     GROUP BY metric_name ORDER BY metric_name LIMIT 10000`,
    filter.params,
    timeout,
  )
  return rows.map((r) => ({
    name: r.metric_name,
    kind: r.kind,
    unit: r.unit,
    services: r.services,
    points: Number(r.points),
  }))
}
