import { context, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api'
import type { HrTime } from '@opentelemetry/api'
import { OTLPTraceExporter as HttpTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { OTLPLogExporter as HttpLogExporter } from '@opentelemetry/exporter-logs-otlp-http'
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto'
import { OTLPMetricExporter as HttpMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http'
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs'
import {
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace'
import type { RunningReckon } from '@reckon/collector/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, eventually, startTestReckon } from './reckon.js'

let reckon: RunningReckon
beforeAll(async () => {
  reckon = await startTestReckon()
})
afterAll(() => reckon.close())

interface StoredSpan {
  spanId: string
  parentSpanId: string
  service: string
  name: string
  kind: string
  startTimeUnixNano: string
  durationNano: string
  status: { code: string; message: string }
  attributes: Record<string, unknown>
  events: { timeUnixNano: string; name: string; attributes: Record<string, unknown> }[]
  links: { traceId: string; spanId: string; attributes: Record<string, unknown> }[]
  flowId: string
}

const protocols = [
  {
    name: 'OTLP/HTTP JSON',
    Trace: HttpTraceExporter,
    Log: HttpLogExporter,
    Metric: HttpMetricExporter,
  },
  {
    name: 'OTLP/HTTP protobuf',
    Trace: ProtoTraceExporter,
    Log: ProtoLogExporter,
    Metric: ProtoMetricExporter,
  },
] as const

describe.each(protocols)('official OpenTelemetry JS exporters over $name', (p) => {
  it('store a two-service trace that reads back exactly: parents, attributes, status, events, links, timing', async () => {
    const memory = new InMemorySpanExporter()
    const provider = (service: string) =>
      new TracerProvider({
        resource: resourceFromAttributes({ 'service.name': service, 'service.version': '1.4.2' }),
        spanProcessors: [
          new SimpleSpanProcessor({
            exporter: new p.Trace({ url: `${reckon.otlpUrl}/v1/traces` }),
          }),
          new SimpleSpanProcessor({ exporter: memory }),
        ],
      })
    const checkout = provider('checkout')
    const payment = provider('payment')
    const flowId = `flow-${p.name.length}-${Date.now()}`
    const link = trace.getTracer('x').startSpan('unrelated')
    link.end()

    const root = checkout.getTracer('shop').startSpan('POST /checkout', {
      kind: SpanKind.SERVER,
      attributes: { 'reckon.flow.id': flowId, 'http.request.method': 'POST' },
    })
    const ctx = trace.setSpan(context.active(), root)
    const payTracer: Tracer = payment.getTracer('payments', '2.0.0')
    const child = payTracer.startSpan(
      'charge card',
      {
        kind: SpanKind.SERVER,
        attributes: {
          'reckon.flow.id': flowId,
          'payment.attempt': 3,
          'payment.amount_ratio': 0.25,
          'payment.retried': true,
          'payment.tags': ['card', 'eu'],
        },
        links: [{ context: root.spanContext(), attributes: { 'link.reason': 'follows' } }],
      },
      ctx,
    )
    child.addEvent('card declined', { 'decline.code': 'insufficient_funds' })
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' })
    child.end()
    root.end()
    await Promise.all([checkout.forceFlush(), payment.forceFlush()])
    await reckon.context.pipeline.flush()

    const traceId = root.spanContext().traceId
    const got = await api<{ traceId: string; spans: StoredSpan[] }>(
      reckon,
      `/api/traces/${traceId}`,
    )
    expect(got.traceId).toBe(traceId)
    const sent = memory.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId)
    expect(got.spans).toHaveLength(2)
    for (const s of sent) {
      const stored = got.spans.find((x) => x.spanId === s.spanContext().spanId)
      expect(stored, s.name).toBeDefined()
      expectSameSpan(stored!, s)
    }
    const storedChild = got.spans.find((x) => x.name === 'charge card')!
    expect(storedChild.parentSpanId).toBe(root.spanContext().spanId)
    expect(storedChild.attributes).toMatchObject({
      'payment.attempt': 3,
      'payment.amount_ratio': 0.25,
      'payment.retried': true,
      'payment.tags': ['card', 'eu'],
    })
    expect(storedChild.status).toEqual({ code: 'Error', message: 'card declined' })
    expect(storedChild.events[0]).toMatchObject({
      name: 'card declined',
      attributes: { 'decline.code': 'insufficient_funds' },
    })
    expect(storedChild.links[0]).toMatchObject({
      traceId,
      spanId: root.spanContext().spanId,
      attributes: { 'link.reason': 'follows' },
    })
    expect(storedChild.flowId).toBe(flowId)

    // The same trace is found by search, by flow, and as a dependency edge.
    const search = await api<{
      traces: {
        traceId: string
        rootService: string
        spanCount: number
        errorCount: number
        services: string[]
      }[]
    }>(
      reckon,
      `/api/traces?service=payment&operation=${encodeURIComponent('charge card')}&status=error&attr.payment.retried=true`,
    )
    expect(search.traces.map((t) => t.traceId)).toContain(traceId)
    const summary = search.traces.find((t) => t.traceId === traceId)!
    expect(summary).toMatchObject({
      rootService: 'checkout',
      spanCount: 2,
      errorCount: 1,
      services: ['checkout', 'payment'],
    })
    const flow = await api<{ traces: { traceId: string }[] }>(reckon, `/api/flows/${flowId}`)
    expect(flow.traces.map((t) => t.traceId)).toEqual([traceId])
    const deps = await api<{ dependencies: { caller: string; callee: string; errors: number }[] }>(
      reckon,
      '/api/dependencies',
    )
    expect(deps.dependencies).toContainEqual(
      expect.objectContaining({ caller: 'checkout', callee: 'payment' }),
    )
    await Promise.all([checkout.shutdown(), payment.shutdown()])
  })

  it('store business events and plain logs from the logs exporter, money exact', async () => {
    const flowId = `order-${p.name.length}-${Date.now()}`
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'orders' }),
      processors: [
        new SimpleLogRecordProcessor({ exporter: new p.Log({ url: `${reckon.otlpUrl}/v1/logs` }) }),
      ],
    })
    const logger = provider.getLogger('orders')
    logger.emit({
      eventName: 'order.created',
      body: 'order created',
      attributes: {
        'reckon.flow.id': flowId,
        'reckon.entity': 'order',
        'reckon.entity.key': flowId,
        'reckon.status': 'created',
        'reckon.amount': '1234567890123.45',
        'reckon.currency': 'EUR',
        'order.channel': 'web',
      },
    })
    logger.emit({ body: 'just a log line', attributes: { 'reckon.flow.id': flowId } })
    await provider.forceFlush()
    await eventually(reckon, async () => {
      const flow = await api<{
        events: {
          type: string
          system: string
          key: string
          status: string
          amount: string
          currency: string
          attributes: Record<string, string>
        }[]
      }>(reckon, `/api/flows/${flowId}`)
      expect(flow.events).toEqual([
        expect.objectContaining({
          type: 'order.created',
          system: 'orders',
          key: flowId,
          status: 'created',
          amount: '1234567890123.45',
          currency: 'EUR',
          attributes: { 'order.channel': 'web' },
        }),
      ])
    })
    await provider.shutdown()
  })

  it('store gauge, sum and histogram points that read back exactly', async () => {
    const exporter = new p.Metric({
      url: `${reckon.otlpUrl}/v1/metrics`,
      temporalityPreference: AggregationTemporality.CUMULATIVE,
    })
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
    const service = `inventory-${p.name.length}`
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': service }),
      readers: [reader],
    })
    const meter = provider.getMeter('stock')
    meter.createCounter('orders.reserved').add(7, { warehouse: 'berlin' })
    meter.createGauge('stock.level', { unit: '{item}' }).record(42.5, { sku: 'A-1' })
    const h = meter.createHistogram('reserve.duration', {
      unit: 'ms',
      advice: { explicitBucketBoundaries: [10, 100] },
    })
    for (const v of [5, 50, 500]) h.record(v)
    await provider.forceFlush()
    await reckon.context.pipeline.flush()
    const q = (name: string) =>
      api<{ points: Record<string, unknown>[] }>(
        reckon,
        `/api/metrics?service=${service}&name=${name}`,
      )
    expect((await q('orders.reserved')).points).toEqual([
      expect.objectContaining({
        kind: 'sum',
        temporality: 'cumulative',
        isMonotonic: true,
        value: 7,
        attributes: { warehouse: 'berlin' },
      }),
    ])
    expect((await q('stock.level')).points).toEqual([
      expect.objectContaining({
        kind: 'gauge',
        value: 42.5,
        unit: '{item}',
        attributes: { sku: 'A-1' },
      }),
    ])
    expect((await q('reserve.duration')).points).toEqual([
      expect.objectContaining({
        kind: 'histogram',
        count: 3,
        sum: 555,
        min: 5,
        max: 500,
        bucketCounts: [1, 1, 1],
        explicitBounds: [10, 100],
      }),
    ])
    await provider.shutdown()
  })
})

/** HrTime as exact nanoseconds (hrTimeToNanoseconds returns a lossy number). */
const ns = (t: HrTime): bigint => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])

function expectSameSpan(stored: StoredSpan, sent: ReadableSpan): void {
  expect(stored.name).toBe(sent.name)
  expect(stored.service).toBe(sent.resource.attributes['service.name'])
  expect(stored.startTimeUnixNano).toBe(String(ns(sent.startTime)))
  expect(stored.durationNano).toBe(String(ns(sent.endTime) - ns(sent.startTime)))
  expect(stored.parentSpanId).toBe(sent.parentSpanContext?.spanId ?? '')
  expect(stored.attributes).toEqual(sent.attributes)
  expect(stored.events.map((e) => e.name)).toEqual(sent.events.map((e) => e.name))
}
