import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { context, SpanKind, trace } from '@opentelemetry/api'
import { ExportResultCode, type ExportResult } from '@opentelemetry/core'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { afterEach, describe, expect, it } from 'vitest'

const CLI = fileURLToPath(new URL('../../collector/dist/src/cli/main.js', import.meta.url))

interface Running {
  child: ChildProcess
  otlpUrl: string
  apiUrl: string
  stderr: () => string
}

const running: ChildProcess[] = []
afterEach(() => {
  for (const child of running.splice(0)) child.kill('SIGKILL')
})

/** `reckon up` in `dir` (its reckon.yaml), as a person runs it; resolves once it listens. */
function reckonUp(dir: string): Promise<Running> {
  const env = { ...process.env }
  delete env.CLICKHOUSE_URL
  const child = spawn(process.execPath, [CLI, 'up'], { cwd: dir, env })
  running.push(child)
  let out = ''
  let err = ''
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()))
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`reckon up exited with ${code}: ${err}`)))
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const otlp = /OTLP\/HTTP \+ events\s+(http:\/\/\S+)/.exec(out)?.[1]
      const api = /Query API\s+(http:\/\/\S+)\/api/.exec(out)?.[1]
      if (otlp && api) resolve({ child, otlpUrl: otlp, apiUrl: api, stderr: () => err })
    })
  })
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)))
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url)
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}

/** Three spans of one trace, sent by the official protobuf exporter; resolves on its ack. */
async function sendTrace(otlpUrl: string): Promise<string> {
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

describe('a collector killed before it writes what it acknowledged', () => {
  it('stores those spans and business events when it starts again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reckon-crash-'))
    // Nothing is written on its own within the test: only what was spooled can survive.
    writeFileSync(
      join(dir, 'reckon.yaml'),
      'otlpPort: 0\napiPort: 0\ningest:\n  flushIntervalMs: 600000\n  batchRows: 10000000\n',
    )
    const first = await reckonUp(dir)
    const traceId = await sendTrace(first.otlpUrl)
    const event = await fetch(`${first.otlpUrl}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          type: 'order.paid',
          system: 'payment',
          entity: 'order',
          key: traceId,
          amount: '19.99',
          currency: 'EUR',
        },
      ]),
    })
    expect(await event.json()).toEqual({ accepted: 1, rejected: [] })

    first.child.kill('SIGKILL')
    await exited(first.child)
    const spool = join(dir, '.reckon', 'data', 'inserts')
    expect(readdirSync(spool).length).toBeGreaterThan(0)

    const second = await reckonUp(dir)
    // Said before the wait, so a slow start is explained; then what was stored.
    expect(second.stderr()).toMatch(
      /storing ([3-9]) spooled inserts the previous run left…\nreckon: stored \1 spooled inserts .* previous run acknowledged/,
    )
    const stored = await getJson<{ spans: { name: string }[] }>(
      `${second.apiUrl}/api/traces/${traceId}`,
    )
    expect(stored.spans.map((s) => s.name).sort()).toEqual([
      'POST /checkout',
      'charge card',
      'reserve stock',
    ])
    const events = await getJson<{ events: { type: string; amount: string }[] }>(
      `${second.apiUrl}/api/events?entity=order&key=${traceId}`,
    )
    expect(events.events).toEqual([
      expect.objectContaining({ type: 'order.paid', amount: '19.99', currency: 'EUR' }),
    ])
    expect(readdirSync(spool)).toEqual([])
    // On-call can see it happened: the count of inserts stored from the previous run.
    const recovered = /storing (\d+) spooled inserts/.exec(second.stderr())?.[1]
    const metrics = await (await fetch(`${second.apiUrl}/metrics`)).text()
    expect(metrics).toContain(`reckon_spool_recovered_total{outcome="stored"} ${recovered}`)
    expect(metrics).toContain('reckon_spool_recovered_total{outcome="rejected"} 0')

    second.child.kill('SIGTERM')
    expect(await exited(second.child)).toBe(0)
  })
})

describe('a second reckon up on the same data directory', () => {
  it('stops with a message that says why, and leaves the running one alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reckon-twice-'))
    writeFileSync(join(dir, 'reckon.yaml'), 'otlpPort: 0\napiPort: 0\n')
    const first = await reckonUp(dir)
    const env = { ...process.env }
    delete env.CLICKHOUSE_URL
    const second = spawn(process.execPath, [CLI, 'up'], { cwd: dir, env })
    running.push(second)
    let stderr = ''
    second.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    expect(await exited(second)).toBe(1)
    expect(stderr).toContain(
      `reckon: cannot open the embedded ClickHouse data directory ${join(dir, '.reckon', 'data')}`,
    )
    expect(stderr).toMatch(/is another reckon running there\?/)
    expect((await fetch(`${first.apiUrl}/readyz`)).status).toBe(200)
  })
})
