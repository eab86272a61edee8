import type { ChildProcess } from 'node:child_process'
import { context, SpanKind, trace } from '@opentelemetry/api'
import { ExportResultCode, type ExportResult } from '@opentelemetry/core'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import {
  exited,
  spawnReckon,
  startReckonProcess,
  type ReckonProcess,
} from '@reckon/shop/reckon-process'
import { expect } from 'vitest'

export type Running = ReckonProcess

/** Every process `reckon` started; the test file kills what is left after each test. */
export const running: ChildProcess[] = []

type Env = Record<string, string | undefined>

/** As a person runs it: in `dir` (its reckon.yaml), the test's env without CLICKHOUSE_URL. */
const options = (dir: string, env: Env) => ({
  cwd: dir,
  env: { ...process.env, CLICKHOUSE_URL: undefined, ...env },
})

/** `reckon <command>` as a server; resolves once it listens. */
export function startReckonCli(
  command: 'up' | 'collector',
  dir: string,
  env: Env = {},
): Promise<Running> {
  const { child, ready } = startReckonProcess(command, options(dir, env))
  running.push(child)
  return ready
}

export { exited }

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url)
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}

/** Three spans of one trace, sent by the official protobuf exporter; resolves on its ack. */
export async function sendTrace(otlpUrl: string): Promise<string> {
  const memory = new InMemorySpanExporter()
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout' }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  })
  const tracer = provider.getTracer('crash-test')
  const root = tracer.startSpan('POST /checkout', { kind: SpanKind.SERVER })
  const inRoot = trace.setSpan(context.active(), root)
  for (const name of ['reserve stock', 'charge card']) tracer.startSpan(name, {}, inRoot).end()
  root.end()
  const exporter = new OTLPTraceExporter({ url: `${otlpUrl}/v1/traces` })
  const result = await new Promise<ExportResult>((resolve) =>
    exporter.export(memory.getFinishedSpans(), resolve),
  )
  expect(result.code, result.error?.message).toBe(ExportResultCode.SUCCESS)
  await exporter.shutdown()
  return root.spanContext().traceId
}

/** `reckon <args>` in `dir` to its end: its exit code and what it printed. */
export async function runReckonCli(
  args: string[],
  dir: string,
  env: Env = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnReckon(args, options(dir, env))
  running.push(child)
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
  const code = await exited(child)
  return { code, stdout, stderr }
}

/** A business event for order `key` (paid, 19.99 EUR) over /v1/events; checks it was taken. */
export async function sendOrderPaid(otlpUrl: string, key: string): Promise<void> {
  const res = await fetch(`${otlpUrl}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([
      {
        type: 'order.paid',
        system: 'payment',
        entity: 'order',
        key,
        amount: '19.99',
        currency: 'EUR',
      },
    ]),
  })
  expect(await res.json()).toEqual({ accepted: 1, rejected: [] })
}

/** The query API shows that event for order `key`, and no other. */
export async function expectOrderPaid(apiUrl: string, key: string): Promise<void> {
  const events = await getJson<{ events: { type: string; amount: string }[] }>(
    `${apiUrl}/api/events?entity=order&key=${key}`,
  )
  expect(events.events).toEqual([
    expect.objectContaining({ type: 'order.paid', amount: '19.99', currency: 'EUR' }),
  ])
}
