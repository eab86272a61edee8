import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  context,
  metrics,
  propagation,
  ROOT_CONTEXT,
  trace,
  type AttributeValue,
} from '@opentelemetry/api'
import { logs } from '@opentelemetry/api-logs'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core'
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs'
import {
  AggregationTemporality,
  MeterProvider,
  MetricReader,
  type GaugeMetricData,
} from '@opentelemetry/sdk-metrics'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { recordEvent } from '../events/record-event.js'
import { extract, inject } from '../flow/carrier.js'
import { currentFlowId, startFlow, withFlow } from '../flow/flow.js'
import { FlowLogProcessor, FlowSpanProcessor } from '../flow/processors.js'
import { CircuitBreaker } from '../resilience/circuit-breaker.js'
import { policy } from '../resilience/policy.js'
import { Retry } from '../resilience/retry.js'
import { isOn, SwitchClient, useSwitchClient } from '../switches/switches.js'
import { POLICY_METRICS, reportPolicyMetrics } from './policy-metrics.js'

class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE })
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve()
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve()
  }
}

const spans = new InMemorySpanExporter()
const records = new InMemoryLogRecordExporter()
const reader = new TestReader()
const tracer = () => trace.getTracer('test')

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(
    new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
  )
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({
      spanProcessors: [new FlowSpanProcessor(), new SimpleSpanProcessor(spans)],
    }),
  )
  logs.setGlobalLoggerProvider(
    new LoggerProvider({
      processors: [new FlowLogProcessor(), new SimpleLogRecordProcessor({ exporter: records })],
    }),
  )
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }))
  reportPolicyMetrics(metrics.getMeter('test'))
})

beforeEach(() => {
  spans.reset()
  records.reset()
})

describe('flows', () => {
  it('stamps the flow ID on every span of the flow, also after crossing a message boundary', () => {
    const headers: Record<string, string> = {}
    const flowId = startFlow((id) =>
      tracer().startActiveSpan('checkout', (span) => {
        tracer().startSpan('reserve stock').end()
        inject(headers)
        span.end()
        return id
      }),
    )
    expect(flowId).toMatch(/^\d{15,19}$/)
    expect(headers.baggage).toContain(`reckon.flow.id=${flowId}`)
    // Another service receives the message: a fresh root context plus the headers.
    context.with(extract(headers, ROOT_CONTEXT), () => {
      expect(currentFlowId()).toBe(flowId)
      tracer().startSpan('capture payment').end()
    })
    const finished = spans.getFinishedSpans()
    expect(finished.map((s) => s.name)).toEqual(['reserve stock', 'checkout', 'capture payment'])
    for (const s of finished) expect(s.attributes['reckon.flow.id']).toBe(flowId)
    expect(new Set(finished.map((s) => s.spanContext().traceId)).size).toBe(1)
  })

  it('stamps the spans already open when the flow starts (a server span around the handler)', () => {
    tracer().startActiveSpan('POST /orders', (server) => {
      tracer().startActiveSpan('handler', (handler) => {
        const id = startFlow((flowId) => flowId)
        handler.end()
        server.end()
        const [h, s] = spans.getFinishedSpans()
        expect(h?.attributes['reckon.flow.id']).toBe(id)
        expect(s?.attributes['reckon.flow.id']).toBe(id)
      })
    })
  })

  it('takes a business key as the flow ID, and ignores an invalid one without failing', () => {
    expect(withFlow('ORD-2026-000123', () => currentFlowId())).toBe('ORD-2026-000123')
    expect(withFlow('bad id with spaces', () => currentFlowId() ?? 'none')).toBe('none')
  })
})

describe('recordEvent', () => {
  it('emits a log record with the business attributes, the flow, trace and span', () => {
    let traceId = ''
    withFlow('ORD-7', () =>
      tracer().startActiveSpan('pay', (span) => {
        traceId = span.spanContext().traceId
        expect(
          recordEvent({
            type: 'payment.captured',
            entity: 'order',
            key: 'ORD-7',
            status: 'paid',
            amount: '1234567890123.45',
            currency: 'EUR',
          }),
        ).toBe(true)
        span.end()
      }),
    )
    const [r] = records.getFinishedLogRecords()
    expect(r?.eventName).toBe('payment.captured')
    expect(r?.spanContext?.traceId).toBe(traceId)
    expect(r?.attributes).toMatchObject({
      'event.name': 'payment.captured',
      'reckon.entity': 'order',
      'reckon.entity.key': 'ORD-7',
      'reckon.status': 'paid',
      'reckon.amount': '1234567890123.45',
      'reckon.currency': 'EUR',
      'reckon.flow.id': 'ORD-7',
      'reckon.event.id': expect.stringMatching(/^[0-9a-f-]{36}$/),
    })
  })

  it('gives every event an ID of its own, or the one passed', () => {
    const event = { type: 'order.created', entity: 'order', key: 'ORD-9' }
    expect(recordEvent(event)).toBe(true)
    expect(recordEvent(event)).toBe(true)
    expect(recordEvent({ ...event, id: 'created-ORD-9' })).toBe(true)
    expect(recordEvent({ ...event, id: '' })).toBe(false)
    const ids = records.getFinishedLogRecords().map((r) => r.attributes['reckon.event.id'])
    expect(ids).toHaveLength(3)
    expect(new Set(ids).size).toBe(3)
    expect(ids[2]).toBe('created-ORD-9')
  })

  it('refuses an inexact amount without throwing, and emits nothing', () => {
    const ok = recordEvent({
      type: 'payment.captured',
      entity: 'order',
      key: 'ORD-8',
      amount: '12.5.0',
      currency: 'EUR',
    })
    expect(ok).toBe(false)
    expect(records.getFinishedLogRecords()).toHaveLength(0)
  })
})

