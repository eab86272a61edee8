import { jsonRows, type EncodedRows } from '../storage/writer.js'
import {
  arrivingNow,
  checkCount,
  checkRetained,
  oldestKept,
  TooManyItems,
  type Arrival,
} from './arrival.js'
import { resourceOrigin, scopeOriginJson, withOrigin, type ResourceOrigin } from './origin.js'
import type { Int64, KeyValue, Metric, MetricsRequest, Resource, Scope } from './types.js'
import {
  dateTime64Text,
  count,
  double,
  enumValue,
  flattenAttributes,
  int32,
  int64,
  InvalidField,
  jsonDouble,
  str,
  uint32,
  uint64,
} from './values.js'

export interface MetricConversion {
  encoded: EncodedRows
  rejected: number
  errors: string[]
}

const MAX_ERRORS = 5
const TEMPORALITY = ['unspecified', 'delta', 'cumulative'] as const
const TEMPORALITY_ENUM = [
  'AGGREGATION_TEMPORALITY_UNSPECIFIED',
  'AGGREGATION_TEMPORALITY_DELTA',
  'AGGREGATION_TEMPORALITY_CUMULATIVE',
]

/** The request's arrival as each point is checked against it. */
interface PointArrival {
  oldest: bigint
  retentionDays: number
  maxPerItem: number
}

interface Common {
  at: PointArrival
  origin: ResourceOrigin
  scope: string
  metric: Metric
}

interface Point {
  attributes?: KeyValue[] | null
  startTimeUnixNano?: Int64 | null
  timeUnixNano?: Int64 | null
  flags?: number | null
}

/**
 * One row per data point, one resource and scope at a time; the metric's kind decides
 * which value columns are filled. Fed from a decoded request (`convertMetrics`) or metric
 * by metric (request-stream.ts).
 */
export class MetricConverter {
  private text = ''
  private rows = 0
  private rejected = 0
  private readonly errors: string[] = []
  private origin: ResourceOrigin = resourceOrigin(undefined, undefined)
  private scope = scopeOriginJson(undefined, undefined)
  private readonly at: PointArrival
  private readonly maxPoints: number
  /** Metrics seen, for naming one refused before it could be read. */
  private metrics = 0

  constructor(arrival: Arrival = arrivingNow()) {
    this.at = {
      oldest: oldestKept(arrival),
      retentionDays: arrival.retentionDays,
      maxPerItem: arrival.maxPerItem,
    }
    this.maxPoints = arrival.maxItems
  }

  beginResource(resource: Resource | null | undefined, schemaUrl?: string | null): void {
    this.origin = resourceOrigin(resource, schemaUrl)
    this.scope = scopeOriginJson(undefined, undefined)
  }

  beginScope(scope: Scope | null | undefined, schemaUrl?: string | null): void {
    this.scope = scopeOriginJson(scope, schemaUrl)
  }

  add(metric: Metric): void {
    this.metrics++
    const c: Common = { at: this.at, origin: this.origin, scope: this.scope, metric }
    const name = typeof metric.name === 'string' ? metric.name : ''
    const points = pointsOf(metric)
    if (this.rows + this.rejected + points.length > this.maxPoints) {
      throw new TooManyItems('data points', this.maxPoints)
    }
    if (!name) {
      for (let i = 0; i < Math.max(points.length, 1); i++) {
        this.refuse(new InvalidField('name is missing'), 'metric')
      }
      return
    }
    for (const [i, p] of points.entries()) {
      try {
        this.text += encodePoint(c, p) + '\n'
        this.rows++
      } catch (err) {
        this.refuse(err, `metric ${name} point ${i}`)
      }
    }
  }

  finish(): MetricConversion {
    return { encoded: jsonRows(this.text, this.rows), rejected: this.rejected, errors: this.errors }
  }

  /** Counts a metric refused before it could be read (request-stream.ts). */
  reject(reason: string): void {
    this.refuse(new InvalidField(reason), `metric ${this.metrics++}`)
  }

  private refuse(err: unknown, what: string): void {
    if (!(err instanceof InvalidField)) throw err
    this.rejected++
    if (this.errors.length < MAX_ERRORS) this.errors.push(`${what}: ${err.message}`)
  }
}

/** Converts a decoded ExportMetricsServiceRequest (see `MetricConverter`). */
export function convertMetrics(req: MetricsRequest, arrival?: Arrival): MetricConversion {
  const converter = new MetricConverter(arrival)
  for (const rm of req.resourceMetrics ?? []) {
    converter.beginResource(rm.resource, rm.schemaUrl)
    for (const sm of rm.scopeMetrics ?? []) {
      converter.beginScope(sm.scope, sm.schemaUrl)
      for (const metric of sm.metrics ?? []) converter.add(metric)
    }
  }
  return converter.finish()
}

type KindPoint =
  | {
      kind: 'gauge' | 'sum'
      point: NonNullable<NonNullable<Metric['gauge']>['dataPoints']>[number]
    }
  | {
      kind: 'histogram'
      point: NonNullable<NonNullable<Metric['histogram']>['dataPoints']>[number]
    }
  | {
      kind: 'exponential_histogram'
      point: NonNullable<NonNullable<Metric['exponentialHistogram']>['dataPoints']>[number]
    }
  | { kind: 'summary'; point: NonNullable<NonNullable<Metric['summary']>['dataPoints']>[number] }

