import { randomUUID } from 'node:crypto'
import { register } from 'node:module'
import { hostname } from 'node:os'
import { diag, metrics, trace, type Attributes } from '@opentelemetry/api'
import { logs } from '@opentelemetry/api-logs'
import { FastifyOtelInstrumentation } from '@fastify/otel'
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core'
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto'
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import type { Instrumentation } from '@opentelemetry/instrumentation'
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http'
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg'
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BatchLogRecordProcessor } from '@opentelemetry/sdk-logs'
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics'
import { NodeSDK } from '@opentelemetry/sdk-node'
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { configureFlowIds } from './flow/flow.js'
import { FlowLogProcessor, FlowSpanProcessor } from './flow/processors.js'
import { reportHealth } from './health/health-metrics.js'
import { SwitchClient, useSwitchClient } from './switches/switches.js'
import { reportPolicyMetrics } from './telemetry/policy-metrics.js'

export interface ReckonOptions {
  /** `service.name`: what the service is called in every Reckon view. */
  service: string
  /**
   * Reckon's OTLP/HTTP endpoint. Default: the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (and the
   * per-signal variables), else http://localhost:4318.
   */
  endpoint?: string
  /** Reckon's query API, where switches are read. Default: RECKON_API_URL, else http://localhost:8318. */
  apiUrl?: string
  version?: string
  /** `deployment.environment`, e.g. `production`. */
  environment?: string
  /** `service.instance.id`. Default: host name, process ID and a random suffix. */
  instanceId?: string
  /** Flow ID worker (0–1023). Default: RECKON_WORKER_ID, else derived from host and process. */
  workerId?: number
  /** How often metrics — and so the heartbeat — are exported. Default: OTEL_METRIC_EXPORT_INTERVAL, else 10 s. */
  metricIntervalMs?: number
  /** A Reckon API key (role viewer) for reading switches when Reckon's auth is on. Default: RECKON_API_KEY. */
  apiKey?: string
  /** Poll Reckon's degradation switches. Default true, every 5 s. */
  switches?: boolean | { pollIntervalMs?: number }
  /** Instrument http, undici/fetch, Fastify and pg. Default true. */
  autoInstrument?: boolean
  /** More instrumentations (kafkajs, ioredis…), added to the built-in ones. */
  instrumentations?: Instrumentation[]
  resourceAttributes?: Attributes
}

export interface Reckon {
  readonly service: string
  readonly instanceId: string
  /** Exports what is buffered now (spans, logs, metrics). */
  forceFlush(): Promise<void>
  /** Flushes and stops exporting; call it on SIGTERM. */
  shutdown(): Promise<void>
}

let active: Reckon | undefined

/**
 * Makes the service observable: traces, business events (logs) and metrics over OTLP/HTTP
 * to Reckon, W3C trace context and baggage, flow IDs on every span, policy and health
 * metrics, and degradation switches. Call it before the service imports its HTTP
 * framework and clients (for ESM: in a module loaded with `--import`, or before a
 * dynamic `import()` of the app).
 */
export function init(options: ReckonOptions): Reckon {
  if (active) {
    diag.warn('reckon: init() called twice; the first configuration stays')
    return active
  }
  if (!options.service) throw new TypeError('init({ service }) needs a service name')
  const env = process.env
  const instanceId =
    options.instanceId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`
  if (options.workerId !== undefined) configureFlowIds({ workerId: options.workerId })
  const base = options.endpoint?.replace(/\/+$/, '')
  const intervalMs = options.metricIntervalMs ?? (Number(env.OTEL_METRIC_EXPORT_INTERVAL) || 10_000)

  const auto = options.autoInstrument ?? true
  if (auto) registerEsmHook()
  const instrumentations: Instrumentation[] = [
    ...(auto
      ? [
          new HttpInstrumentation(),
          new UndiciInstrumentation(),
          new FastifyOtelInstrumentation({ registerOnInitialization: true }),
          new PgInstrumentation(),
        ]
      : []),
    ...(options.instrumentations ?? []),
  ]

  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      ...options.resourceAttributes,
      'service.name': options.service,
      'service.instance.id': instanceId,
      ...(options.version ? { 'service.version': options.version } : {}),
      ...(options.environment
        ? {
            'deployment.environment': options.environment,
            'deployment.environment.name': options.environment,
          }
        : {}),
    }),
    textMapPropagator: env.OTEL_PROPAGATORS
      ? undefined
      : new CompositePropagator({
          propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
        }),
    spanProcessors: [
      new FlowSpanProcessor(),
      new BatchSpanProcessor(new OTLPTraceExporter(base ? { url: `${base}/v1/traces` } : {})),
    ],
    logRecordProcessors: [
      new FlowLogProcessor(),
      new BatchLogRecordProcessor({
        exporter: new OTLPLogExporter(base ? { url: `${base}/v1/logs` } : {}),
      }),
    ],
    metricReaders: [
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter(base ? { url: `${base}/v1/metrics` } : {}),
        exportIntervalMillis: intervalMs,
        exportTimeoutMillis: Math.min(intervalMs, 30_000),
      }),
    ],
    instrumentations,
  })
  sdk.start()

  const meter = metrics.getMeter('@reckon/sdk')
  const stopPolicies = reportPolicyMetrics(meter)
  const stopHealth = reportHealth(meter)
  let switches: SwitchClient | undefined
  if (options.switches !== false) {
    const apiUrl = options.apiUrl ?? env.RECKON_API_URL ?? 'http://localhost:8318'
    const pollIntervalMs =
      typeof options.switches === 'object' ? options.switches.pollIntervalMs : undefined
    const apiKey = options.apiKey ?? env.RECKON_API_KEY
    switches = new SwitchClient({ apiUrl, pollIntervalMs, ...(apiKey ? { apiKey } : {}) })
    useSwitchClient(switches)
    switches.start()
  }

  const reckon: Reckon = {
    service: options.service,
    instanceId,
    forceFlush: flushProviders,
    async shutdown() {
      switches?.stop()
      useSwitchClient(undefined)
      stopPolicies()
      stopHealth()
      await sdk.shutdown()
      active = undefined
    },
  }
  active = reckon
  return reckon
}

interface Flushable {
  forceFlush?: () => Promise<void>
  getDelegate?: () => unknown
}

/** NodeSDK has no forceFlush of its own; the global providers it installed do. */
async function flushProviders(): Promise<void> {
  const providers = [
    trace.getTracerProvider(),
    logs.getLoggerProvider(),
    metrics.getMeterProvider(),
  ]
  await Promise.all(
    providers.map((p) => {
      const f = p as Flushable
      const target = (f.getDelegate?.() ?? f) as Flushable
      return target.forceFlush?.() ?? Promise.resolve()
    }),
  )
}

let hookRegistered = false
/** Lets the instrumentations patch ES modules (node:http, pg) imported after init(). */
function registerEsmHook(): void {
  if (hookRegistered) return
  hookRegistered = true
  try {
    register('@opentelemetry/instrumentation/hook.mjs', import.meta.url)
  } catch (err) {
    diag.warn(`reckon: ESM instrumentation hook not registered: ${String(err)}`)
  }
}
