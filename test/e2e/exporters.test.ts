import { context, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api'
import type { HrTime } from '@opentelemetry/api'
import { OTLPTraceExporter as HttpTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { OTLPLogExporter as HttpLogExporter } from '@opentelemetry/exporter-logs-otlp-http'
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto'
import { OTLPMetricExporter as HttpMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http'
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { SeverityNumber } from '@opentelemetry/api-logs'
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
import type { Span } from '@reckon/collector/schemas'
import type { RunningReckon } from '@reckon/collector/server'
import type { Static } from 'typebox'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, eventually, startTestReckon } from './reckon.js'

let reckon: RunningReckon
beforeAll(async () => {
  reckon = await startTestReckon()
})
afterAll(() => reckon.close())

/** A span as the API serves it. */
type StoredSpan = Static<typeof Span>

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
    expect(sent.map((s) => s.name).sort()).toEqual(['POST /checkout', 'charge card'])
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

  it('store every field of a span: flags, dropped counts, schema URLs, limits applied', async () => {
    const memory = new InMemorySpanExporter()
    const provider = new TracerProvider({
      resource: resourceFromAttributes(
        { 'service.name': 'limits', 'host.cores': 8 },
        { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' },
      ),
      // Limits low enough that the SDK drops some of everything, and says how many.
      spanLimits: {
        attributeCountLimit: 2,
        eventCountLimit: 1,
        linkCountLimit: 1,
        attributePerEventCountLimit: 1,
        attributePerLinkCountLimit: 1,
      },
      spanProcessors: [
        new SimpleSpanProcessor({ exporter: new p.Trace({ url: `${reckon.otlpUrl}/v1/traces` }) }),
        new SimpleSpanProcessor({ exporter: memory }),
      ],
    })
    const tracer = provider.getTracer('limited', '0.1.0', {
      schemaUrl: 'https://opentelemetry.io/schemas/1.27.0',
    })
    const other = tracer.startSpan('other')
    other.end()
    const span = tracer.startSpan('limited', {
      attributes: { a: 1, b: 'two', c: true, d: 0.5 },
      // The SDK drops the oldest event and link past the limit.
      links: [
        { context: other.spanContext() },
        { context: other.spanContext(), attributes: { x: 1, y: 2 } },
      ],
    })
    span.addEvent('first')
    span.addEvent('second', { e1: 1, e2: 2 })
    span.end()
    await provider.forceFlush()
    await reckon.context.pipeline.flush()
    const traceId = span.spanContext().traceId
    const got = await api<{ spans: StoredSpan[] }>(reckon, `/api/traces/${traceId}`)
    const sent = memory.getFinishedSpans().filter((s) => s.name === 'limited')
    expect(sent).toHaveLength(1)
    const stored = got.spans.find((s) => s.name === 'limited')
    if (!stored) throw new Error('the span "limited" was not stored')
    expectSameSpan(stored, sent[0]!)
    expect(stored).toMatchObject({
      droppedAttributesCount: 2,
      droppedEventsCount: 1,
      droppedLinksCount: 1,
      resource: { 'service.name': 'limits', 'host.cores': 8 },
      resourceSchemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
      scope: {
        name: 'limited',
        version: '0.1.0',
        schemaUrl: 'https://opentelemetry.io/schemas/1.27.0',
      },
      events: [{ name: 'second', droppedAttributesCount: 1 }],
      links: [{ spanId: other.spanContext().spanId, droppedAttributesCount: 1 }],
    })
    expect(stored.decodeWarning).toBeUndefined()
    await provider.shutdown()
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
        'order.items': 3,
        'order.gift': true,
        'order.tags': ['p', 'q'],
      },
    })
    logger.emit({
      eventName: 'order.created',
      attributes: {
        'reckon.entity': 'order',
        'reckon.entity.key': `${flowId}-b`,
        'reckon.flow.id': flowId,
        'reckon.amount': '12.50',
        'reckon.currency': 'EUR',
      },
    })
    logger.emit({ body: 'just a log line', attributes: { 'reckon.flow.id': flowId } })
    logger.emit({
      severityNumber: SeverityNumber.WARN2,
      severityText: 'WARN2',
      body: { code: 42, detail: ['a', true], ratio: 0.5 },
      attributes: { 'reckon.flow.id': flowId, retries: 2, 'cache.hit': false },
    })
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
      // Both were emitted in the same millisecond: their order is not defined, their content is.
      expect(flow.events).toHaveLength(2)
      expect(flow.events).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            type: 'order.created',
            system: 'orders',
            key: flowId,
            status: 'created',
            amount: '1234567890123.45',
            currency: 'EUR',
            attributes: {
              'order.channel': 'web',
              'order.items': 3,
              'order.gift': true,
              'order.tags': ['p', 'q'],
            },
          }),
          expect.objectContaining({ key: `${flowId}-b`, amount: '12.50' }),
        ]),
      )
      const found = await api<{ logs: Record<string, unknown>[] }>(
        reckon,
        `/api/logs?flowId=${flowId}`,
      )
      // Both were emitted in the same millisecond: their order is not defined, their content is.
      expect(found.logs).toHaveLength(2)
      expect(found.logs).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            service: 'orders',
            severityNumber: SeverityNumber.WARN2,
            severityText: 'WARN2',
            body: { code: 42, detail: ['a', true], ratio: 0.5 },
            attributes: { 'reckon.flow.id': flowId, retries: 2, 'cache.hit': false },
            scope: expect.objectContaining({ name: 'orders' }),
          }),
          expect.objectContaining({ body: 'just a log line', severityNumber: 0 }),
        ]),
      )
      const warnings = await api<{ logs: unknown[] }>(
        reckon,
        `/api/logs?flowId=${flowId}&severity=WARN`,
      )
      expect(warnings.logs).toHaveLength(1)
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
    meter.createCounter('orders.reserved').add(7, { warehouse: 'berlin', shelf: 4, express: true })
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
        attributes: { warehouse: 'berlin', shelf: 4, express: true },
        resource: { 'service.name': service },
        scope: expect.objectContaining({ name: 'stock' }),
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
  expect(stored.droppedAttributesCount).toBe(sent.droppedAttributesCount)
  expect(stored.droppedEventsCount).toBe(sent.droppedEventsCount)
  expect(stored.droppedLinksCount).toBe(sent.droppedLinksCount)
  expect(stored.flags).toBe(spanFlags(sent.spanContext().traceFlags, sent.parentSpanContext))
  expect(stored.resource).toEqual(sent.resource.attributes)
  expect(stored.scope).toMatchObject({
    name: sent.instrumentationScope.name,
    version: sent.instrumentationScope.version ?? '',
    schemaUrl: sent.instrumentationScope.schemaUrl ?? '',
  })
  expect(stored.events.map((e) => [e.name, e.attributes, e.droppedAttributesCount])).toEqual(
    sent.events.map((e) => [e.name, e.attributes ?? {}, e.droppedAttributesCount ?? 0]),
  )
  expect(stored.links.map((l) => [l.spanId, l.attributes, l.droppedAttributesCount])).toEqual(
    sent.links.map((l) => [l.context.spanId, l.attributes ?? {}, l.droppedAttributesCount ?? 0]),
  )
}

/** OTLP span flags: the W3C trace flags, and whether the parent is known to be remote. */
function spanFlags(traceFlags: number, parent: { isRemote?: boolean } | undefined): number {
  const HAS_IS_REMOTE = 0x100
  const IS_REMOTE = 0x200
  return (traceFlags & 0xff) | HAS_IS_REMOTE | (parent?.isRemote ? IS_REMOTE : 0)
}