describe('policy instrumentation', () => {
  it('annotates the active span and marks spans of a retry with their attempt', async () => {
    const breaker = new CircuitBreaker('inventory')
    const p = policy(new Retry('inventory', { initialDelayMs: 1, jitter: 'none' }), breaker)
    await tracer().startActiveSpan('reserve', async (span) => {
      await p.execute(async ({ attempt }) => {
        tracer().startSpan('POST /reservations').end()
        if (attempt === 1) throw Object.assign(new Error('reset'), { code: 'ECONNRESET' })
        return 'ok'
      })
      span.end()
    })
    const [first, second, parent] = spans.getFinishedSpans()
    expect(first?.attributes['retry.attempt']).toBeUndefined()
    expect(second?.attributes['retry.attempt']).toBe(2)
    expect(parent?.attributes).toMatchObject({
      'circuitbreaker.name': 'inventory',
      'circuitbreaker.state': 'closed',
      'retry.attempt': 2,
    })
    expect(parent?.events.map((e) => [e.name, e.attributes?.['error.type']])).toEqual([
      ['retry', 'Error'],
    ])
  })

  it('exports one state series per breaker state and records each transition as an event', async () => {
    const breaker = new CircuitBreaker('payment', {
      minimumCalls: 2,
      slidingWindow: { type: 'count', size: 2 },
    })
    const fail = () =>
      breaker.execute(() => Promise.reject(new Error('503'))).catch(() => undefined)
    await fail()
    await fail()
    expect(breaker.state).toBe('OPEN')

    const { resourceMetrics } = await reader.collect()
    const all = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics)
    const state = all.find(
      (m) => m.descriptor.name === POLICY_METRICS.breakerState,
    ) as GaugeMetricData
    const series = Object.fromEntries(
      state.dataPoints
        .filter((d) => d.attributes.name === 'payment')
        .map((d) => [d.attributes.state as string, d.value]),
    )
    expect(series).toEqual({
      closed: 0,
      open: 1,
      half_open: 0,
      disabled: 0,
      forced_open: 0,
      metrics_only: 0,
    })
    const calls = all.find((m) => m.descriptor.name === POLICY_METRICS.breakerCalls)
    const failed = calls?.dataPoints.find(
      (d) => d.attributes.name === 'payment' && d.attributes.kind === 'failed',
    )
    expect(failed?.value).toBe(2)

    const transition = records
      .getFinishedLogRecords()
      .find((r) => r.eventName === 'breaker.transition')
    expect(transition?.attributes).toMatchObject({
      'reckon.entity': 'circuit_breaker',
      'reckon.entity.key': 'payment',
      'reckon.status': 'OPEN',
      'circuitbreaker.state.from': 'CLOSED',
    } satisfies Record<string, AttributeValue>)
    const [sec, nanos] = transition!.hrTime
    expect(sec * 1000 + Math.floor(nanos / 1e6)).toBe(breaker.metrics().lastTransitionAt)
  })

  it('names the tripping call as the cause, but not for the timer’s move to half-open', async () => {
    const breaker = new CircuitBreaker('ledger', {
      minimumCalls: 1,
      slidingWindow: { type: 'count', size: 1 },
      waitInOpenMs: 20,
    })
    let traceId = ''
    await tracer().startActiveSpan('book', async (span) => {
      traceId = span.spanContext().traceId
      await breaker.execute(() => Promise.reject(new Error('503'))).catch(() => undefined)
      span.end()
    })
    await new Promise((r) => setTimeout(r, 60))
    expect(breaker.state).toBe('HALF_OPEN')
    const causes = records
      .getFinishedLogRecords()
      .filter((r) => r.attributes['reckon.entity.key'] === 'ledger')
      .map((r) => [r.attributes['reckon.status'], r.attributes['reckon.cause.trace_id']])
    expect(causes).toEqual([
      ['OPEN', traceId],
      ['HALF_OPEN', undefined],
    ])
  })
})

describe('switches', () => {
  let server: Server
  let served = [{ name: 'payment.async-capture', on: false, flowPinned: true }]
  let client: SwitchClient

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ switches: served }))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    client = new SwitchClient({
      apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    })
    useSwitchClient(client)
  })
  afterAll(() => {
    useSwitchClient(undefined)
    server.close()
  })

  it('a flow-pinned switch keeps the value its flow started with, across services', async () => {
    expect(await client.poll()).toBe(true)
    const headers: Record<string, string> = {}
    startFlow(() => inject(headers))
    served = [{ name: 'payment.async-capture', on: true, flowPinned: true }]
    expect(await client.poll()).toBe(true)
    expect(isOn('payment.async-capture')).toBe(true) // new flows and non-flow work see the flip
    context.with(extract(headers, ROOT_CONTEXT), () => {
      expect(isOn('payment.async-capture')).toBe(false) // the running flow keeps its value
    })
    expect(isOn('unknown.switch', true)).toBe(true)
  })

  it('keeps the last known values when the switch source is down', async () => {
    const down = new SwitchClient({ apiUrl: 'http://127.0.0.1:9', requestTimeoutMs: 500 })
    expect(await down.poll()).toBe(false)
    expect(await client.poll()).toBe(true)
    server.closeAllConnections()
    expect(client.get('payment.async-capture')?.on).toBe(true)
  })
})
