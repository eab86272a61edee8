// Auth as an operator sets it up: the first admin key made with `reckon keys create` before
// start, real OpenTelemetry exporters sending with OTEL_EXPORTER_OTLP_HEADERS, a network
// bind refused without auth, and both ports over HTTPS from tls.cert / tls.key.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SpanKind } from '@opentelemetry/api'
import { ExportResultCode, type ExportResult } from '@opentelemetry/core'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { afterEach, describe, expect, it } from 'vitest'
import { runReckonCli, running, startReckonCli } from './cli.js'

afterEach(() => {
  for (const child of running.splice(0)) child.kill('SIGKILL')
})

/** Ports the CLI's key commands can find the running server at (0 would hide it). */
const port = (): number => 20000 + Math.floor(Math.random() * 20000)
const keysOn = (): string => `otlpPort: ${port()}\napiPort: ${port()}\nauth:\n  mode: keys\n`

/** One span exported by the official protobuf exporter, with the headers env var as given. */
async function exportSpan(otlpUrl: string, headers: string | undefined): Promise<ExportResult> {
  const memory = new InMemorySpanExporter()
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout' }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  })
  provider.getTracer('auth-test').startSpan('POST /checkout', { kind: SpanKind.SERVER }).end()
  const before = process.env.OTEL_EXPORTER_OTLP_HEADERS
  if (headers === undefined) delete process.env.OTEL_EXPORTER_OTLP_HEADERS
  else process.env.OTEL_EXPORTER_OTLP_HEADERS = headers
  try {
    // The exporter reads the environment when it is made, as in a service.
    const exporter = new OTLPTraceExporter({ url: `${otlpUrl}/v1/traces` })
    const result = await new Promise<ExportResult>((resolve) =>
      exporter.export(memory.getFinishedSpans(), resolve),
    )
    await exporter.shutdown()
    return result
  } finally {
    if (before === undefined) delete process.env.OTEL_EXPORTER_OTLP_HEADERS
    else process.env.OTEL_EXPORTER_OTLP_HEADERS = before
  }
}

async function createKey(dir: string, name: string, role: string): Promise<string> {
  const made = await runReckonCli(['keys', 'create', '--name', name, '--role', role], dir)
  expect(made.code, made.stderr).toBe(0)
  expect(made.stderr).toContain('This is the only time it is shown')
  return made.stdout.trim()
}

describe('reckon up bound to a network address', () => {
  it('refuses to start without auth, naming the setting, and exits 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reckon-exposed-'))
    writeFileSync(join(dir, 'reckon.yaml'), 'otlpPort: 0\napiPort: 0\n')
    const { code, stderr } = await runReckonCli(['up', '--host', '0.0.0.0'], dir)
    expect(code).toBe(2)
    expect(stderr).toContain(
      'reckon: refusing to listen on 0.0.0.0 without auth: set auth.mode: keys',
    )
  })

  it('starts with auth.mode none, warning that anyone reaching it is admin', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reckon-open-'))
    writeFileSync(join(dir, 'reckon.yaml'), 'otlpPort: 0\napiPort: 0\nauth:\n  mode: none\n')
    const reckon = await startReckonCli('up', dir, { RECKON_HOST: '0.0.0.0' })
    expect(reckon.stdout()).toContain('OFF on a network address (auth.mode: none)')
    await expect.poll(() => reckon.stderr()).toContain('auth is off (auth.mode: none) on 0.0.0.0')
  })
})

describe('API keys on a running reckon up', () => {
  it('accepts a real OTel exporter sending its ingest key, refuses one without with 401', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reckon-keys-'))
    writeFileSync(join(dir, 'reckon.yaml'), keysOn())
    // Made before start, on the storage directly: how the first admin key comes to be.
    const admin = await createKey(dir, 'first-admin', 'admin')
    const reckon = await startReckonCli('up', dir)
    expect(reckon.stdout()).toContain('Auth                on: API keys or sign-in')

    // Later keys through the running server's API, with the admin key.
    const made = await runReckonCli(['keys', 'create', '--name', 'shop', '--role', 'ingest'], dir, {
      RECKON_API_KEY: admin,
    })
    expect(made.code, made.stderr).toBe(0)
    const ingest = made.stdout.trim()

    const refused = await exportSpan(reckon.otlpUrl, undefined)
    expect(refused.code).toBe(ExportResultCode.FAILED)
    const error: { code?: unknown; message?: string } | undefined = refused.error
    expect([error?.code, error?.message]).toEqual([401, 'Unauthorized'])

    const accepted = await exportSpan(reckon.otlpUrl, `Authorization=Bearer ${ingest}`)
    expect(accepted.code, accepted.error?.message).toBe(ExportResultCode.SUCCESS)

    // The ingest key reads nothing; the admin key finds the span.
    const asIngest = await fetch(`${reckon.apiUrl}/api/traces?service=checkout`, {
      headers: { authorization: `Bearer ${ingest}` },
    })
    expect(asIngest.status).toBe(403)
    await expect
      .poll(async () => {
        const res = await fetch(`${reckon.apiUrl}/api/traces?service=checkout`, {
          headers: { authorization: `Bearer ${admin}` },
        })
        return ((await res.json()) as { traces: unknown[] }).traces.length
      })
      .toBe(1)

    const listed = await runReckonCli(['keys', 'list'], dir, { RECKON_API_KEY: admin })
    expect(listed.stdout).toMatch(/first-admin\s+admin/)
    expect(listed.stdout).toMatch(/shop\s+ingest/)
    const without = await runReckonCli(['keys', 'list'], dir)
    expect(without.code).toBe(2)
    expect(without.stderr).toContain('has auth on: set RECKON_API_KEY to a key with role admin')
  })
})

describe('tls.cert and tls.key', () => {
  it('serve both ports over HTTPS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reckon-tls-'))
    const cert = join(dir, 'cert.pem')
    const key = join(dir, 'key.pem')
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    )
    writeFileSync(
      join(dir, 'reckon.yaml'),
      `otlpPort: 0\napiPort: 0\ntls:\n  cert: ${cert}\n  key: ${key}\n`,
    )
    const reckon = await startReckonCli('up', dir)
    expect(reckon.apiUrl).toMatch(/^https:\/\/localhost:\d+$/)
    expect(reckon.otlpUrl).toMatch(/^https:\/\/localhost:\d+$/)
    const ca = readFileSync(cert)
    const get = (url: string) =>
      new Promise<number>((resolve, reject) => {
        request(url, { ca }, (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        })
          .on('error', reject)
          .end()
      })
    expect(await get(`${reckon.apiUrl}/readyz`)).toBe(200)
    expect(await get(`${reckon.otlpUrl}/healthz`)).toBe(200)
    await expect(fetch(`${reckon.apiUrl.replace('https', 'http')}/readyz`)).rejects.toThrow()
  })
})