function pointsOf(m: Metric): KindPoint[] {
  if (m.gauge) return (m.gauge.dataPoints ?? []).map((point) => ({ kind: 'gauge', point }))
  if (m.sum) return (m.sum.dataPoints ?? []).map((point) => ({ kind: 'sum', point }))
  if (m.histogram)
    return (m.histogram.dataPoints ?? []).map((point) => ({ kind: 'histogram', point }))
  if (m.exponentialHistogram) {
    return (m.exponentialHistogram.dataPoints ?? []).map((point) => ({
      kind: 'exponential_histogram',
      point,
    }))
  }
  if (m.summary) return (m.summary.dataPoints ?? []).map((point) => ({ kind: 'summary', point }))
  return []
}

function temporality(m: Metric): string {
  const t =
    m.sum?.aggregationTemporality ??
    m.histogram?.aggregationTemporality ??
    m.exponentialHistogram?.aggregationTemporality
  return TEMPORALITY[enumValue(t, TEMPORALITY_ENUM, 'aggregationTemporality')] ?? 'unspecified'
}

const optDouble = (v: number | string | null | undefined, field: string): number | string | null =>
  v === null || v === undefined ? null : jsonDouble(double(v, field))

function encodePoint(c: Common, kp: KindPoint): string {
  const p: Point = kp.point
  const time = uint64(p.timeUnixNano, 'timeUnixNano')
  if (time === '0') throw new InvalidField('timeUnixNano is missing')
  checkRetained(BigInt(time), c.at.oldest, c.at.retentionDays, 'timeUnixNano')
  checkCount(p.attributes?.length, c.at.maxPerItem, 'attributes')
  const attributes = flattenAttributes(p.attributes, 'attributes')
  const row: Record<string, unknown> = {
    timestamp: dateTime64Text(time, 'timeUnixNano'),
    start_timestamp: dateTime64Text(
      uint64(p.startTimeUnixNano, 'startTimeUnixNano'),
      'startTimeUnixNano',
    ),
    service_name: c.origin.service,
    metric_name: c.metric.name,
    description: str(c.metric.description, 'description'),
    unit: str(c.metric.unit, 'unit'),
    kind: kp.kind,
    temporality: temporality(c.metric),
    is_monotonic: c.metric.sum?.isMonotonic === true,
    attributes: attributes.values,
    attribute_types: attributes.types,
    flags: uint32(p.flags, 'flags'),
  }
  switch (kp.kind) {
    case 'gauge':
    case 'sum': {
      const pt = kp.point
      if (pt.asInt !== undefined && pt.asInt !== null) {
        const i = int64(pt.asInt, 'asInt')
        row.int_value = i
        row.value = Number(i)
      } else {
        row.value = jsonDouble(double(pt.asDouble, 'asDouble'))
      }
      break
    }
    case 'histogram': {
      const pt = kp.point
      row.count = count(pt.count, 'count')
      row.sum = optDouble(pt.sum, 'sum')
      row.min = optDouble(pt.min, 'min')
      row.max = optDouble(pt.max, 'max')
      row.bucket_counts = (pt.bucketCounts ?? []).map((b, i) => count(b, `bucketCounts[${i}]`))
      row.explicit_bounds = (pt.explicitBounds ?? []).map((b, i) =>
        jsonDouble(double(b, `explicitBounds[${i}]`)),
      )
      if (
        (row.bucket_counts as string[]).length !== (row.explicit_bounds as unknown[]).length + 1 &&
        (row.bucket_counts as string[]).length > 0
      ) {
        throw new InvalidField('bucketCounts must have one more entry than explicitBounds')
      }
      break
    }
    case 'exponential_histogram': {
      const pt = kp.point
      row.count = count(pt.count, 'count')
      row.sum = optDouble(pt.sum, 'sum')
      row.min = optDouble(pt.min, 'min')
      row.max = optDouble(pt.max, 'max')
      row.scale = int32(pt.scale, 'scale')
      row.zero_count = count(pt.zeroCount, 'zeroCount')
      row.positive_offset = int32(pt.positive?.offset, 'positive.offset')
      row.positive_counts = (pt.positive?.bucketCounts ?? []).map((b, i) =>
        count(b, `positive.bucketCounts[${i}]`),
      )
      row.negative_offset = int32(pt.negative?.offset, 'negative.offset')
      row.negative_counts = (pt.negative?.bucketCounts ?? []).map((b, i) =>
        count(b, `negative.bucketCounts[${i}]`),
      )
      break
    }
    case 'summary': {
      const pt = kp.point
      row.count = count(pt.count, 'count')
      row.sum = optDouble(pt.sum, 'sum')
      const qs = pt.quantileValues ?? []
      row.quantiles = qs.map((q, i) =>
        jsonDouble(double(q.quantile, `quantileValues[${i}].quantile`)),
      )
      row.quantile_values = qs.map((q, i) =>
        jsonDouble(double(q.value, `quantileValues[${i}].value`)),
      )
      break
    }
  }
  return withOrigin(row, c.origin.json, c.scope)
}
